package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// Errors of [Engine.Await] for an instance that finished without an output.
var (
	// ErrWorkflowFailed: the instance failed (a Fail statement, a step or
	// activity out of attempts, a panic in workflow code). The error is a
	// *[WorkflowFailedError].
	ErrWorkflowFailed = errors.New("engine: workflow failed")

	// ErrCanceled: the instance was canceled ([Engine.Cancel]) and its
	// cleanup section, if any, has ended.
	ErrCanceled = errors.New("engine: workflow canceled")
)

// (Await reports a terminated instance with ErrTerminated, terminate.go.)

// statusTerminated is the stored status of a terminated instance.
const statusTerminated = "terminated"

// WorkflowFailedError is how [Engine.Await] reports an instance that
// failed: where and why, as recorded in its meta (interp.Failure). It
// matches [ErrWorkflowFailed]; find it with errors.As.
type WorkflowFailedError struct {
	Instance string
	Workflow string
	Path     string // the statement that failed ("" when the failure has no place, such as an output that did not encode)
	Thread   string // the thread that ran it
	Message  string // the failure: the Fail's error, or the last attempt's error
	Panic    bool   // the failure is a panic in workflow code
}

// Error says which instance failed, where, and why.
func (e *WorkflowFailedError) Error() string {
	s := fmt.Sprintf("engine: instance %q of %q failed", e.Instance, e.Workflow)
	if e.Path != "" {
		s += fmt.Sprintf(" at %q", e.Path)
	}
	if e.Thread != "" {
		s += fmt.Sprintf(" (thread %s)", e.Thread)
	}
	if e.Panic {
		s += " with a panic"
	}
	return s + ": " + e.Message
}

// Is reports whether target is [ErrWorkflowFailed].
func (e *WorkflowFailedError) Is(target error) bool { return target == ErrWorkflowFailed }

// awaitPoll bounds how long Await sleeps between two looks at the store:
// it starts at awaitFirst and doubles up to awaitLocal, or, when the store
// tells of commits by other processes (storage.Waker), up to the engine's
// poll interval ([WithPollInterval]).
const (
	awaitFirst = time.Millisecond
	awaitLocal = 50 * time.Millisecond
)

// Await blocks until instance id has finished, or ctx ends, and returns
// how it ended. It reads the store, so it works for instances driven by
// any process sharing it: it looks again after every wake-up the store
// sends (a storage.Waker, such as PostgreSQL's LISTEN/NOTIFY, shared by
// all of an engine's Await calls) and, as wake-ups are hints, at a
// growing interval up to the poll interval (50ms on a store without
// wake-ups). Await needs no registered definition and changes nothing.
//
// Its waits are in real time, whatever the engine's clock ([WithClock]):
// they pace reads of the store, they do not measure workflow time.
//
// It returns nil when the instance completed, with the output (the value
// of its Return) decoded into out if out is not nil (a pointer, as for
// codec.Unmarshal; a body that ended without Return has a nil output,
// which leaves out unchanged). Otherwise: a *[WorkflowFailedError]
// matching [ErrWorkflowFailed] when it failed, [ErrCanceled] when it was
// canceled, [ErrTerminated] when it was terminated; ctx's error (wrapped)
// when ctx ends while the instance is still running (Await looks at the
// store at least once, even with a context that has ended, so a finished
// instance's outcome is never hidden by a short deadline);
// storage.ErrNotFound when there is no such
// instance; codec errors (codec.ErrCorrupt matches) when the output does
// not decode into out or the record cannot be read.
func (e *Engine) Await(ctx context.Context, id string, out any) error {
	e.wakeHub.join(e)
	defer e.wakeHub.leave()
	limit := awaitLocal
	if _, ok := e.store.(storage.Waker); ok && e.poll > limit {
		limit = e.poll
	}
	wait := awaitFirst
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		woken := e.wakeHub.next() // before the look: a commit after it wakes us
		done, err := e.finished(ctx, id, out)
		if done || err != nil {
			return err
		}
		timer.Reset(wait) // (Go 1.23 timers: no drain needed)
		select {
		case <-ctx.Done():
			return opErr("await", "", id, ctx.Err())
		case <-woken:
			wait = awaitFirst
		case <-timer.C:
			wait = min(2*wait, limit)
		}
	}
}

// finished reports whether instance id has finished and, if so, Await's
// result for it.
func (e *Engine) finished(ctx context.Context, id string, out any) (bool, error) {
	// The look itself does not heed ctx: Await with a context that ends
	// at once (or did already) still tells how a finished instance ended,
	// as a caller who "looks once" with a short deadline expects; only a
	// wait for an instance still running ends with ctx's error.
	l, err := e.load(context.WithoutCancel(ctx), id)
	if err != nil {
		return false, err
	}
	if l.stored.Status == statusTerminated {
		return true, fmt.Errorf("%w: instance %q of %q", ErrTerminated, id, l.rec.Workflow)
	}
	switch m := l.meta; m.Status {
	case interp.StatusCompleted:
		if out == nil || len(m.Output) == 0 {
			return true, nil
		}
		if err := decode.Into("output", m.Output, out); err != nil {
			return true, opErr("await", "", id, err)
		}
		return true, nil
	case interp.StatusFailed:
		fe := &WorkflowFailedError{Instance: id, Workflow: l.rec.Workflow}
		if f := m.Failure; f != nil {
			fe.Path, fe.Thread, fe.Message, fe.Panic = f.Path, f.Thread, f.Message, f.Panic
		}
		return true, fe
	case interp.StatusCanceled:
		return true, fmt.Errorf("%w: instance %q of %q", ErrCanceled, id, l.rec.Workflow)
	}
	return false, nil
}

// awaitHub shares one subscription to the store's wake-ups among the
// Await calls of an engine: it listens while at least one waits, and
// closes the current channel at every wake-up.
type awaitHub struct {
	mu      sync.Mutex
	users   int
	stop    context.CancelFunc // ends the subscription; nil: none
	changed chan struct{}      // closed at the next wake-up
}

func (h *awaitHub) join(e *Engine) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.users++
	wk, ok := e.store.(storage.Waker)
	if h.users != 1 || !ok {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go h.listen(ctx, wk, e) // subscribing may take a connection: not under the lock
}

// listen forwards the store's wake-ups until ctx ends.
func (h *awaitHub) listen(ctx context.Context, wk storage.Waker, e *Engine) {
	ch, err := wk.Wakeups(ctx)
	if err != nil {
		// Wake-ups are hints: Await polls without them.
		if ctx.Err() == nil {
			e.log.Debug("weft: await without store wake-ups", "error", err)
		}
		return
	}
	for range ch {
		h.mu.Lock()
		if h.changed != nil {
			close(h.changed)
			h.changed = nil
		}
		h.mu.Unlock()
	}
}

func (h *awaitHub) leave() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.users--
	if h.users == 0 && h.stop != nil {
		h.stop()
		h.stop = nil
	}
}

// next returns the channel the next wake-up closes.
func (h *awaitHub) next() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.changed == nil {
		h.changed = make(chan struct{})
	}
	return h.changed
}
