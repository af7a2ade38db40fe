package codec

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Decode limits. They bound the memory and stack an untrusted or damaged
// input can make the decoder use. [Marshal] and [EncodeRecord] refuse to
// produce output beyond them, so whatever they return decodes again.
const (
	// MaxBytes is the largest input accepted, checked before decoding.
	MaxBytes = 16 << 20
	// MaxDepth is the deepest nesting of arrays, maps and tags.
	MaxDepth = 32
	// MaxArrayElements is the most elements one array may have.
	MaxArrayElements = 65536
	// MaxMapPairs is the most key-value pairs one map may have.
	MaxMapPairs = 65536
)

// The modes are built once, at package initialization, rather than per
// call: building one validates options and allocates. Modes are immutable
// and safe for concurrent use, so every call shares them.
var (
	encMode = mustEncMode()
	decMode = mustDecMode()
)

func mustEncMode() cbor.EncMode {
	opts := cbor.CoreDetEncOptions() // sorted map keys, shortest ints and floats, no indefinite lengths
	// RFC 3339 text without a tag: decoding it gives back a time that
	// formats to the same text, so a round trip is byte-identical.
	opts.Time = cbor.TimeRFC3339Nano
	opts.TimeTag = cbor.EncTagNone
	em, err := opts.EncMode()
	if err != nil {
		panic("codec: building encoding mode: " + err.Error()) // options are constant; this cannot happen
	}
	return em
}

func mustDecMode() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF, // a repeated key makes the meaning ambiguous
		MaxNestedLevels:  MaxDepth,
		MaxArrayElements: MaxArrayElements,
		MaxMapPairs:      MaxMapPairs,
		IndefLength:      cbor.IndefLengthForbidden, // Marshal never writes them; deterministic data has none
		// A Go string may hold any bytes and Marshal writes them as they are;
		// rejecting invalid UTF-8 here would make such a checkpoint
		// unreadable. Accepting it keeps Unmarshal the inverse of Marshal.
		UTF8: cbor.UTF8DecodeInvalid,
		// Marshal writes times as text, so in an `any` a time comes back
		// as text; make tagged times from elsewhere do the same, and
		// refuse those that RFC 3339 (and so Marshal) cannot express.
		TimeTagToAny: cbor.TimeTagToRFC3339Nano,
		// Unknown fields are ignored (the default): a newer state type may
		// have dropped a field that older data still carries.
	}.DecMode()
	if err != nil {
		panic("codec: building decoding mode: " + err.Error()) // options are constant; this cannot happen
	}
	return dm
}

// Marshal encodes v with CBOR Core Deterministic Encoding (RFC 8949 §4.2.1),
// so equal values give identical bytes: map keys are sorted, integers,
// lengths and floats use their shortest form, and indefinite lengths are
// never used.
//
// A time.Time is written as untagged RFC 3339 text with nanoseconds and its
// UTC offset, which round-trips byte-identically; the zero time is written as
// null. A time outside the years 0000-9999 cannot be written and is an
// error. RFC 3339 offsets have whole minutes: a time whose location has an
// offset with seconds (local mean time before about 1900) loses them, so
// prefer UTC times.
//
// Marshal checks its output against the decode limits and returns a
// [*TooLargeError] (matching [ErrTooLarge], not [ErrCorrupt]) rather than
// bytes that [Unmarshal] would refuse.
func Marshal(v any) ([]byte, error) {
	if b := marshalSimple(v); b != nil {
		return b, nil
	}
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("codec: encode: %w", err)
	}
	if err := checkEncoded("value", b); err != nil {
		return nil, err
	}
	return b, nil
}

// checkEncoded makes sure encoded bytes (what Marshal just wrote, or the
// parts handed to EncodeRecord) are within the decode limits, so that
// nothing is written that cannot be read back. Bytes beyond them give a
// *TooLargeError; malformed bytes a *DecodeError matching ErrCorrupt.
func checkEncoded(what string, b []byte) error {
	if len(b) > MaxBytes {
		return &TooLargeError{What: what, Size: len(b), Limit: MaxBytes}
	}
	// The encoder has no depth or length limits; one well-formedness pass
	// over the output applies the decoder's (by hand, and by the library
	// for the error when the answer is no).
	if wellformed(b) {
		return nil
	}
	if err := decMode.Wellformed(b); err != nil {
		if isLimitError(err) {
			return &TooLargeError{What: what, Err: err}
		}
		return fmt.Errorf("codec: encode %s: %w", what, decodeError(what, err))
	}
	return nil
}

// Unmarshal decodes the single CBOR data item in data into v, which must be
// a non-nil pointer.
//
// Decoding is bounded: input longer than [MaxBytes], nesting deeper than
// [MaxDepth], or arrays and maps longer than [MaxArrayElements] and
// [MaxMapPairs] fail with [ErrTooLarge]. Indefinite-length items, duplicate
// map keys, trailing bytes, malformed data and values that do not fit v fail
// with [ErrCorrupt]. Map keys that match no struct field are ignored, so a
// state type may drop fields that stored data still has. Every such failure
// is a [*DecodeError] naming "value" (weft's own packages name what they
// decode: "state", "meta", "payload"); v may then be partly filled and
// should be discarded. If v is not a non-nil pointer the error is the cbor
// library's InvalidUnmarshalError, since that is a bug in the caller, not
// bad data. Unmarshal never panics on any data.
func Unmarshal(data []byte, v any) error {
	if len(data) > MaxBytes {
		return tooManyBytes("value", len(data))
	}
	if err := decMode.Unmarshal(data, v); err != nil {
		if _, ok := err.(*cbor.InvalidUnmarshalError); ok {
			return err
		}
		return decodeError("value", err)
	}
	return nil
}

// Valid returns nil if data is exactly one well-formed CBOR data item within
// the decode limits, and otherwise a [*DecodeError] as [Unmarshal] would.
// It does not look for duplicate map keys or check types: that takes a
// target, which only Unmarshal has.
func Valid(data []byte) error {
	return validWhat("value", data)
}

func validWhat(what string, data []byte) error {
	if len(data) > MaxBytes {
		return tooManyBytes(what, len(data))
	}
	if wellformed(data) {
		return nil
	}
	if err := decMode.Wellformed(data); err != nil {
		return decodeError(what, err)
	}
	return nil
}

func tooManyBytes(what string, n int) *DecodeError {
	return &DecodeError{What: what, Kind: ErrTooLarge, Err: fmt.Errorf("%d bytes, limit %d", n, MaxBytes)}
}
