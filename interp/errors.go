package interp

import (
	"errors"
	"fmt"
	"reflect"
)

// Errors returned by [Apply]. An error from Apply means the event was not
// accepted: the caller keeps its old state and meta, and nothing changed.
var (
	// ErrUnknownCallback: the callback ID was never issued by this instance.
	ErrUnknownCallback = errors.New("interp: unknown callback")
	// ErrDuplicateCallback: the callback was already accepted.
	ErrDuplicateCallback = errors.New("interp: duplicate callback")
	// ErrStaleCallback: the callback's wait was resolved by another event,
	// canceled, or (beyond the recent window) the callback was accepted long ago.
	ErrStaleCallback = errors.New("interp: stale callback")
	// ErrNotDue: a timer callback arrived before the timer's deadline.
	ErrNotDue = errors.New("interp: timer not due")
	// ErrRejected: a custom event's handler refused the payload, or the
	// payload or activity result did not decode.
	ErrRejected = errors.New("interp: event rejected")
	// ErrFinished: the instance has completed, failed, been canceled or
	// been terminated.
	ErrFinished = errors.New("interp: instance finished")
	// ErrTerminated: the instance was terminated (an [EventTerminate] event). An
	// event refused for that reason matches both ErrTerminated and
	// [ErrFinished].
	ErrTerminated = errors.New("interp: instance terminated")
	// ErrPositionLost: a thread is parked at a path the definition no longer has.
	ErrPositionLost = errors.New("interp: position lost")
	// ErrBadEvent: the event does not fit the instance (a second Start, a
	// Cancel while canceling, an unknown kind).
	ErrBadEvent = errors.New("interp: bad event")
	// ErrCorrupt: the state or meta handed to Apply is not valid.
	ErrCorrupt = errors.New("interp: corrupt instance")
	// ErrInternal: the interpreter itself panicked (a bug in weft, met by
	// this input) or was given a nil definition. The panic was recovered at
	// the exported boundary; the error is an *[InternalError] naming the
	// workflow, the instance and the panic value. Nothing changed: the event
	// was not accepted, and retrying it will most likely fail the same way.
	ErrInternal = errors.New("interp: internal error")
)

// CallbackError is returned for a callback that cannot be accepted. It
// matches one of ErrUnknownCallback, ErrDuplicateCallback,
// ErrStaleCallback, ErrNotDue or ErrRejected.
type CallbackError struct {
	Callback uint64
	Thread   string // the waiting thread, when known
	Path     string // the wait or call, when known
	Reason   error  // the sentinel
	Err      error  // the handler's or decoder's error, for ErrRejected

	causes [2]error // Reason and Err as the interpreter made them, so Unwrap need not allocate
}

// callbackError makes a CallbackError with its causes ready for Unwrap,
// which errors.Is calls for every sentinel a caller tries.
func callbackError(e CallbackError) *CallbackError {
	e.causes = [2]error{e.Reason, e.Err}
	return &e
}

// Error says which callback was refused and why.
func (e *CallbackError) Error() string {
	s := fmt.Sprintf("%v: callback %d", e.Reason, e.Callback)
	if e.Path != "" {
		s += fmt.Sprintf(" at %q (thread %s)", e.Path, e.Thread)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the sentinel and the underlying cause.
func (e *CallbackError) Unwrap() []error {
	if e.causes[0] != nil && e.causes[0] == e.Reason && sameError(e.causes[1], e.Err) { // as made
		if e.Err != nil {
			return e.causes[:2:2]
		}
		return e.causes[:1:1]
	}
	if e.Err != nil {
		return []error{e.Reason, e.Err}
	}
	return []error{e.Reason}
}

// PositionLostError names a thread whose recorded position no longer
// resolves in the definition. Path may name an event of a wait
// ("wait/event") when the wait exists but the event it is pending on does not.
type PositionLostError struct {
	Workflow string
	Thread   string
	Path     string
	Reason   string
}

// Error names the workflow, thread and path.
func (e *PositionLostError) Error() string {
	return fmt.Sprintf("interp: position lost: workflow %q thread %s at %q: %s", e.Workflow, e.Thread, e.Path, e.Reason)
}

// Is reports whether target is [ErrPositionLost].
func (e *PositionLostError) Is(target error) bool { return target == ErrPositionLost }

// PanicError is a panic in user code, recovered with the statement's path.
// For steps it is handled like a returned error (retried); in conditions and
// other pure functions it fails the workflow; in handlers it rejects the event.
type PanicError struct {
	Path  string
	Value any
}

// Error gives the path and the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("panic at %q: %v", e.Path, e.Value) }

// InternalError is a panic that escaped the interpreter's own code (not
// user code: that is recovered into a [PanicError] and handled by the
// workflow), recovered by [Apply], [Upgrade] or [Resolve] so that the host
// never dies because of one instance. It matches [ErrInternal].
type InternalError struct {
	Op       string // "Apply", "Upgrade" or "Resolve"
	Workflow string // the definition's name ("" for a nil definition)
	Instance string // Meta.Instance of the input
	Value    any    // the panic value
}

// Error names the operation, workflow, instance and panic value.
func (e *InternalError) Error() string {
	return fmt.Sprintf("interp: internal error in %s: workflow %q instance %q: %v", e.Op, e.Workflow, e.Instance, e.Value)
}

// Is reports whether target is [ErrInternal].
func (e *InternalError) Is(target error) bool { return target == ErrInternal }

// Unwrap returns the panic value when it is an error (a runtime error, say).
func (e *InternalError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// sameError reports whether a and b are the same error value; errors of an
// incomparable type are never the same (== would panic on them).
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	ta := reflect.TypeOf(a)
	return ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}
