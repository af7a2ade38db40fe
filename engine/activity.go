package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

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

// attemptCtx is the context of one activity attempt: the worker's context
// with the effect's ID (see EffectID), canceled when a CancelActivity
// effect stops the attempt or when the attempt is over. It is also the
// attempt's entry in the table of running attempts.
//
// It is what context.WithCancel and withEffectID made per attempt (three
// allocations, and a registration with the worker's context under that
// context's lock, which every worker shares, and its removal after), in one
// allocation: the cancelable context behind Done is made only when
// something asks for Done (or for a value once the attempt is stopped),
// which an activity that does not watch its context never does. Until
// then Err answers from the flag and the worker's context.
type attemptCtx struct {
	context.Context        // the worker's: its deadline, its values, its cancellation
	id              string // the effect's ID

	mu       sync.Mutex
	stopped  bool // canceled: by a CancelActivity effect, or the attempt is over
	byEffect bool // stopped by a CancelActivity effect: the result is not wanted
	cancel   context.CancelFunc
	child    atomic.Pointer[context.Context] // the cancelable context, once made

	// Its entry in the table of running attempts, under attempts.mu.
	key        attemptKey
	prev, next *attemptCtx
}

// made returns the cancelable context behind Done, making it if need be.
func (c *attemptCtx) made() context.Context {
	if p := c.child.Load(); p != nil {
		return *p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.child.Load(); p != nil {
		return *p
	}
	child, cancel := context.WithCancel(c.Context)
	if c.stopped {
		cancel()
	}
	c.cancel = cancel
	c.child.Store(&child)
	return child
}

// Done is closed when the attempt is stopped or the worker's context ends.
func (c *attemptCtx) Done() <-chan struct{} { return c.made().Done() }

// Err is context.Canceled once the attempt is stopped, else the worker's
// context's error.
func (c *attemptCtx) Err() error {
	if p := c.child.Load(); p != nil {
		return (*p).Err()
	}
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	if stopped {
		if p := c.child.Load(); p != nil { // (made after the load above)
			return (*p).Err()
		}
		return context.Canceled
	}
	return c.Context.Err()
}

// Value answers EffectID's key with the effect's ID, and other keys as the
// worker's context does; once the attempt is stopped or its Done was asked
// for, as the cancelable context does, so that context.Cause and contexts
// derived from this one see it canceled.
func (c *attemptCtx) Value(key any) any {
	if key == (effectIDKey{}) {
		return c.id
	}
	if p := c.child.Load(); p != nil {
		return (*p).Value(key)
	}
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	if stopped {
		return c.made().Value(key)
	}
	return c.Context.Value(key)
}

// stop cancels the attempt; byEffect says a CancelActivity effect did.
func (c *attemptCtx) stop(byEffect bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	c.byEffect = c.byEffect || byEffect
	if c.cancel != nil {
		c.cancel()
	}
}

// canceledByEffect reports whether a CancelActivity effect stopped the
// attempt.
func (c *attemptCtx) canceledByEffect() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byEffect
}

// attempts is the table of running activity attempts, which a
// CancelActivity effect looks through to stop one. It has a lock of its
// own, apart from the work table's, which every job takes. It is a list,
// not a map: an attempt is registered and forgotten once each, and
// canceled rarely, and a list does that with no hashing and no
// allocation (the context is the entry); a cancel looks at each attempt
// running, no more than the attempts running at once.
type attempts struct {
	mu    sync.Mutex
	first *attemptCtx // the list of running attempts, through attemptCtx.prev and next
}

// started registers a running attempt a of k.
func (t *attempts) started(k attemptKey, a *attemptCtx) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a.key, a.prev, a.next = k, nil, t.first
	if t.first != nil {
		t.first.prev = a
	}
	t.first = a
}

// stopped forgets attempt a.
func (t *attempts) stopped(a *attemptCtx) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.prev != nil {
		a.prev.next = a.next
	} else {
		t.first = a.next
	}
	if a.next != nil {
		a.next.prev = a.prev
	}
	a.prev, a.next = nil, nil
}

// cancel stops every running attempt of k (one, unless an effect is
// performed twice at once).
func (t *attempts) cancel(k attemptKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for a := t.first; a != nil; a = a.next {
		if a.key == k {
			a.stop(true)
		}
	}
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
	a := &attemptCtx{Context: ctx, id: info.ID}
	defer a.stop(false)
	e.work.running.started(attemptKey{info.Instance, oe.Callback}, a)
	defer e.work.running.stopped(a)

	// Registered before this check, so a cancel committed after it finds
	// the attempt running, and one committed before it is seen here.
	if wanted, err := e.awaits(ctx, info.Instance, oe.Callback); err != nil || !wanted {
		return err
	}
	var actx context.Context = a
	if oe.Timeout > 0 {
		var stop context.CancelFunc
		actx, stop = context.WithTimeout(actx, oe.AttemptTimeout())
		defer stop()
	}
	out, runErr := e.runAttempt(actx, def, info, oe)
	if ctx.Err() != nil {
		if runErr != nil {
			// The engine is stopping: the attempt was abandoned, not
			// failed. The effect stays in the outbox and runs again after
			// a restart.
			return fmt.Errorf("engine: activity %s abandoned: %w", info.ID, ctx.Err())
		}
		// It succeeded as the engine stopped: its result is delivered
		// (with stopAckTimeout for the commit), not thrown away to run
		// the activity again.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopAckTimeout)
		defer cancel()
		ctx = dctx
	}
	e.metrics.Activity(oe.Workflow, oe.Path, runErr)
	if a.canceledByEffect() {
		return nil
	}
	ev := interp.Event{Kind: interp.EventCallback, Callback: oe.Callback, Payload: out}
	if runErr != nil {
		ev.Payload, ev.Error = nil, attemptError(runErr, actx, oe)
	}
	err = e.transitionErr(ctx, info.Instance, eventFor{ev: ev, lease: lease})
	if err != nil && runErr == nil && errors.Is(err, interp.ErrRejected) {
		// The result does not fit the Call (it did not decode): count it as
		// a failed attempt, so the Call's retry policy decides, instead of
		// running the activity again forever.
		ev.Payload, ev.Error = nil, "result rejected: "+err.Error()
		err = e.transitionErr(ctx, info.Instance, eventFor{ev: ev, lease: lease})
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
	if wanted, ok := e.cache.awaiting(id, callback); ok {
		return wanted, nil
	}
	l, err := e.load(ctx, id)
	if err != nil {
		return false, err
	}
	return waitsForActivity(&l.meta, callback), nil
}

// awaiting is awaits answered from the cached record of id, looked at in
// place (a get would copy it): ok is false if no record of id is cached
// or the cached one is older than the callback.
func (c *recordCache) awaiting(id string, callback uint64) (wanted, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.m[id]
	if p == nil || !p.has || p.rec.meta.NextCallback < callback {
		return false, false
	}
	return waitsForActivity(&p.rec.meta, callback), true
}

// waitsForActivity reports whether an instance with meta m waits for the
// activity result with this callback.
func waitsForActivity(m *interp.Meta, callback uint64) bool {
	if m.Status.Finished() {
		return false
	}
	for _, th := range m.Threads {
		for _, p := range th.Waits {
			if p.Callback == callback && p.Kind == interp.Activity {
				return true
			}
		}
	}
	return false
}
