package engine

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/interp"
)

// ErrTerminated: the instance was ended by [Engine.Terminate]. An event
// refused for that reason (a Send, Deliver, Cancel or Terminate of a
// terminated instance) matches both ErrTerminated and interp.ErrFinished.
// It is the same value as interp.ErrTerminated, so errors from either
// layer match it.
var ErrTerminated = interp.ErrTerminated

// MaxReasonLen is the longest reason, and the longest "by", that
// [Engine.Terminate] records, in bytes.
const MaxReasonLen = 1024

// TerminateOption configures one [Engine.Terminate].
type TerminateOption func(*terminateOptions)

type terminateOptions struct {
	by string
}

// TerminatedBy records who terminated the instance (a user, a tool, a
// service), next to the reason. Without it the record names no one.
func TerminatedBy(who string) TerminateOption {
	return func(o *terminateOptions) { o.by = who }
}

// Terminate ends instance id at once, whatever it is doing: unlike
// [Engine.Cancel] it runs no workflow code (not even the cleanup section),
// and it works on an instance whose position the current definition no
// longer has (one that Send, Deliver and Cancel refuse with
// interp.ErrPositionLost) and on a canceling one. The state is kept as it
// was. In the same atomic commit, every pending wait is torn down: the
// teardown of each setup that was emitted goes to the outbox (and is
// performed after its setup, once), timers are dropped, running
// activities are told to stop and their results refused; a Terminated
// effect, carrying reason, is then handed to the [FinishFunc]. The
// instance's status becomes "terminated", and interp.Meta.Terminated
// records reason, who (see [TerminatedBy]) and when (the engine's clock).
//
// Errors: an error matching interp.ErrFinished when the instance has
// already ended (and [ErrTerminated] too when it was terminated),
// storage.ErrNotFound, [ErrUnregistered] when its workflow is not
// registered, a *[TooLargeError] ([ErrTooLarge]) for a reason or a "by"
// longer than [MaxReasonLen]. When the store cannot tell whether the
// commit took effect, the error is an *[OutcomeUnknownError] matching
// [ErrOutcomeUnknown]: Terminate again, and [ErrTerminated] then means it
// was.
func (e *Engine) Terminate(ctx context.Context, id, reason string, opts ...TerminateOption) error {
	var o terminateOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	for what, s := range map[string]string{"reason": reason, "terminated-by": o.by} {
		if len(s) > MaxReasonLen {
			return &TooLargeError{Instance: id, What: what, Size: len(s), Limit: MaxReasonLen}
		}
	}
	_, err := e.transition(ctx, id, event(interp.Event{Kind: interp.EventTerminate, Reason: reason, By: o.by}))
	return outcomeUnknown(err, OutcomeUnknownError{Op: "terminate", Instance: id})
}

// finishedError is why a finished instance refuses an event the engine
// checks itself: interp.ErrFinished, and [ErrTerminated] too when it was
// terminated.
func finishedError(m *interp.Meta) error {
	if m.Status == interp.StatusTerminated {
		return &alsoError{err: fmt.Errorf("%w: it is %s", interp.ErrFinished, m.Status), sentinel: ErrTerminated}
	}
	return fmt.Errorf("%w: it is %s", interp.ErrFinished, m.Status)
}
