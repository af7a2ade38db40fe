package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// Child workflows (dsl.Child). A parent's Child statement commits a
// start-child effect; performing it starts the child with a parentLink in
// the child's host data, in the child's own Create. The child's finishing
// effect, when performed, delivers the child's end (an
// interp.ChildOutcome) to the parent's callback; a parent that no longer
// waits refuses it as a duplicate or stale callback, which is success
// here. When the parent stops waiting (canceled, terminated, finished, or
// the wait removed by a migration), an end-child effect cancels or
// terminates the child. All of it goes through the store, so parent and
// child may be worked on by different processes.

// ChildRunner performs the effects of Child statements in place of the
// engine (see [WithChildRunner]): StartChild starts the child described
// by info (Child, Type, Data; its end answers info.Callback of
// info.Instance), EndChild ends it by info.OnEnd. An error is retried as
// any effect's.
type ChildRunner interface {
	StartChild(ctx context.Context, info EffectInfo) error
	EndChild(ctx context.Context, info EffectInfo) error
}

// WithChildRunner makes the engine hand start-child and end-child effects
// to r instead of starting, canceling and terminating child instances in
// its store; everything around them (ordering, retries, acknowledging)
// stays the engine's. It is for simulators and tests that play the
// children themselves (package simulate). A nil r is invalid.
func WithChildRunner(r ChildRunner) Option {
	return func(e *Engine) error {
		if r == nil {
			return invalid("WithChildRunner", nil, "the runner must not be nil (leave the option out to start children in the store)")
		}
		e.children = r
		return nil
	}
}

// parentLink is kept in a child's host data: the parent and the callback
// that waits for the child's end.
type parentLink struct {
	ID       string `cbor:"1,keyasint"`
	Callback uint64 `cbor:"2,keyasint"`
}

// startChild performs a start-child effect of instance parent. A start
// retried after a crash finds the child it started (same parent link) and
// succeeds. A child that cannot be started for good (its ID is invalid or
// taken by another instance, its input too large) is a failure delivered
// to the parent as the child's end; an unregistered child workflow is an
// error, retried (another process may know it).
func (e *Engine) startChild(ctx context.Context, parent string, oe *outbox.Entry) error {
	def := e.definition(oe.Type)
	if def == nil {
		return fmt.Errorf("%w: child workflow %q of instance %q", ErrUnregistered, oe.Type, parent)
	}
	link := parentLink{ID: parent, Callback: oe.Callback}
	if waiting, err := e.parentWaits(ctx, link); err != nil || !waiting {
		return err // nil when the parent no longer waits: nothing to start
	}
	host, err := codec.Marshal(hostData{Parent: &link})
	if err != nil {
		return opErr("child", "", oe.Child, err)
	}
	if err := checkID(oe.Child); err != nil {
		return e.childNotStarted(ctx, link, oe, err)
	}
	if len(oe.Data) > e.maxPayload {
		return e.childNotStarted(ctx, link, oe, &TooLargeError{Instance: oe.Child, What: "child input", Size: len(oe.Data), Limit: e.maxPayload})
	}
	err = e.start(ctx, def, oe.Child, oe.Data, startOptions{}, host)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrExists):
		l, lerr := e.load(ctx, oe.Child)
		if lerr != nil {
			return lerr
		}
		h, herr := decodeHost(oe.Child, l.rec.Host)
		if herr != nil {
			return herr
		}
		if h.Parent != nil && *h.Parent == link {
			return nil // started before: this is a retry
		}
		return e.childNotStarted(ctx, link, oe, fmt.Errorf("the ID is taken by another instance (%w)", ErrExists))
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrPanic), errors.Is(err, interp.ErrBadEvent):
		return e.childNotStarted(ctx, link, oe, err)
	}
	return err
}

// parentWaits reports whether the parent still waits at link's callback.
func (e *Engine) parentWaits(ctx context.Context, link parentLink) (bool, error) {
	l, err := e.load(ctx, link.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, t := range l.meta.Threads {
		for _, p := range t.Waits {
			if p.Callback == link.Callback {
				return true, nil
			}
		}
	}
	return false, nil
}

// childNotStarted delivers to the parent the failure of a child that
// could not be started.
func (e *Engine) childNotStarted(ctx context.Context, link parentLink, oe *outbox.Entry, why error) error {
	return e.deliverChild(ctx, link, interp.ChildOutcome{Status: interp.StatusFailed, Error: "not started: " + why.Error()})
}

// deliverChild delivers a child's end to its parent. A parent that no
// longer waits (it ended, or the callback was answered or torn down)
// makes the delivery moot, not an error.
func (e *Engine) deliverChild(ctx context.Context, link parentLink, o interp.ChildOutcome) error {
	b, err := interp.EncodeChildOutcome(o)
	if err != nil {
		return opErr("child outcome", "for", link.ID, err)
	}
	_, err = e.transition(ctx, link.ID, event(interp.Event{Kind: interp.EventCallback, Callback: link.Callback, Payload: b}))
	switch {
	case err == nil, errors.Is(err, interp.ErrDuplicateCallback), errors.Is(err, interp.ErrStaleCallback),
		errors.Is(err, interp.ErrUnknownCallback), errors.Is(err, interp.ErrFinished), errors.Is(err, storage.ErrNotFound):
		return nil
	}
	return err
}

// childEnded is the part of a finishing effect oe of instance id that
// concerns a parent: if id is a child, its end goes to the parent. The
// entry carries the end and, since outbox key 15, the parent link: the
// child's ID may hold a new run by now (ID reuse), whose record knows
// neither. An entry written before has only the end, and the record the
// link.
func (e *Engine) childEnded(ctx context.Context, id string, oe *outbox.Entry) error {
	if oe.Parent != "" {
		return e.deliverChild(ctx, parentLink{ID: oe.Parent, Callback: oe.ParentCallback}, endOutcome(oe))
	}
	if !e.isChildWorkflow(oe.Workflow) {
		return nil
	}
	l, err := e.load(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	h, err := decodeHost(id, l.rec.Host)
	if err != nil || h.Parent == nil {
		return err
	}
	if !l.meta.Status.Finished() {
		// A new run of the ID (ID reuse) replaced the child: it is not
		// the parent's child.
		return nil
	}
	return e.deliverChild(ctx, *h.Parent, interp.ChildOutcomeOf(l.meta))
}

// endOutcome is the outcome of a child whose end effect is oe, as
// interp.ChildOutcomeOf says it from the child's meta: the interpreter's
// end effects carry the output (Completed), the failure (Failed) and the
// reason (Terminated).
func endOutcome(oe *outbox.Entry) interp.ChildOutcome {
	switch oe.Kind {
	case interp.EffectCompleted:
		return interp.ChildOutcome{Status: interp.StatusCompleted, Output: oe.Data}
	case interp.EffectFailed:
		return interp.ChildOutcome{Status: interp.StatusFailed, Error: oe.Error, Path: oe.Path}
	case interp.EffectTerminated:
		return interp.ChildOutcome{Status: interp.StatusTerminated, Error: oe.Error}
	}
	return interp.ChildOutcome{Status: interp.StatusCanceled}
}

// endChild performs an end-child effect: the parent stopped waiting for
// the child, which is canceled or terminated by the policy. A child that
// already ended, or was never started, needs nothing.
func (e *Engine) endChild(ctx context.Context, parent string, oe *outbox.Entry) error {
	if dsl.ParentEndPolicy(oe.OnEnd) == dsl.AbandonChild {
		return nil
	}
	// Only this parent's child: the ID may be another instance's.
	l, err := e.load(ctx, oe.Child)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	h, err := decodeHost(oe.Child, l.rec.Host)
	if err != nil {
		return err
	}
	if h.Parent == nil || *h.Parent != (parentLink{ID: parent, Callback: oe.Callback}) || l.meta.Status.Finished() {
		return nil
	}
	switch dsl.ParentEndPolicy(oe.OnEnd) {
	case dsl.TerminateChild:
		err = e.Terminate(ctx, oe.Child, "the parent "+parent+" ended", TerminatedBy(parent))
	default:
		err = e.Cancel(ctx, oe.Child)
	}
	switch {
	case err == nil, errors.Is(err, interp.ErrFinished), errors.Is(err, storage.ErrNotFound):
		return nil
	case errors.Is(err, interp.ErrBadEvent): // already canceling
		return nil
	}
	return err
}

// orderedKind reports effects performed in order per wait: a Setup before
// its Teardown, a child's start before its end, and the instance's
// finishing effect after all of them.
func orderedKind(k interp.EffectKind) bool {
	return k == interp.EffectSetup || k == interp.EffectTeardown || k == interp.EffectStartChild || k == interp.EffectEndChild
}
