package engine

import (
	"errors"
	"fmt"

	"github.com/weftflow/weft/codec"
)

// Default size limits (see [WithMaxPayload] and [WithMaxState]). The codec
// refuses anything over codec.MaxBytes (16 MiB) whatever the options say,
// and a stored record holds the state and the meta together, so the state
// limit leaves room for the meta.
const (
	DefaultMaxPayload = 2 << 20 // 2 MiB
	DefaultMaxState   = 8 << 20 // 8 MiB
)

// TooLargeError reports an event refused because something would exceed a
// size limit: the payload, the new state, the whole record (state and meta
// together, which must fit codec.MaxBytes) or an effect's data. Nothing
// was written. It
// matches [ErrTooLarge], and never codec.ErrCorrupt or
// interp.ErrCorrupt: nothing is damaged.
type TooLargeError struct {
	Instance string
	What     string // "payload", "state", "record" or "effect"
	Size     int    // encoded bytes; 0 when a nesting or length limit of the codec was hit
	Limit    int    // the limit in bytes (the engine's option, or codec.MaxBytes)
	Err      error  // the codec's *codec.TooLargeError, when the codec refused the value
}

// Error names the instance, what was too large, its size and the limit.
func (e *TooLargeError) Error() string {
	msg := fmt.Sprintf("engine: instance %q: %s too large", e.Instance, e.What)
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

// Unwrap returns the codec's error, if the codec refused the value.
func (e *TooLargeError) Unwrap() error { return e.Err }

// tooLarge returns a *TooLargeError if err says the codec refused a value
// of instance id as too large, and nil otherwise. Only the codec's error
// is kept, so that the result does not match the ErrCorrupt with which an
// interpreter may have wrapped it.
func tooLarge(id, what string, err error) error {
	ce, ok := errors.AsType[*codec.TooLargeError](err) // (As's target would take a pointer to the heap)
	if !ok {
		return nil
	}
	return &TooLargeError{Instance: id, What: what, Size: ce.Size, Limit: ce.Limit, Err: ce}
}

// encodePayload encodes the payload (or start input) v of an event for
// instance id and checks it against the payload limit. A panic in the
// codec (a MarshalCBOR method, say) is recovered into a *PanicError.
func (e *Engine) encodePayload(id, what string, v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, e.recovered(id, "", "encode", r)
		}
	}()
	b, err = codec.Marshal(v)
	if err != nil {
		if tl := tooLarge(id, "payload", err); tl != nil {
			return nil, tl
		}
		return nil, fmt.Errorf("engine: instance %q: encode %s: %w", id, what, err)
	}
	if len(b) > e.maxPayload {
		return nil, &TooLargeError{Instance: id, What: "payload", Size: len(b), Limit: e.maxPayload}
	}
	return b, nil
}

// checkSize refuses a new state larger than the state limit.
func (e *Engine) checkSize(id string, state []byte) error {
	if len(state) > e.maxState {
		return &TooLargeError{Instance: id, What: "state", Size: len(state), Limit: e.maxState}
	}
	return nil
}
