package engine

import (
	"errors"
	"fmt"

	"github.com/weftflow/weft/storage"
)

// OutcomeUnknownError reports a call whose write reached the store but
// whose outcome the store could not tell: the event may have been applied
// or not, and reloading is the only way to know. It matches
// [ErrOutcomeUnknown] and, through Err, storage.ErrOutcomeUnknown (a
// storage/bolt write that failed while syncing, ErrWriteFailed, matches it
// too).
//
// Each call has a retry that cannot apply its event twice, nor to a wait
// it was not meant for:
//
//   - [Engine.Send] with an [IdempotencyKey]: call Send again with the same
//     key (and event). If the first call was applied, the retry returns nil
//     (with the first call's reply) and applies nothing; otherwise it
//     applies the event now, to whatever wait is current. Without a key, do
//     not retry Send blindly: a workflow that waits for the same event
//     again (in a loop) would take the retry as a second event. Retry with
//     [Engine.Deliver] and Callback instead, as below, or use a key.
//   - [Engine.Deliver] (and Send without a key): Deliver(ctx, Instance,
//     Callback, payload, reply) again. Callback names one wait, so the retry can
//     only answer that wait: nil means it is applied now, and
//     interp.ErrDuplicateCallback that the wait was answered already (by
//     the first call, unless another caller answered the same callback).
//     interp.ErrStaleCallback means the wait ended without the event,
//     or, if more than 16 other callbacks were accepted meanwhile, that
//     it can no longer be told; a key tells in both cases.
//   - [Engine.Start]: Start again with the same ID; [ErrExists] then means
//     the instance exists (the ID is Start's idempotency key).
//   - [Engine.Cancel]: Cancel again; interp.ErrBadEvent (already
//     canceling) or interp.ErrFinished means the first call took effect.
//
// A store that reports an unknown outcome may refuse writes until it is
// reopened (storage/bolt does): retry against the reopened store.
type OutcomeUnknownError struct {
	Op       string // "start", "send", "deliver", "cancel" or "signal-with-start"
	Instance string
	Event    string // Send: the custom event's name
	Callback uint64 // Send, Deliver: the callback the event was to answer (0 if Send found none)
	Key      string // Send: the idempotency key, if one was given
	Err      error  // the store's error
}

// Error names the call, the instance and the callback, and says that the
// event may or may not have been applied.
func (e *OutcomeUnknownError) Error() string {
	what := e.Op
	if e.Event != "" {
		what += fmt.Sprintf(" %q", e.Event)
	}
	if e.Callback != 0 {
		what += fmt.Sprintf(" (callback %d)", e.Callback)
	}
	if e.Key != "" {
		what += fmt.Sprintf(" with key %q", e.Key)
	}
	// The store's error, without the engine's layers: this message names
	// the call itself (and the instance, unless the store's error does).
	return describe(what, "to", e.Instance, "outcome unknown, it may or may not have been applied: "+cause(e.Err).Error(), false)
}

// Is reports whether target is [ErrOutcomeUnknown].
func (e *OutcomeUnknownError) Is(target error) bool { return target == ErrOutcomeUnknown }

// Unwrap returns the store's error.
func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// outcomeUnknown returns err as an *OutcomeUnknownError built from u if
// the store said that it cannot tell the outcome of the write, and err
// unchanged otherwise.
func outcomeUnknown(err error, u OutcomeUnknownError) error {
	if err == nil || !errors.Is(err, storage.ErrOutcomeUnknown) {
		return err
	}
	var already *OutcomeUnknownError
	if errors.As(err, &already) {
		return err
	}
	u.Err = err
	return &u
}
