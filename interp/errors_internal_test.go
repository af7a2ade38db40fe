package interp

import (
	"errors"
	"testing"
)

// uncomparable is an error type == panics on.
type uncomparable struct{ parts []string }

func (u uncomparable) Error() string { return "uncomparable" }

var errCause = errors.New("cause")

// A CallbackError matches its sentinel and its cause, as made, after its
// fields were changed, and with a cause of a type == panics on.
func TestCallbackErrorUnwrap(t *testing.T) {
	made := callbackError(CallbackError{Callback: 1, Reason: ErrRejected, Err: errCause})
	bare := callbackError(CallbackError{Callback: 1, Reason: ErrNotDue})
	changed := callbackError(CallbackError{Callback: 1, Reason: ErrRejected, Err: errCause})
	changed.Reason, changed.Err = ErrStaleCallback, nil
	odd := callbackError(CallbackError{Callback: 1, Reason: ErrRejected, Err: uncomparable{parts: []string{"x"}}})
	literal := &CallbackError{Callback: 1, Reason: ErrDuplicateCallback, Err: errCause}
	for _, c := range []struct {
		name  string
		err   *CallbackError
		is    []error
		isNot []error
	}{
		{"made", made, []error{ErrRejected, errCause}, []error{ErrNotDue}},
		{"bare", bare, []error{ErrNotDue}, []error{ErrRejected, errCause}},
		{"changed", changed, []error{ErrStaleCallback}, []error{ErrRejected, errCause}},
		{"uncomparable", odd, []error{ErrRejected}, []error{errCause}},
		{"literal", literal, []error{ErrDuplicateCallback, errCause}, []error{ErrRejected}},
	} {
		for _, target := range c.is {
			if !errors.Is(c.err, target) {
				t.Errorf("%s: %v does not match %v", c.name, c.err, target)
			}
		}
		for _, target := range c.isNot {
			if errors.Is(c.err, target) {
				t.Errorf("%s: %v matches %v", c.name, c.err, target)
			}
		}
	}
	var u uncomparable
	if !errors.As(odd, &u) || len(u.parts) != 1 {
		t.Errorf("errors.As found no uncomparable cause in %v", odd)
	}
}

// Matching a CallbackError made by the interpreter allocates nothing.
func TestCallbackErrorUnwrapAllocs(t *testing.T) {
	err := error(callbackError(CallbackError{Callback: 1, Reason: ErrRejected, Err: errCause}))
	if n := testing.AllocsPerRun(100, func() { _ = errors.Is(err, ErrNotDue) }); n != 0 {
		t.Errorf("errors.Is allocates %v times, want 0", n)
	}
}
