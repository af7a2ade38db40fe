package engine

import (
	"errors"
	"fmt"
	"reflect"
)

// Sentinel errors of the engine. Errors from package interp (such as
// interp.ErrUnknownCallback or interp.ErrRejected) and from package storage
// (such as storage.ErrNotFound) are passed through wrapped, so test every
// error with [errors.Is] or [errors.As], never by comparing strings.
var (
	// ErrUnregistered: the workflow named by a stored record, or the
	// definition passed to [Engine.Start], is not registered with
	// [Engine.Register] (or another definition has that name).
	ErrUnregistered = errors.New("engine: workflow not registered")

	// ErrDuplicate: [Engine.Register] got a workflow name that is already
	// registered.
	ErrDuplicate = errors.New("engine: workflow already registered")

	// ErrExists: [Engine.Start] of an instance ID that is taken. The error
	// also matches storage.ErrExists.
	ErrExists = errors.New("engine: instance already exists")

	// ErrStateType: a start input or a [Query] type is not the workflow's
	// state type. The error is a *[StateTypeError].
	ErrStateType = errors.New("engine: wrong state type")

	// ErrNoSuchWait: [Engine.Send] found no thread waiting for the named
	// custom event, and could not buffer it: no wait anywhere in the
	// definition takes an event of that name (the error then also matches
	// interp.ErrUnknownEvent), or the send had the [NoBuffer] option.
	ErrNoSuchWait = errors.New("engine: no thread waits for the event")

	// ErrNoHandler: a setup or teardown effect has a type that no
	// [Engine.Handle] call registered. The effect stays in the outbox and is
	// retried, so registering the handler later still performs it.
	ErrNoHandler = errors.New("engine: no handler for the effect type")

	// ErrInvalidID: an instance ID is empty or too long (see [MaxIDLen]).
	ErrInvalidID = errors.New("engine: invalid instance ID")

	// ErrNoOutput: [Instance.DecodeOutput] on an instance that has not
	// completed.
	ErrNoOutput = errors.New("engine: instance has no output")

	// ErrRunning: [Engine.Run] or [Engine.Drain] was called while the engine
	// is already being driven by one of them.
	ErrRunning = errors.New("engine: already running")

	// ErrPanic: a panic escaped the interpreter, the store or the codec
	// while the engine worked on an instance; the engine recovered it and
	// goes on serving other instances. The error is a *[PanicError], whose
	// Op says whether anything was written.
	ErrPanic = errors.New("engine: recovered panic")

	// ErrTooLarge: an event was refused because its payload, the new
	// state or the record would exceed a size limit ([WithMaxPayload],
	// [WithMaxState], codec.MaxBytes). Nothing was written. The error is a
	// *[TooLargeError]; it does not match codec.ErrCorrupt.
	ErrTooLarge = errors.New("engine: too large")

	// ErrReplyUndecodable: [Engine.Send] or [Engine.Deliver] applied the
	// event (it is committed and must not be sent again), but the handler's
	// reply did not decode into the value given for it. The error is a *[ReplyDecodeError]. It
	// does not match codec.ErrCorrupt: nothing stored is damaged, and an
	// error matching ErrCorrupt means the event was not applied.
	ErrReplyUndecodable = errors.New("engine: event applied, but its reply did not decode")

	// ErrInvalidOption: [New] got a nil store, a nil option, or an option
	// with a value it cannot use. The error is an *[OptionError].
	ErrInvalidOption = errors.New("engine: invalid option")

	// ErrOutcomeUnknown: the store could not tell whether a write took
	// effect (the connection broke during the commit, or the disk failed
	// while syncing it), so the event may or may not have been applied.
	// The error is an *[OutcomeUnknownError]; it also matches
	// storage.ErrOutcomeUnknown. See the error's type for how to retry
	// without applying an event twice.
	ErrOutcomeUnknown = errors.New("engine: outcome unknown")

	// ErrInvalidKey: an idempotency key given to [Engine.Send] (see
	// [IdempotencyKey]) is empty or longer than [MaxKeyLen], or was
	// already used with this instance for another event.
	ErrInvalidKey = errors.New("engine: invalid idempotency key")
)

// ReplyDecodeError reports an event that [Engine.Send] or [Engine.Deliver]
// applied and committed whose reply did not decode into the caller's value. It matches
// [ErrReplyUndecodable] only: the codec's error is kept in Err but not
// unwrapped, so that it is never taken for an event that was not applied.
type ReplyDecodeError struct {
	Op       string // "send" or "deliver"; empty means "send"
	Instance string
	Event    string // the custom event's name
	Callback uint64 // the callback the event answered
	Err      error  // why the reply did not decode (a *codec.DecodeError, say)
}

// Error says that the event was applied and why its reply did not decode.
func (e *ReplyDecodeError) Error() string {
	if e.Op == "deliver" {
		return fmt.Sprintf("engine: deliver callback %d to %q: the event %q was applied, but its reply did not decode: %v",
			e.Callback, e.Instance, e.Event, e.Err)
	}
	return fmt.Sprintf("engine: send %q to %q: the event was applied (callback %d), but its reply did not decode: %v",
		e.Event, e.Instance, e.Callback, e.Err)
}

// Is reports whether target is [ErrReplyUndecodable].
func (e *ReplyDecodeError) Is(target error) bool { return target == ErrReplyUndecodable }

// StateTypeError reports a value whose type is not the workflow's state
// type. It matches [ErrStateType].
type StateTypeError struct {
	Workflow string
	What     string       // "start input" or "query"
	Want     reflect.Type // the definition's state type
	Got      reflect.Type // nil for a nil value
}

// Error describes the mismatch.
func (e *StateTypeError) Error() string {
	got := "nil"
	if e.Got != nil {
		got = e.Got.String()
	}
	want := e.Want.String()
	if e.What != "query" {
		want += " or *" + want
	}
	return fmt.Sprintf("engine: workflow %q: %s has type %s, want %s", e.Workflow, e.What, got, want)
}

// Is reports whether target is [ErrStateType].
func (e *StateTypeError) Is(target error) bool { return target == ErrStateType }
