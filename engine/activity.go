package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

type effectIDKey struct{}

// EffectID returns the ID of the effect being performed, from the context
// an activity, handler or finish hook is called with ("" if none). An
// activity attempt keeps its ID when it is retried after a crash, so
// activities with side effects use it as an idempotency key.
func EffectID(ctx context.Context) string {
	id, _ := ctx.Value(effectIDKey{}).(string)
	return id
}

func withEffectID(ctx context.Context, id string) context.Context {
	return &effectContext{ctx, id}
}

// effectContext carries an effect's ID: context.WithValue would take two
// allocations (the context and the boxed string) per effect performed.
type effectContext struct {
	context.Context
	id string
}

func (c *effectContext) Value(key any) any {
	if key == (effectIDKey{}) {
		return c.id
	}
	return c.Context.Value(key)
}

// attemptKey names one activity attempt: callback IDs are unique per
// instance, and every attempt of a Call has its own.
type attemptKey struct {
	instance string
	callback uint64
}

// attempt is a running activity attempt, which a CancelActivity effect can
// stop.
type attempt struct {
	cancel   context.CancelFunc
	n        uint64 // which attempt: see work.started
	canceled bool   // by a CancelActivity effect: the result is not wanted
}

// runActivity performs a RunActivity effect: it runs the Call's function on
// the state snapshot, with the attempt's timeout, and delivers the result
// or the error as the callback that resumes the waiting thread. A nil error
// means the effect is done and may be acknowledged.
func (e *Engine) runActivity(ctx context.Context, info EffectInfo, oe *outbox.Entry, lease *storage.Lease) error {
	def, err := e.definitionOf(oe.Workflow, info.Instance)
	if err != nil {
		return err
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	key := attemptKey{info.Instance, oe.Callback}
	n := e.work.started(key, cancel)
	defer e.work.stopped(key, n)

	// Registered before this check, so a cancel committed after it finds
	// the attempt running, and one committed before it is seen here.
	if wanted, err := e.awaits(ctx, info.Instance, oe.Callback); err != nil || !wanted {
		return err
	}
	if oe.Timeout > 0 {
		var stop context.CancelFunc
		actx, stop = context.WithTimeout(actx, oe.AttemptTimeout())
		defer stop()
	}
	out, runErr := e.runAttempt(withEffectID(actx, info.ID), def, info, oe)
	if ctx.Err() != nil {
		// The engine is stopping: the attempt was abandoned, not failed.
		// The effect stays in the outbox and runs again after a restart.
		return fmt.Errorf("engine: activity %s abandoned: %w", info.ID, ctx.Err())
	}
	e.metrics.Activity(oe.Workflow, oe.Path, runErr)
	if e.work.wasCanceled(key, n) {
		return nil
	}
	ev := interp.Event{Kind: interp.EventCallback, Callback: oe.Callback, Payload: out}
	if runErr != nil {
		ev.Payload, ev.Error = nil, attemptError(runErr, actx, oe)
	}
	_, err = e.transition(ctx, info.Instance, eventFor{ev: ev, lease: lease})
	if err != nil && runErr == nil && errors.Is(err, interp.ErrRejected) {
		// The result does not fit the Call (it did not decode): count it as
		// a failed attempt, so the Call's retry policy decides, instead of
		// running the activity again forever.
		ev.Payload, ev.Error = nil, "result rejected: "+err.Error()
		_, err = e.transition(ctx, info.Instance, eventFor{ev: ev, lease: lease})
	}
	if errors.Is(err, interp.ErrStaleCallback) || errors.Is(err, interp.ErrDuplicateCallback) || errors.Is(err, interp.ErrFinished) {
		return nil // the instance moved on (canceled, say); the result is not wanted
	}
	return err
}

// attemptError is the message delivered for a failed attempt.
func attemptError(err error, actx context.Context, oe *outbox.Entry) string {
	if oe.Timeout > 0 && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("attempt %d timed out after %v: %v", oe.Attempt, oe.AttemptTimeout(), err)
	}
	if msg := err.Error(); msg != "" {
		return msg
	}
	return "activity failed"
}

// awaits reports whether instance id still waits for the activity result
// with this callback; if not, the attempt need not run. It answers from
// the record cache where it can: a record cached after the callback was
// issued that no longer waits for it is final (callback IDs are never
// reused), and one that still waits may be stale, which costs no more
// than an attempt whose result the transition then refuses as stale.
func (e *Engine) awaits(ctx context.Context, id string, callback uint64) (bool, error) {
	l, ok := e.cache.get(id)
	if !ok || l.meta.NextCallback < callback {
		var err error
		if l, err = e.load(ctx, id); err != nil {
			return false, err
		}
	}
	if l.meta.Status.Finished() {
		return false, nil
	}
	for _, th := range l.meta.Threads {
		for _, p := range th.Waits {
			if p.Callback == callback && p.Kind == interp.Activity {
				return true, nil
			}
		}
	}
	return false, nil
}
