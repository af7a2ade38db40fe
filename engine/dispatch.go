package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// A pass reads the due index and the outbox and hands every job that is
// ready to exec. Run's exec queues the job for a worker goroutine; Drain's
// runs it inline. Everything else (what is ready, ordering, retries) is
// this one code path.

// jobKey names a job: the resume of an instance, or an outbox effect (by
// its ID). A struct, not a string such as "resume "+ID, so that no instance
// ID can make the two collide and naming a job allocates nothing.
type jobKey struct {
	resume bool
	id     string
}

// String is how logs show the job.
func (k jobKey) String() string {
	if k.resume {
		return "resume " + k.id
	}
	return "effect " + k.id
}

// job is one unit of work: resume a due instance, or perform an outbox effect.
type job struct {
	key      jobKey          // names the job in the work table
	instance string          // the instance to resume, when effect is nil
	effect   *storage.Effect // the outbox entry to perform
	oe       outbox.Entry    // effect, decoded
	bad      error           // the effect did not decode
	hot      bool            // handed out by the hot path (see hotPath)
	quiet    bool            // hot: the instance never had a setup, so its end waits for nothing (see quietEnd)
	lease    *storage.Lease  // the lease it is performed under (leases.go), or nil
	noDead   bool            // leased: its instance has no dead letters (see performPending)
	group    []job           // more hot jobs of the same commit, for the same worker (see handOff)
}

const (
	firstBatch = 256     // entries read from the due index or outbox per pass
	lastBatch  = 1 << 16 // the most, when everything read was waiting
	// notDueHold keeps an instance that the due index listed but that had
	// nothing due from being resumed again at once: the index keeps due
	// times at microsecond precision, so it can be up to 1µs early.
	notDueHold = time.Microsecond
)

// pass hands ready jobs to exec (which returns false to stop the pass) and
// returns the earliest time at which something it skipped becomes ready
// (zero if none). Due instances are looked for up to now+horizon, so that
// the next due time is known.
func (e *Engine) pass(ctx context.Context, now time.Time, horizon time.Duration, exec func(job) bool) (time.Time, error) {
	e.work.sweep(now.Add(-e.backoff.max))
	defer e.work.passDone()
	var next time.Time
	soon := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if err := e.guard("due scan", func() error { return e.scanDue(ctx, now, horizon, exec, soon) }); err != nil {
		return next, err
	}
	return next, e.guard("outbox scan", func() error { return e.scanOutbox(ctx, now, exec, soon) })
}

// guard runs f, turning a panic (in the store, say) into a *PanicError.
func (e *Engine) guard(op string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = e.recovered("", "", op, r)
		}
	}()
	return f()
}

// scanDue resumes instances whose due time has passed.
func (e *Engine) scanDue(ctx context.Context, now time.Time, horizon time.Duration, exec func(job) bool, soon func(time.Time)) error {
	// Pages read on from the last entry (storage.Pages): a page whose
	// entries are all in flight is not read again, and the next page is
	// twice as large. A pass goes on reading while it finds work, up to
	// maxHanded instances handed out or about lastBatch entries read; the
	// next pass reads from the top again. (A pass that stopped at its first
	// page with work read every instance in flight again for each page's
	// worth of work: with 512 workers, W4's 20,000 timers firing at once
	// went three times slower than with 128.)
	var after storage.Due
	handed := 0
	for limit, read := firstBatch, 0; ; {
		due, err := storage.DueAfter(ctx, e.store, now.Add(horizon), after, limit)
		if err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		read += len(due)
		started, sawLater := 0, false
		for _, d := range due {
			after = d
			if d.At.After(now) {
				soon(d.At)
				sawLater = true
				break
			}
			j := job{key: jobKey{resume: true, id: d.ID}, instance: d.ID}
			if ok, retry := e.work.claim(j.key, now); !ok {
				soon(retry)
				continue
			}
			if !exec(j) {
				return ctx.Err()
			}
			started++
		}
		handed += started
		if sawLater || len(due) < limit || read >= lastBatch || handed >= maxHanded {
			if !sawLater && len(due) == limit {
				e.rescan.Store(true) // more may be due past this page: the next pass reads on
			}
			return nil
		}
		if started == 0 {
			limit *= 2
		}
	}
}

// maxHanded bounds the due instances one pass hands out: between passes,
// the run loop hands out the effects the hot path queued.
const maxHanded = 4096

// orderKey says which earlier effects an effect must wait for. Effects of
// one pending wait (same instance and callback: its Setup and Teardown) are
// performed in outbox order, and an instance's finishing effect after its
// setups and teardowns. Activity effects wait for nothing: a RunActivity
// checks that its result is still wanted, and CancelActivity only stops a
// running attempt.
type orderKey struct {
	instance string
	callback uint64 // 0: the whole instance
}

// scanOutbox performs effects that are ready.
func (e *Engine) scanOutbox(ctx context.Context, now time.Time, exec func(job) bool, soon func(time.Time)) error {
	// As scanDue, page after page, each read on from the last (the order
	// rules below see the outbox in order across pages).
	blocked := map[orderKey]jobKey{} // wait (or instance, callback 0) -> the first ordered effect's job key
	var behind blockers              // what later effects were left waiting for
	var after uint64
	for limit, read := firstBatch, 0; ; limit *= 2 {
		effects, err := storage.OutboxAfter(ctx, e.store, after, limit)
		if err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		read += len(effects)
		stuck := false // a store that does not number its effects (Seq) cannot page
		if len(effects) > 0 {
			last := effects[len(effects)-1].Seq
			stuck, after = last <= after, last
		}
		started := 0
		for i := range effects {
			j := e.seen.job(effects[i])
			se := j.effect
			k := j.oe.Kind
			ordered := orderedKind(k)
			finishing := outbox.Ends(k)
			if first, ok := blocked[orderKey{se.Instance, j.oe.Callback}]; ordered && ok {
				if !e.work.busy(j.key) { // (a Teardown the hot path holds for its Setup is busy)
					behind.effect(first)
				}
				continue
			}
			if _, ok := blocked[orderKey{se.Instance, 0}]; finishing && ok {
				behind.instance(se.Instance)
				continue
			}
			if ordered {
				// Whatever happens to this one, later effects of the same
				// wait and the instance's end wait until it is acknowledged.
				blocked[orderKey{se.Instance, j.oe.Callback}] = j.key
				blocked[orderKey{se.Instance, 0}] = j.key
			}
			if k == interp.EffectRunActivity && j.bad == nil && j.oe.NotBefore().After(now) {
				soon(j.oe.NotBefore())
				continue
			}
			if ok, retry := e.work.claim(j.key, now); !ok {
				soon(retry)
				continue
			}
			if !exec(j) {
				return ctx.Err()
			}
			started++
		}
		if started > 0 || len(effects) < limit || read >= lastBatch || stuck {
			if len(effects) == limit {
				e.rescan.Store(true) // more may be ready past this page
			}
			e.seen.forgetUnseen()
			e.hot.scanned(behind)
			return nil
		}
	}
}

// seenOutbox keeps the outbox entries that the last scan read, decoded, by
// effect ID, so that an entry waiting in the outbox for many passes (in
// flight, blocked behind an earlier effect, backing off) is decoded once.
// Only the driver (Run's loop or Drain, never both) uses it.
type seenOutbox struct {
	scan    uint64
	entries map[string]*seenEffect
}

type seenEffect struct {
	j    job
	scan uint64 // the last scan that read it
}

// job returns the job for an entry read from the outbox, decoding it only
// if it was not read before. An entry is known by its ID and its bytes:
// IDs are unique among unacknowledged effects, and comparing the bytes
// keeps even a reused ID from being taken for the old entry.
func (s *seenOutbox) job(se storage.Effect) job {
	if s.entries == nil {
		s.entries = map[string]*seenEffect{}
	}
	if c := s.entries[se.ID]; c != nil && c.j.effect.Instance == se.Instance && bytes.Equal(c.j.effect.Data, se.Data) {
		c.scan = s.scan
		return c.j
	}
	j := job{key: jobKey{id: se.ID}, effect: &se}
	j.oe, j.bad = outbox.Decode(se)
	s.entries[se.ID] = &seenEffect{j: j, scan: s.scan}
	return j
}

// forgetUnseen ends a scan: entries it did not read (acknowledged, or
// beyond the part of the outbox it read) are dropped, so the table holds
// at most one scan's entries.
func (s *seenOutbox) forgetUnseen() {
	for id, c := range s.entries {
		if c.scan != s.scan {
			delete(s.entries, id)
		}
	}
	s.scan++
}

// do runs a job and records its outcome in the work table. It reports
// whether the job made progress: an accepted transition or an acknowledged
// effect.
func (e *Engine) do(ctx context.Context, j *job) (progress bool, err error) {
	defer func() {
		// The last line of defence of Run's workers: a panic here (in the
		// Metrics hook or the logger, say) must not end the process. The
		// job is retried.
		if r := recover(); r != nil {
			err = e.recoveredJob(j, r)
		}
	}()
	var hold time.Time
	if j.effect == nil {
		progress, err = e.resumeDue(ctx, j.instance)
		if err == nil && !progress {
			hold = e.clock.Now().Add(notDueHold)
		}
	} else {
		err = e.performContained(ctx, j)
		progress = err == nil
	}
	e.settle(ctx, j, err, hold)
	if errors.Is(err, errDeadAhead) {
		return true, nil // dead-lettered with what it waits behind: not a failure
	}
	return progress, err
}

// passAfter reports whether a job that a pass handed out leaves work for
// the next pass: a failure (the pass schedules its retry), an instance
// held because nothing was due, an effect (later effects of its wait or
// its instance's end may wait for it), or many finished jobs to sweep from
// the work table (see sweepFinished). A resume that committed leaves
// nothing: its commits asked for a pass if they left anything for one
// (see eventFor.chain), and without this check every resume job ended
// with a read of the due index and the outbox that found its fellows in
// flight.
func (e *Engine) passAfter(j job, progress bool, err error) bool {
	if err != nil || !progress || j.effect != nil {
		return true
	}
	return e.work.crowded()
}

// recoveredJob turns a panic while running j into a *PanicError and
// schedules j's retry.
func (e *Engine) recoveredJob(j *job, r any) error {
	id := j.instance
	if j.effect != nil {
		id = j.effect.Instance
	}
	err := e.recovered(id, j.oe.Workflow, "job", r)
	_, _ = e.work.failed(j.key, e.clock.Now(), e.backoff)
	return err
}

// settle records the outcome of a job in the work table: finished (held
// until hold, if not zero) or failed, to be retried with backoff.
func (e *Engine) settle(ctx context.Context, j *job, err error, hold time.Time) {
	if ctx.Err() != nil {
		// Stopping: not a failure of the job, and nothing to retry here.
		e.work.finish(j.key, time.Time{})
		return
	}
	if j.effect != nil {
		e.metrics.Effect(j.oe.Workflow, j.oe.Kind, err)
	}
	if errors.Is(err, errDeadAhead) {
		if e.deadLetterUnleased(ctx, j.effect, 0, err) {
			e.work.finish(j.key, time.Time{})
		} else {
			e.work.finish(j.key, e.clock.Now().Add(e.backoff.max)) // look again later
		}
		return
	}
	if err != nil {
		retry, failures := e.work.failed(j.key, e.clock.Now(), e.backoff)
		if j.effect != nil && e.maxAttempts > 0 && failures >= e.maxAttempts && e.deadLetterUnleased(ctx, j.effect, failures, err) {
			return
		}
		e.log.Warn("engine: job failed", "job", j.key.String(), "retry", retry, "err", err)
		return
	}
	e.work.finish(j.key, hold)
}

// doGroup performs outbox effects that wait for nothing among themselves
// (the effects of one commit that the hot path handed out together) and
// acknowledges those that succeeded in one Ack, so that a commit's
// effects cost one acknowledgement, one write transaction on a durable
// store, instead of one each. It returns jobs with the jobs the worker c
// took on the way (see carrier) appended, and errs (a buffer, appended
// to from empty) with the outcome of each; ids is a buffer for the IDs to
// acknowledge (the worker's, reused), returned for reuse.
//
// The worker takes a job only while performing the last job of the group
// so far, fewer than maxCarry taken in a row (c.taken), all of the group's
// effects so far ackFree: the taken job runs before their
// acknowledgement.
func (e *Engine) doGroup(c *carrier, jobs []job, errs []error, ids []string) ([]job, []error, []string) {
	errs, ids = errs[:0], ids[:0]
	free := true
	for i := 0; i < len(jobs); i++ {
		// (Jobs by pointer: a job is large, and copies of it were a good
		// part of the cost of a setup-bearing send. jobs may grow below,
		// so the pointer is not kept past the call.)
		id := jobs[i].effect.ID
		free = free && ackFree(jobs[i].oe.Kind)
		c.open = free && c.taken < maxCarry && i == len(jobs)-1
		err := e.effectContained(c, &jobs[i])
		c.open = false
		if c.next.effect != nil {
			jobs = append(append(jobs, c.next), c.next.group...)
			c.next = job{}
			c.taken++
		}
		if errs = append(errs, err); err == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		if err := e.ackContained(c, ids); err != nil {
			for i := range errs {
				if errs[i] == nil {
					errs[i] = err
				}
			}
		}
	}
	for i := range jobs {
		func() {
			defer func() {
				if r := recover(); r != nil {
					errs[i] = e.recoveredJob(&jobs[i], r)
				}
			}()
			e.settle(c, &jobs[i], errs[i], time.Time{})
		}()
	}
	return jobs, errs, ids
}

// effectContained is effect, with a panic recovered into a *PanicError.
func (e *Engine) effectContained(ctx context.Context, j *job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = e.recovered(j.effect.Instance, j.oe.Workflow, "effect", r)
		}
	}()
	return e.effect(ctx, j)
}

// ackContained is ack, with a panic recovered into a *PanicError.
func (e *Engine) ackContained(ctx context.Context, ids []string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = e.recovered("", "", "effect", r)
		}
	}()
	return e.ack(ctx, ids...)
}

// performContained is perform, with a panic (in the store's Ack, say)
// recovered into a *PanicError: the effect stays in the outbox and is
// retried with backoff.
func (e *Engine) performContained(ctx context.Context, j *job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = e.recovered(j.effect.Instance, j.oe.Workflow, "effect", r)
		}
	}()
	return e.perform(ctx, j)
}

// perform performs one outbox effect and, once it succeeded, acknowledges it.
func (e *Engine) perform(ctx context.Context, j *job) error {
	if err := e.effect(ctx, j); err != nil {
		return err
	}
	return e.ack(ctx, j.effect.ID)
}

// effect performs one outbox effect, without acknowledging it.
func (e *Engine) effect(ctx context.Context, j *job) error {
	if j.bad != nil {
		return j.bad
	}
	if err := e.checkDeadAhead(ctx, j); err != nil {
		return err
	}
	oe := &j.oe
	info := infoOf(oe, j.effect.ID, j.effect.Instance)
	if j.lease != nil {
		info.Fence = j.lease.Token
	}
	hctx := ctx // (an activity gets the ID on its attempt's context, in runActivity)
	if oe.Kind != interp.EffectRunActivity && oe.Kind != interp.EffectCancelActivity {
		hctx = withEffectID(ctx, info.ID)
	}
	var err error
	switch oe.Kind {
	case interp.EffectSetup, interp.EffectTeardown:
		err = e.setupOrTeardown(hctx, info)
	case interp.EffectRunActivity:
		err = e.runActivity(ctx, info, oe, j.lease)
	case interp.EffectCancelActivity:
		e.work.running.cancel(attemptKey{info.Instance, oe.Callback})
	case interp.EffectCompleted, interp.EffectFailed, interp.EffectCanceled, interp.EffectTerminated:
		if e.finish != nil {
			err = protect(info, func() error { return e.finish(hctx, info) })
		}
		if err == nil {
			err = e.childEnded(ctx, info.Instance, oe)
		}
	case interp.EffectStartChild:
		if e.children != nil {
			err = protect(info, func() error { return e.children.StartChild(hctx, info) })
		} else {
			err = e.startChild(ctx, info.Instance, oe)
		}
	case interp.EffectEndChild:
		if e.children != nil {
			err = protect(info, func() error { return e.children.EndChild(hctx, info) })
		} else {
			err = e.endChild(ctx, info.Instance, oe)
		}
	case wakeupKind:
		err = e.wakeup(hctx, info)
	default:
		// Perhaps written by a newer engine: keep it for one that knows it.
		err = fmt.Errorf("engine: effect %s: unknown kind %d", info.ID, oe.Kind)
	}
	return err
}

// work is the engine's in-memory table of jobs: which are in flight, when
// failed ones may run again, and which activity attempts are running. It is
// not durable and need not be: after a restart every unacknowledged effect
// and every due instance is simply found again.
type work struct {
	mu       sync.Mutex
	inflight jobMap[bool] // job key -> finished; finished entries are dropped by the next sweep
	done     []jobKey     // the finished entries of inflight
	unswept  atomic.Int64 // len(done), for a look without the lock
	sweepAt  int64        // sweepEvery (set by New), lower in tests
	retry    jobMap[retryState]
	passing  bool     // a pass is between its sweep and its end
	running  attempts // the running activity attempts, under a lock of their own (activity.go)
}

// jobMap is a map keyed by jobKey, kept as one map per kind of job keyed
// by the ID: the runtime hashes and compares a string key on its fast
// path, a struct key through the generic one. Its maps are made at the
// first set (an engine that never runs jobs makes none).
type jobMap[V any] struct{ effects, resumes map[string]V }

func (m *jobMap[V]) of(k jobKey) map[string]V {
	if k.resume {
		return m.resumes
	}
	return m.effects
}

func (m *jobMap[V]) get(k jobKey) (V, bool) {
	v, ok := m.of(k)[k.id]
	return v, ok
}

func (m *jobMap[V]) set(k jobKey, v V) {
	p := &m.effects
	if k.resume {
		p = &m.resumes
	}
	if *p == nil {
		*p = make(map[string]V)
	}
	(*p)[k.id] = v
}

func (m *jobMap[V]) delete(k jobKey) { delete(m.of(k), k.id) }

// deleteIf deletes the entries whose value f accepts.
func (m *jobMap[V]) deleteIf(f func(V) bool) {
	for _, mm := range [2]map[string]V{m.effects, m.resumes} {
		for k, v := range mm {
			if f(v) {
				delete(mm, k)
			}
		}
	}
}

// sweepEvery is how many finished jobs make the hot path sweep the table
// (see sweepFinished): it must not grow between passes.
const sweepEvery = 4096

// crowded sweeps the finished jobs from the table once there are
// sweepEvery of them, and reports whether it could not because a pass is
// under way: then the next pass must (it sweeps first).
func (w *work) crowded() bool {
	return w.unswept.Load() >= w.sweepAt && !w.sweepFinished()
}

type retryState struct {
	failures int
	next     time.Time
}

// sweep forgets finished jobs, and retry times older than stale (jobs
// that were not tried again: their effect was acknowledged elsewhere, or
// the instance is no longer due). It runs at the start of a pass, before
// the store is read: a job finished before the read no longer shows there
// (it was acknowledged, or the instance committed), and one finishing after
// it is still in flight and skipped. So no effect is handed out twice.
func (w *work) sweep(stale time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, k := range w.done {
		w.inflight.delete(k)
	}
	clear(w.done)
	w.done = w.done[:0]
	w.unswept.Store(0)
	w.retry.deleteIf(func(r retryState) bool { return r.next.Before(stale) })
	w.passing = true
}

// passDone ends a pass: no read of the store made before it is in use.
func (w *work) passDone() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.passing = false
}

// sweepFinished forgets finished jobs, as a pass's sweep does, unless a
// pass is under way: one that read the store before a job finished may
// still see its effect there and must find it in flight. With no pass
// under way, the next one reads the store after this, when a finished
// effect is acknowledged (or held back by its retry time). So the hot
// path keeps the table small without a pass, whose read of a long outbox
// (every entry in flight, when sends run ahead of the effects) cost more
// than the sweep. It reports whether it swept.
func (w *work) sweepFinished() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.passing {
		return false
	}
	for _, k := range w.done {
		w.inflight.delete(k)
	}
	clear(w.done)
	w.done = w.done[:0]
	w.unswept.Store(0)
	return true
}

// claim marks a job in flight unless it already is or must wait for a
// retry; then it returns false and when to look again (zero: when woken).
func (w *work) claim(key jobKey, now time.Time) (bool, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, busy := w.inflight.get(key); busy {
		return false, time.Time{}
	}
	if r, ok := w.retry.get(key); ok && r.next.After(now) {
		return false, r.next
	}
	w.inflight.set(key, false)
	return true, time.Time{}
}

// finish records a job that succeeded; hold, if not zero, is the earliest
// time it may run again.
func (w *work) finish(key jobKey, hold time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if hold.IsZero() {
		w.retry.delete(key)
		if !w.passing {
			// As sweepFinished would: no pass read the store before the
			// job finished, so the claim can go at once. The table then
			// holds only what is in flight (with a setup and a teardown per
			// send, it held thousands of finished entries between sweeps,
			// each insert and lookup probing the larger table and the
			// collector scanning it).
			w.inflight.delete(key)
			return
		}
	} else {
		w.retry.set(key, retryState{next: hold})
	}
	w.finished(key)
}

// failed records a failed job and returns when it may be retried and how
// many times it failed in a row.
func (w *work) failed(key jobKey, now time.Time, b backoff) (time.Time, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.finished(key)
	r, _ := w.retry.get(key)
	r.failures++
	r.next = now.Add(b.delay(r.failures))
	w.retry.set(key, r)
	return r.next, r.failures
}

// finished marks a job in flight as finished, once. The caller holds w.mu.
func (w *work) finished(key jobKey) {
	if done, ok := w.inflight.get(key); ok && done {
		return
	}
	w.inflight.set(key, true)
	w.done = append(w.done, key)
	w.unswept.Add(1)
}

// busy reports whether a job is claimed and not finished.
func (w *work) busy(key jobKey) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	done, ok := w.inflight.get(key)
	return ok && !done
}

// claimAll claims jobs that nothing can have claimed yet (the effects of
// a commit about to be made) under one lock, or none of them.
func (w *work) claimAll(jobs []job) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, j := range jobs {
		if _, busy := w.inflight.get(j.key); busy {
			for _, c := range jobs[:i] {
				w.inflight.delete(c.key)
			}
			return false
		}
		w.inflight.set(j.key, false)
	}
	return true
}

// release returns a claimed job that was never run.
func (w *work) release(key jobKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inflight.delete(key)
}

// backoff is the retry schedule of failed jobs: initial, doubling, capped at max.
type backoff struct{ initial, max time.Duration }

func (b backoff) delay(failures int) time.Duration {
	d := b.initial
	for i := 1; i < failures && d < b.max; i++ {
		d *= 2
	}
	return min(d, b.max)
}
