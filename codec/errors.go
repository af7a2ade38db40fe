package codec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// Sentinel errors. Every decoding failure is a [*DecodeError] whose Kind is
// one of these; test for them with [errors.Is].
var (
	// ErrCorrupt reports input that is not valid CBOR for the target: it is
	// malformed, truncated, has trailing bytes, uses indefinite lengths,
	// repeats a map key, or does not fit the Go type. Data that exceeds the
	// decode limits ([ErrTooLarge]) matches ErrCorrupt too, so one check
	// catches every damaged input.
	ErrCorrupt = errors.New("codec: corrupt data")

	// ErrTooLarge reports input beyond the decode limits: more than
	// [MaxBytes] bytes, nesting deeper than [MaxDepth], or an array or map
	// with more than [MaxArrayElements] or [MaxMapPairs] entries. On the
	// encoding side, [Marshal] and [EncodeRecord] return a
	// [*TooLargeError] matching it for output that the decoder would
	// refuse; that error does not match [ErrCorrupt], since the value is
	// intact and only too large to write.
	ErrTooLarge = errors.New("codec: data exceeds decode limits")

	// ErrFormat reports a record written in a format version this build
	// does not read (newer than [Format], or zero). It does not match
	// [ErrCorrupt]: the data may be intact and a newer build may read it,
	// so callers must not treat it as damage (for example by discarding
	// the record).
	ErrFormat = errors.New("codec: unsupported record format")
)

// DecodeError describes a failed decode: what was being decoded, the class
// of failure and the underlying cause.
type DecodeError struct {
	// What names the decoded thing, such as "state", "meta", "record",
	// "record state" or "payload"; [Unmarshal] and [Valid] use "value".
	What string
	// Err is the underlying cause, often an error from
	// github.com/fxamacker/cbor/v2 that [errors.As] can extract.
	Err error
	// Kind is the class of failure: [ErrCorrupt], [ErrTooLarge] or
	// [ErrFormat].
	Kind error
}

// Error returns a message such as
// "codec: state: corrupt data: cbor: unexpected EOF".
func (e *DecodeError) Error() string {
	what := e.What
	if what == "" {
		what = "value"
	}
	kind := "decode failed"
	if e.Kind != nil {
		// The sentinels carry the "codec: " prefix; say it once.
		kind = strings.TrimPrefix(e.Kind.Error(), "codec: ")
	}
	msg := "codec: " + what + ": " + kind
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns Kind and Err (whichever are set), so [errors.Is] finds the
// sentinel and [errors.As] finds the underlying error.
func (e *DecodeError) Unwrap() []error {
	switch {
	case e.Kind != nil && e.Err != nil:
		return []error{e.Kind, e.Err}
	case e.Kind != nil:
		return []error{e.Kind}
	case e.Err != nil:
		return []error{e.Err}
	}
	return nil
}

// Is reports that an [ErrTooLarge] failure also matches [ErrCorrupt]: input
// beyond the limits is input this package refuses, like any other damage.
func (e *DecodeError) Is(target error) bool {
	return target == ErrCorrupt && e.Kind == ErrTooLarge
}

// TooLargeError reports a value that [Marshal] or [EncodeRecord] refused
// to write because its encoding would exceed the decode limits. It matches
// [ErrTooLarge] but, unlike a [*DecodeError] of that kind, not
// [ErrCorrupt]: nothing is damaged, the value is only too large (or too
// deeply nested) to be stored, so callers can tell "refused, too big" from
// "unreadable".
type TooLargeError struct {
	// What names the value: "value" ([Marshal]), "record", "record state"
	// or "record meta" ([EncodeRecord]).
	What string
	// Size is the encoded size in bytes and Limit the limit it exceeds
	// ([MaxBytes]); both are 0 when a nesting, array or map limit was hit
	// instead, and Err says which.
	Size, Limit int
	// Err is the cbor library's limit error, for nesting, array and map
	// limits.
	Err error
}

// Error returns a message such as
// "codec: encode record state: data exceeds decode limits: 17000000 bytes, limit 16777216".
func (e *TooLargeError) Error() string {
	msg := "codec: encode " + e.What + ": data exceeds decode limits"
	if e.Size > 0 {
		msg += fmt.Sprintf(": %d bytes, limit %d", e.Size, e.Limit)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is [ErrTooLarge].
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// Unwrap returns the cbor library's limit error, if any.
func (e *TooLargeError) Unwrap() error { return e.Err }

// decodeError classifies a decoding failure from the cbor library.
func decodeError(what string, err error) *DecodeError {
	kind := ErrCorrupt
	if isLimitError(err) {
		kind = ErrTooLarge
	}
	return &DecodeError{What: what, Err: err, Kind: kind}
}

// isLimitError reports whether err is one of the cbor library's errors for
// exceeding the configured nesting, array or map limits.
func isLimitError(err error) bool {
	var (
		nested *cbor.MaxNestedLevelError
		array  *cbor.MaxArrayElementsError
		pairs  *cbor.MaxMapPairsError
	)
	return errors.As(err, &nested) || errors.As(err, &array) || errors.As(err, &pairs)
}
