package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/cborhead"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// KeepForever is a retention period that never ends: [WithWorkflowRetention]
// with it keeps a workflow's finished instances although [WithRetention]
// sets a period for the others.
const KeepForever = time.Duration(math.MaxInt64)

// DefaultRetentionInterval is how often [Engine.Run] looks for expired
// instances unless [WithRetentionInterval] says otherwise.
const DefaultRetentionInterval = 10 * time.Minute

// retention is what the retention options set.
type retention struct {
	all      time.Duration            // every workflow's period; 0: keep forever
	workflow map[string]time.Duration // periods of single workflows, over all
	interval time.Duration            // between Run's sweeps; 0: DefaultRetentionInterval
}

// enabled reports whether some workflow's finished instances expire.
func (r *retention) enabled() bool {
	if r.all > 0 && r.all != KeepForever {
		return true
	}
	for _, d := range r.workflow {
		if d != KeepForever {
			return true
		}
	}
	return false
}

// of returns the retention period of workflow's instances; 0 means keep
// them.
func (r *retention) of(workflow string) time.Duration {
	d, ok := r.workflow[workflow]
	if !ok {
		d = r.all
	}
	if d == KeepForever {
		return 0
	}
	return d
}

// WithRetention deletes finished instances (completed, failed, canceled
// or terminated) d after they finished, in the background of [Engine.Run] and
// in [Engine.GC]; an instance whose effects are not all performed is kept
// until they are (see [Engine.GC]). d must be positive. Without it (and
// without [WithWorkflowRetention]) finished instances are kept forever,
// the default: see docs/lifecycle.md for why. A deleted instance leaves a
// tombstone with its numbering: an instance started again with its ID
// continues it, so its effect IDs and callbacks are new (as for
// [WithIDReuse]).
func WithRetention(d time.Duration) Option {
	return func(e *Engine) error {
		if d <= 0 {
			return invalid("WithRetention", d, "the retention period must be positive (leave the option out to keep instances forever)")
		}
		e.retention.all = d
		return nil
	}
}

// WithWorkflowRetention sets the retention period of one workflow's
// finished instances, over [WithRetention]'s: d must be positive, and
// [KeepForever] keeps them. The workflow need not be registered (a tool
// may collect instances of definitions it does not load).
func WithWorkflowRetention(workflow string, d time.Duration) Option {
	return func(e *Engine) error {
		if workflow == "" {
			return invalid("WithWorkflowRetention", fmt.Sprintf("%q, %v", workflow, d), "the workflow name must not be empty")
		}
		if d <= 0 {
			return invalid("WithWorkflowRetention", fmt.Sprintf("%q, %v", workflow, d), "the retention period must be positive (KeepForever keeps the instances)")
		}
		if e.retention.workflow == nil {
			e.retention.workflow = map[string]time.Duration{}
		}
		e.retention.workflow[workflow] = d
		return nil
	}
}

// WithRetentionInterval sets how often [Engine.Run] deletes expired
// instances (default [DefaultRetentionInterval]); d must be positive. An
// instance is deleted at most about d after its retention period ends.
func WithRetentionInterval(d time.Duration) Option {
	return func(e *Engine) error {
		if d <= 0 {
			return invalid("WithRetentionInterval", d, "the interval must be positive")
		}
		e.retention.interval = d
		return nil
	}
}

// markEnded returns host with the instance's end time set to at, unless
// it has one.
func markEnded(id string, host []byte, at time.Time) ([]byte, error) {
	if len(host) == 0 && at.UnixNano() != 0 {
		// The common case, written by hand: what codec.Marshal writes for
		// hostData{Ended: at.UnixNano()}, a map of one pair (a property
		// test holds the two together).
		return cborhead.Int(append(make([]byte, 0, 11), 0xa1, 2), at.UnixNano()), nil
	}
	h, err := decodeHost(id, host)
	if err != nil {
		return nil, err
	}
	if h.Ended != 0 {
		return host, nil
	}
	h.Ended = at.UnixNano()
	b, err := codec.Marshal(h)
	if err != nil {
		return nil, opErr("", "", id, err)
	}
	return b, nil
}

// endedOnly reports whether host is exactly what markEnded writes by hand
// for an instance that had no host data: a map of one pair, the end time,
// so no parent link. The end of every parentless instance looks that up
// (keepsEnd), and a decode of the host data cost it an allocation.
func endedOnly(host []byte) bool {
	if len(host) < 3 || host[0] != 0xa1 || host[1] != 2 || host[2]>>5 > 1 {
		return false // not {2: an integer}
	}
	size := 0 // of the integer's head beyond its first byte
	switch info := host[2] & 0x1f; {
	case info < 24:
	case info <= 27:
		size = 1 << (info - 24)
	default:
		return false
	}
	return len(host) == 3+size
}

// startHost is the host data of a new run whose start transition gave
// res at time at: its end time if the run finished at once, else none.
func startHost(id string, res interp.Result, at time.Time) ([]byte, error) {
	if !res.Meta.Status.Finished() {
		return nil, nil
	}
	return markEnded(id, nil, at)
}

// GCReport says what [Engine.GC] did.
type GCReport struct {
	// Deleted counts the instances deleted.
	Deleted int
	// Held counts the expired instances kept because some of their effects
	// are still in the outbox or dead-lettered: they go once those are
	// acknowledged (or the dead letters requeued and performed).
	Held int
	// Dated counts finished instances that had no end time, written by a
	// weft that did not keep one: GC gave them the time it found them as
	// their end time, so their retention runs from then.
	Dated int
}

// finishedStatuses are the statuses ([interp.Status.String]) of instances
// that accept no more events.
var finishedStatuses = func() []string {
	var out []string
	for s := range interp.Status(math.MaxUint8) {
		if s.Finished() {
			out = append(out, s.String())
		}
	}
	return out
}()

// GC deletes the finished instances whose retention period (see
// [WithRetention], [WithWorkflowRetention]) has ended at the engine's
// clock: completed, failed, canceled and terminated ones, from the time
// they finished (a new run of a reused ID counts from its own end). It never loses an instance's effects: an instance with an
// effect still in the outbox or among the dead letters is kept (and
// counted in GCReport.Held) until they are gone, and the store deletes
// only the version GC read (see [storage.Retention]), so an instance that
// changed meanwhile is left for the next GC.
//
// [Engine.Run] calls it in the background every [WithRetentionInterval],
// in one process at a time on a store shared by several ([storage.Locker]);
// tools call it directly (weft gc). Without a retention period it does
// nothing. It reads every finished instance of the workflows with one. It
// returns what it did so far and the first error that stopped it.
func (e *Engine) GC(ctx context.Context) (rep GCReport, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = e.recovered("", "", "gc", r)
		}
	}()
	if !e.retention.enabled() {
		return rep, nil
	}
	var filters []storage.Filter
	for _, st := range finishedStatuses {
		if e.retention.all > 0 && e.retention.all != KeepForever {
			filters = append(filters, storage.Filter{Status: st})
			continue
		}
		for w, d := range e.retention.workflow {
			if d != KeepForever {
				filters = append(filters, storage.Filter{Workflow: w, Status: st})
			}
		}
	}
	for _, f := range filters {
		q := storage.Query{Filter: f, Limit: 256}
		for {
			page, err := e.store.Find(ctx, q)
			if err != nil {
				return rep, fmt.Errorf("engine: gc: %w", err)
			}
			if err := e.expirePage(ctx, page.Instances, &rep); err != nil {
				return rep, err
			}
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
	}
	return rep, nil
}

// gcParallel is how many deletes GC has in flight at once, so that a
// store with group commit (storage/bolt) shares its syncs among them.
const gcParallel = 16

// expirePage runs expire on every instance of a page, gcParallel at a
// time, and returns the first error.
func (e *Engine) expirePage(ctx context.Context, page []storage.Instance, rep *GCReport) error {
	if len(page) == 1 {
		// Nothing to overlap: no goroutine to start (and grow a stack for).
		var r GCReport
		err := e.expire(ctx, page[0], &r)
		rep.Deleted, rep.Held, rep.Dated = rep.Deleted+r.Deleted, rep.Held+r.Held, rep.Dated+r.Dated
		return err
	}
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	next := make(chan storage.Instance)
	for range min(gcParallel, len(page)) {
		wg.Go(func() {
			for si := range next {
				var r GCReport
				err := e.expire(ctx, si, &r)
				mu.Lock()
				rep.Deleted, rep.Held, rep.Dated = rep.Deleted+r.Deleted, rep.Held+r.Held, rep.Dated+r.Dated
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	for _, si := range page {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			break
		}
		next <- si
	}
	close(next)
	wg.Wait()
	return first
}

// expire deletes the finished instance si if its retention has ended, or
// dates it if it has no end time.
func (e *Engine) expire(ctx context.Context, si storage.Instance, rep *GCReport) error {
	keep := e.retention.of(si.Workflow)
	if keep == 0 {
		return nil
	}
	l, err := decodeStored(si)
	if err != nil {
		return err
	}
	if !l.meta.Status.Finished() {
		return nil // the listed status is the store's copy of the meta's; trust the meta
	}
	h, err := decodeHost(si.ID, l.rec.Host)
	if err != nil {
		return err
	}
	now := e.clock.Now()
	if h.Ended == 0 {
		return e.date(ctx, l, now, rep)
	}
	if now.Before(time.Unix(0, h.Ended).Add(keep)) {
		return nil
	}
	tomb, err := tombstoneOf(si.ID, l.rec.Workflow, &l.meta) // what a new instance with its ID continues (tombstone.go)
	if err != nil {
		return err
	}
	err = e.store.Delete(ctx, si.ID, si.Version, tomb)
	e.cache.drop(si.ID)
	switch {
	case err == nil:
		rep.Deleted++
		e.log.Debug("engine: deleted an expired instance", "instance", si.ID, "workflow", si.Workflow)
	case errors.Is(err, storage.ErrHasEffects):
		rep.Held++
	case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrNotFound):
		// Changed or gone since GC read it: the next GC decides.
	default:
		return opErr("gc", "", si.ID, err)
	}
	return nil
}

// date commits now as the end time of a finished instance that has none.
func (e *Engine) date(ctx context.Context, l loaded, now time.Time, rep *GCReport) error {
	id := l.stored.ID
	host, err := markEnded(id, l.rec.Host, now)
	if err != nil {
		return err
	}
	rec := l.rec
	rec.Host = host
	data, err := codec.EncodeRecord(rec)
	if err != nil {
		return opErr("gc", "", id, err)
	}
	inst := l.stored
	inst.Data = data
	_, err = e.store.Commit(ctx, storage.Commit{Instance: inst, Expect: l.stored.Version})
	e.cache.drop(id)
	switch {
	case err == nil:
		rep.Dated++
	case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrNotFound):
	default:
		return opErr("gc", "", id, err)
	}
	return nil
}

// retentionLock names the lock under which one process at a time deletes
// expired instances (see storage.Locker).
const retentionLock = "weft.retention"

// startRetention runs GC in the background of Run, at once and then every
// retention interval, until ctx ends; the returned function stops it and
// waits for it.
func (e *Engine) startRetention(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		interval := e.retention.interval
		if interval == 0 {
			interval = DefaultRetentionInterval
		}
		for {
			next := e.clock.Now().Add(interval)
			e.sweep(ctx)
			tick, stopTimer := timerAt(e.clock, next)
			select {
			case <-ctx.Done():
				stopTimer()
				return
			case <-tick:
			}
			stopTimer()
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// sweep is one GC of Run's, under the retention lock if the store has
// one: a process that finds it held leaves the sweep to its holder.
func (e *Engine) sweep(ctx context.Context) {
	if lk, ok := e.store.(storage.Locker); ok {
		l, held, err := lk.TryLock(ctx, retentionLock)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("engine: taking the retention lock failed; not deleting expired instances now", "err", err)
			}
			return
		}
		if !held {
			return
		}
		defer l.Unlock()
		lockCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-l.Lost():
				cancel()
			case <-lockCtx.Done():
			}
		}()
		ctx = lockCtx
	}
	rep, err := e.GC(ctx)
	if err != nil && ctx.Err() == nil {
		e.log.Error("engine: deleting expired instances", "deleted", rep.Deleted, "err", err)
	} else if rep.Deleted+rep.Held+rep.Dated > 0 {
		e.log.Info("engine: deleted expired instances", "deleted", rep.Deleted, "held", rep.Held, "dated", rep.Dated)
	}
}
