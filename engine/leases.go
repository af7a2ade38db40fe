package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// The synchronous core for many processes. A process claims instances
// that have work (storage.Claims), and only the holder of an instance's
// lease resumes it when due and performs its effects, committing and
// acknowledging under the lease's fence token. RunDue and ProcessInstance
// are the core's plain calls; Run and Drain drive it when the engine is
// made WithLeases.

const (
	// DefaultLeaseTTL is how long a claim lasts unless renewed: a process
	// that dies holding work delays it by at most this much.
	DefaultLeaseTTL = 30 * time.Second
	// DefaultMaxAttempts is how often an effect is tried before it is
	// dead-lettered (as River's default).
	DefaultMaxAttempts = 25

	pendingBatch  = 256 // effects read per Pending call
	maxLeaseRound = 64  // rounds of resume-and-perform per lease before it is released
	releaseWithin = 5 * time.Second
)

// leaseConf is the engine's claims configuration.
type leaseConf struct {
	owner string
	ttl   time.Duration
}

// WithLeases makes the engine share its store with other processes: [Engine.Run]
// and [Engine.Drain] claim instances with work through the store's
// [storage.Claims] instead of scanning the whole outbox, so each due resume
// and each effect is performed by the one process that holds the
// instance's lease. owner names this process in leases (for tools and
// logs; empty means "hostname/pid"); ttl is how long a lease lasts before
// another process may take the instance over (0 means [DefaultLeaseTTL]).
// The engine renews a lease while it works on the instance.
//
// Without WithLeases, Run assumes it is the only process performing work
// on the store (bolt's file lock makes that so); it is faster there,
// handing a commit's effects to a worker without reading them back.
func WithLeases(owner string, ttl time.Duration) Option {
	return func(e *Engine) error {
		if owner == "" {
			owner = defaultOwner()
		}
		if ttl == 0 {
			ttl = DefaultLeaseTTL
		}
		if err := storage.ValidateTTL(ttl); err != nil {
			return invalid("WithLeases", ttl, fmt.Sprintf("the lease TTL must be 0 (the default) or at least %v", storage.DuePrecision))
		}
		e.shared = &leaseConf{owner: owner, ttl: ttl}
		return nil
	}
}

// WithMaxAttempts sets how many times an effect (a setup or teardown
// handler, the finish hook, an activity's delivery) is tried before it is
// dead-lettered: kept in the store, out of the outbox, listed by
// storage.Claims.DeadLetters and `weft inspect --dead`, until
// [Engine.Requeue] puts it back. Default [DefaultMaxAttempts]; 0 means
// retry forever.
func WithMaxAttempts(n int) Option {
	return func(e *Engine) error {
		if n < 0 {
			return invalid("WithMaxAttempts", n, "the number of attempts must be 0 (no limit) or positive")
		}
		e.maxAttempts = n
		return nil
	}
}

func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "weft"
	}
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// leases returns the claims configuration, the default one if the engine
// was not made WithLeases.
func (e *Engine) leases() leaseConf {
	if e.shared != nil {
		return *e.shared
	}
	return leaseConf{owner: defaultOwner(), ttl: DefaultLeaseTTL}
}

// Work is what a call of the synchronous core did, and when there is more.
type Work struct {
	Instances   int       // instances claimed and worked on
	Transitions int       // transitions committed (resumes and activity results)
	Effects     int       // effects performed and acknowledged
	Retried     int       // effects that failed and wait for their next attempt
	DeadLetters int       // effects that failed for the last time
	Next        time.Time // when the store will next have work (zero: none known)
}

func (w *Work) add(o Work) {
	w.Instances += o.Instances
	w.Transitions += o.Transitions
	w.Effects += o.Effects
	w.Retried += o.Retried
	w.DeadLetters += o.DeadLetters
}

// RunDue does, once, the work that is due now: it claims up to limit
// instances that have work (due, or with ready effects), resumes them,
// performs their ready effects in order, releases them, and returns what
// it did and when the store will next have work, so that a host without a
// loop (a serverless function, a cron endpoint) knows when to call again.
// Instances are worked on concurrently, up to the engine's workers. It is
// safe to call from many goroutines and processes at once: each instance is
// worked on by one lease holder. Failures of single instances are logged,
// counted in the result, and joined into the error; the error is returned
// early only if the store fails.
//
// Do not call RunDue while an engine made without [WithLeases] runs
// [Engine.Run] on the same store: that Run does not look at leases.
func (e *Engine) RunDue(ctx context.Context, limit int) (Work, error) {
	if err := storage.ValidateLimit(limit); err != nil {
		return Work{}, fmt.Errorf("engine: run due: %w", err)
	}
	conf := e.leases()
	leases, err := e.store.Claim(ctx, storage.ClaimRequest{Owner: conf.owner, Now: e.clock.Now(), TTL: conf.ttl, Limit: limit})
	if err != nil {
		return Work{}, fmt.Errorf("engine: claim: %w", err)
	}
	var w Work
	errs := make([]error, len(leases))
	works := make([]Work, len(leases))
	done := make([]storage.Lease, len(leases))
	released := make([]bool, len(leases))
	if e.workers == 1 || len(leases) == 1 {
		// One at a time anyway: on this goroutine, whose stack has grown
		// already, rather than a new one per lease.
		for i, l := range leases {
			works[i], done[i], released[i], errs[i] = e.workLease(ctx, l)
		}
	} else {
		sem := make(chan struct{}, e.workers)
		var wg sync.WaitGroup
		for i, l := range leases {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				works[i], done[i], released[i], errs[i] = e.workLease(ctx, l)
			})
		}
		wg.Wait()
	}
	var release []storage.Lease // in one call (see workLease for the others)
	for i, o := range works {
		w.add(o)
		if errs[i] != nil {
			e.holdFailed(ctx, done[i])
			continue
		}
		if !released[i] {
			release = append(release, done[i])
		}
		e.leaseFails.succeeded(leases[i].Instance)
	}
	e.release(ctx, release...)
	next, err := e.store.NextWork(ctx, e.clock.Now())
	if err != nil {
		errs = append(errs, fmt.Errorf("engine: next work: %w", err))
	}
	w.Next = next
	return w, errors.Join(errs...)
}

// ProcessInstance does the pending work of instance id now, whether or not
// it is due: it leases the instance, resumes it if anything is due,
// performs its ready effects in order, and releases it. It fails with an
// error matching storage.ErrLeased if another process holds the instance,
// and storage.ErrNotFound if there is no such instance. Work.Next is when
// the store will next have work, for any instance.
func (e *Engine) ProcessInstance(ctx context.Context, id string) (Work, error) {
	conf := e.leases()
	l, err := e.store.Acquire(ctx, id, storage.ClaimRequest{Owner: conf.owner, Now: e.clock.Now(), TTL: conf.ttl, Limit: 1})
	if err != nil {
		return Work{}, opErr("process", "", id, err)
	}
	w, err := e.processLease(ctx, l)
	next, nerr := e.store.NextWork(ctx, e.clock.Now())
	w.Next = next
	if nerr != nil {
		err = errors.Join(err, fmt.Errorf("engine: next work: %w", nerr))
	}
	return w, err
}

// heldLease is a lease being worked on, renewed in the background.
type heldLease struct {
	mu sync.Mutex
	l  storage.Lease
}

func (h *heldLease) get() storage.Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.l
}

func (h *heldLease) set(l storage.Lease) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.l = l
}

// processLease works on a leased instance (see workLease) and releases
// the lease, unless the work failed: then it holds it for the instance's
// backoff (leasebackoff.go).
func (e *Engine) processLease(ctx context.Context, l storage.Lease) (Work, error) {
	w, last, released, err := e.workLease(ctx, l)
	if err != nil {
		e.holdFailed(ctx, last)
		return w, err
	}
	if !released {
		e.release(ctx, last)
	}
	e.leaseFails.succeeded(l.Instance)
	return w, nil
}

// release releases leases, in one call to the store.
func (e *Engine) release(ctx context.Context, ls ...storage.Lease) {
	if len(ls) == 0 {
		return
	}
	rctx, stop := context.WithTimeout(context.WithoutCancel(ctx), releaseWithin)
	defer stop()
	if err := e.store.Release(rctx, ls...); err != nil && !errors.Is(err, storage.ErrFenced) && ctx.Err() == nil {
		e.log.Warn("engine: releasing leases failed", "leases", len(ls), "err", err)
	}
}

// workLease works on a leased instance until it has nothing ready (or
// maxLeaseRound rounds) and returns the lease as last renewed, for the
// caller to release unless released says it was (with the last
// acknowledgement, see performPending). Losing the lease (it was taken
// over: this process was too slow) ends the work without an error: the
// new holder does it. After an error the caller keeps the lease for the
// instance's backoff, else it would be claimed again at once (see
// leasebackoff.go).
func (e *Engine) workLease(ctx context.Context, l storage.Lease) (w Work, last storage.Lease, released bool, err error) {
	w.Instances = 1
	h := &heldLease{l: l}
	lctx, cancel := context.WithCancel(ctx)
	renewed := e.keepLease(lctx, cancel, h)
	defer func() {
		cancel()
		<-renewed
		last = h.get()
	}()
	defer func() {
		if r := recover(); r != nil {
			err = e.recovered(l.Instance, "", "lease", r)
		}
	}()
	for range maxLeaseRound {
		n, err := e.resumeLeased(lctx, h)
		w.Transitions += n
		if err != nil {
			return w, l, false, e.leaseErr(ctx, lctx, l, err)
		}
		p, ended, err := e.performPending(lctx, h)
		w.Transitions += p.Transitions
		w.Effects += p.Effects
		w.Retried += p.Retried
		w.DeadLetters += p.DeadLetters
		if err != nil {
			return w, l, false, e.leaseErr(ctx, lctx, l, err)
		}
		if ended == endedReleased {
			return w, l, true, nil
		}
		if ended == endedHeld || n == 0 && p.Effects == 0 && p.Transitions == 0 {
			break
		}
	}
	return w, l, false, nil
}

// leaseErr is what workLease returns for err: nothing if the lease was
// lost or the caller is stopping (the work is found again), else err. The
// loss shows as ErrFenced from a write, or as lctx, the context of the work
// on the lease, canceled by keepLease when a renewal was fenced.
func (e *Engine) leaseErr(ctx, lctx context.Context, l storage.Lease, err error) error {
	switch {
	case errors.Is(err, storage.ErrFenced), lctx.Err() != nil && ctx.Err() == nil:
		e.log.Info("engine: lease lost; another process has the instance", "instance", l.Instance, "token", l.Token)
		return nil
	case ctx.Err() != nil:
		return nil
	}
	e.log.Warn("engine: working on a leased instance failed", "instance", l.Instance, "err", err)
	return err
}

// keepLease renews h's lease at a third of its time to live until ctx
// ends; if the lease is lost it calls lost, which cancels the work on it.
// The returned channel is closed when it stops.
func (e *Engine) keepLease(ctx context.Context, lost context.CancelFunc, h *heldLease) <-chan struct{} {
	done := make(chan struct{})
	ttl := e.leases().ttl
	go func() {
		defer close(done)
		for {
			tick, stop := timerAt(e.clock, e.clock.Now().Add(ttl/3))
			select {
			case <-ctx.Done():
				stop()
				return
			case <-tick:
			}
			l, err := e.store.Renew(ctx, h.get(), e.clock.Now(), ttl)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if errors.Is(err, storage.ErrFenced) {
					lost()
					return
				}
				e.log.Warn("engine: renewing a lease failed", "instance", h.get().Instance, "err", err)
				continue
			}
			h.set(l)
		}
	}()
	return done
}

// resumeLeased resumes the leased instance while it is due, committing
// under the lease, and returns how many transitions it committed.
func (e *Engine) resumeLeased(ctx context.Context, h *heldLease) (int, error) {
	l := h.get()
	n, err := e.resumeChain(ctx, l.Instance, &l)
	if errors.Is(err, interp.ErrFinished) {
		return n, nil
	}
	return n, err
}

// runShared is Run for an engine made WithLeases: it keeps up to workers
// leases in work, claiming more as they are released, and sleeps until
// the store's next work, a wake-up from this engine or the store
// ([storage.Waker]), or the poll interval.
func (e *Engine) runShared(ctx context.Context) error {
	var wake <-chan struct{}
	if wk, ok := e.store.(storage.Waker); ok {
		ch, err := wk.Wakeups(ctx)
		if err != nil {
			e.log.Warn("engine: store wake-ups unavailable; polling", "err", err)
		} else {
			wake = ch
		}
	}
	conf := e.leases()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, e.workers)
	finished := make(chan struct{}, 1) // a lease was released: claim again
	// While leases are in work, claim again only once a quarter of the
	// workers are free: a claim per finished lease made this one goroutine,
	// with a claim and a NextWork read per lease, the limit of the engine.
	batch := max(1, e.workers/4)
	for {
		if ctx.Err() != nil {
			return nil
		}
		busy := len(slots)
		free := e.workers - busy
		if free <= 0 || (busy > 0 && free < batch) {
			// Enough in work: wait for a lease to finish (or ctx).
			select {
			case <-ctx.Done():
			case <-finished:
			}
			continue
		}
		e.sleepsUntil.Store(0) // (before the read: see dueWakes)
		leases, err := e.store.Claim(ctx, storage.ClaimRequest{Owner: conf.owner, Now: e.clock.Now(), TTL: conf.ttl, Limit: free})
		if ctx.Err() != nil {
			// Claimed as Run stopped: released, not left to hold their
			// instances from every process until they expire.
			e.release(ctx, leases...)
			return nil
		}
		if err != nil {
			e.log.Warn("engine: claiming work failed", "err", err)
		}
		for _, l := range leases {
			slots <- struct{}{}
			wg.Go(func() {
				defer func() {
					<-slots
					select {
					case finished <- struct{}{}:
					default:
					}
				}()
				_, _ = e.processLease(ctx, l) // logs its failures
			})
		}
		if len(leases) == free {
			continue // there may be more
		}
		now := e.clock.Now()
		deadline := now.Add(e.poll)
		if next, err := e.store.NextWork(ctx, now); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			e.log.Warn("engine: reading the next work time failed", "err", err)
		} else if !next.IsZero() && next.Before(deadline) {
			deadline = next
			if soonest := now.Add(minWait); deadline.Before(soonest) {
				deadline = soonest
			}
		}
		e.sleepsUntil.Store(deadline.UnixNano())
		tick, stop := timerAt(e.clock, deadline)
		select {
		case <-ctx.Done():
		case <-e.kick:
		case <-wake:
		case <-finished:
		case <-tick:
		}
		stop()
	}
}

// drainShared is Drain for an engine made WithLeases: RunDue until a call
// finds nothing to do.
func (e *Engine) drainShared(ctx context.Context) error {
	var errs []error
	for {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		w, err := e.RunDue(ctx, 64)
		if err != nil {
			errs = append(errs, err)
		}
		if w.Instances == 0 || w.Transitions+w.Effects == 0 {
			return errors.Join(errs...)
		}
	}
}
