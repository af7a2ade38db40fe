package engine

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/hostdef"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// The hot path. Under Run, the effects a transition of this engine commits
// are also handed to Run's workers in memory, right after the commit (to
// an idle worker directly, or through the run loop when all are busy), so
// that they are performed without reading the outbox. A read of the
// outbox costs a copy of, and a look at, every entry still there; with
// waits that have a setup and a teardown every event commits two effects,
// and sends spent most of their time in such passes (docs/performance.md).
// The outbox stays the truth: whatever the hot path does not hand out, a
// pass finds.
//
// The hot path hands out only what it can order without the store:
//
//   - a Setup is always the first effect of its wait (the callback is new),
//     so it goes at once;
//   - a Teardown must follow its Setup's acknowledgement, which the hot
//     path knows only for Setups it handed out itself: it goes at once if
//     that Setup is acknowledged, or right after it (by the same worker)
//     if it is in flight;
//   - RunActivity (when due) and CancelActivity wait for nothing;
//   - a finishing effect waits for every setup and teardown of its
//     instance, so it goes at once if the instance never had one (see
//     quietEnd), the common case;
//
// and asks for a pass for the rest (a finishing effect of an instance that
// had setups; a Teardown of a Setup handed out by a pass, or by another
// process, or committed with it, by a SignalWithStart whose event leaves
// the wait the start opened; an activity not yet due).
//
// The effects of a commit are claimed in the work table before the commit
// (their IDs are known by then), so no pass can hand them out: a pass that
// reads them from the outbox takes them for in flight. Whatever the hot
// path then leaves to a pass, it releases first.

const (
	maxQueued = 4096 // effects waiting for the run loop; beyond, a pass finds them
	maxSetups = 4096 // Setups remembered until their Teardown; beyond, Teardowns go to a pass
)

// hotPath hands the effects committed here to Run's workers.
type hotPath struct {
	running atomic.Bool // on, for a look without the lock

	// The bounds, maxQueued and maxSetups (set by New), lower in tests
	// that make the hot path overflow to passes, as a sender ahead of the
	// workers on a busy core does.
	queueLimit, setupLimit int

	mu     sync.Mutex
	on     bool                  // Run is driving
	jobs   chan<- job            // Run's workers, while on
	queue  []job                 // ready and claimed, for the run loop to hand out when no worker was idle
	spare  []job                 // the run loop's buffer, reused
	behind blockers              // what the last pass left effects waiting for
	setups map[orderKey]hotSetup // by value: one allocation less per Setup
}

// hotSetup is a Setup the hot path handed out.
type hotSetup struct {
	acked    bool // performed and acknowledged
	queued   bool // in a parked Teardown's group, not yet handed out (see handOff)
	teardown *job // its Teardown, waiting for it (with the rest of its commit as its group: see handOff)
}

func (h *hotPath) start(jobs chan<- job) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.on, h.jobs, h.queue, h.setups = true, jobs, nil, map[orderKey]hotSetup{}
	h.running.Store(true)
}

// close turns the hot path off before Run closes jobs: nothing is sent
// to the workers any more.
func (h *hotPath) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.on, h.jobs = false, nil
	h.running.Store(false)
}

// stop is called once Run's workers have returned: it releases the claims
// of the effects the hot path still holds (queued, or parked behind a
// Setup) for the next Run (or Drain) to find in the outbox.
func (h *hotPath) stop(w *work) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, j := range h.queue {
		w.release(j.key)
		for _, g := range j.group {
			w.release(g.key)
		}
	}
	for _, s := range h.setups {
		if t := s.teardown; t != nil {
			w.release(t.key)
			for _, g := range t.group {
				w.release(g.key)
			}
		}
	}
	h.queue, h.setups, h.behind = nil, nil, blockers{}
}

// claimHot claims the outbox entries of a transition about to be committed
// and returns them as jobs appended to buf, or nil if the hot path is off.
// entries are the entries of the first len(entries) effects of stored, as
// encodeEntries made them. (A transition commits one or two effects as a
// rule: the caller's buf, on its stack, saves an allocation per commit.)
// quiet is quietEnd of the transition.
func (e *Engine) claimHot(buf []job, entries []outbox.Entry, stored []storage.Effect, quiet bool) []job {
	if len(stored) == 0 || !e.hot.running.Load() {
		return nil
	}
	jobs := buf[:0]
	for i := range entries {
		se := &stored[i]
		jobs = append(jobs, job{key: jobKey{id: se.ID}, effect: se, oe: entries[i], hot: true, quiet: quiet})
	}
	if !e.work.claimAll(jobs) { // cannot happen: the IDs are new
		return nil
	}
	return jobs
}

// unclaim releases the claims of jobs that will not run (the commit
// failed, or the hot path will not take them).
func (e *Engine) unclaim(jobs []job) {
	for _, j := range jobs {
		e.work.release(j.key)
		e.unclaim(j.group)
	}
}

// committed is called after every successful commit of this engine, with
// the jobs claimHot returned for it (nil if none), whether it wrote
// effects, and the instance's due time. It hands the jobs out and wakes
// the run loop if it has work. ctx is the committing transition's: if it
// is a Run worker's (a *carrier), the worker may take a job itself.
func (e *Engine) committed(ctx context.Context, jobs []job, effects bool, due time.Time) {
	needPass := e.dueWakes(due) // the due index changed, before the loop's next read
	if effects {
		if jobs == nil || !e.handOff(ctx, jobs) {
			e.unclaim(jobs)
			needPass = true // the effects are for a pass to find
		}
	}
	if needPass {
		e.wake()
	}
}

// handOff hands out the claimed jobs of a commit that can go without a
// pass, releasing the claims of the others and waking the run loop for
// them. It returns false if the hot path is off (Run stopped since they
// were claimed) or full. The jobs that go wait for nothing among
// themselves (a Teardown that waits for its Setup is parked, not handed
// out), so they go together, as one job and its group, to one worker:
// one handoff between goroutines and one acknowledgement for the commit,
// instead of one each.
//
// If ctx is a Run worker's that takes a job now (see carrier), the first
// job that would go to a worker goes to that one instead: it performs the
// job when it is done with the current one, with no handoff between
// goroutines.
func (e *Engine) handOff(ctx context.Context, jobs []job) bool {
	c, _ := ctx.(*carrier)
	h := &e.hot
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.on || len(h.queue) >= h.queueLimit {
		return false // (too many waiting for a worker: a pass finds these)
	}
	now := e.clock.Now()
	needPass, queued := false, false
	// The jobs that go are moved to the front of jobs (the caller's, no
	// longer used), by index: a job is large, and each copy counts.
	n := 0
	var parked *job // the first Teardown parked behind its Setup
	for i := range jobs {
		j := &jobs[i]
		if j.oe.Kind == interp.EffectTeardown && setupIn(jobs[:i], j) {
			// Its Setup is in this commit (a SignalWithStart whose event
			// leaves the wait the start opened): parked behind it, it
			// would hold the Setup in its own group. A pass orders it
			// after the Setup's acknowledgement.
			delete(h.setups, orderKey{j.effect.Instance, j.oe.Callback})
			e.work.release(j.key)
			needPass = true
			continue
		}
		switch go_, p := h.ready(j, now, len(jobs)-1); go_ {
		case goNow:
			if n != i {
				jobs[n] = *j
			}
			n++
		case goToPass:
			e.work.release(j.key)
			needPass = true
		case goParked:
			if parked == nil {
				parked = p
			}
		}
	}
	if parked != nil {
		// Only one commit waits in a chain: the next Teardown, whose Setup
		// is then queued here, parks alone (see ready), and the Setup of
		// its commit goes at once. Otherwise every send would wait for the
		// last one's acknowledgement, a chain that on a durable store (an
		// Ack shares the next commit's transaction) runs one round per
		// commit at best and never catches up once behind.
		for i := range jobs[:n] {
			if j := &jobs[i]; j.oe.Kind == interp.EffectSetup && groupable(j) {
				key := orderKey{j.effect.Instance, j.oe.Callback}
				if s, ok := h.setups[key]; ok {
					s.queued = true
					h.setups[key] = s
				}
			}
		}
	}
	// Activities go alone (see groupable); the others as one job with the
	// rest as its group, after the activities. If a Teardown of the commit
	// waits for its Setup (in flight: sends to one instance in a row, the
	// next committed before the worker is done with the last), they wait
	// with it, to go as its group: performed after it, acknowledged with it
	// in one Ack, instead of a handoff and an Ack of their own and another
	// Ack for the Teardown. They wait for nothing, so waiting longer
	// changes no order; if the Setup fails, they go to a pass with it.
	first := parked
	for i := range jobs[:n] {
		j := &jobs[i]
		switch {
		case !groupable(j):
			queued = h.give(c, j) || queued
		case first == nil:
			first = j
		default:
			first.group = append(first.group, *j)
		}
	}
	if first != nil && first != parked {
		queued = h.give(c, first) || queued
	}
	switch {
	case needPass:
		e.wake()
	case queued:
		e.signal()
	}
	return true
}

// setupIn reports whether the Setup of Teardown t is among jobs (earlier
// jobs of its commit; those handOff moved are there twice, which changes
// nothing here).
func setupIn(jobs []job, t *job) bool {
	for i := range jobs {
		if j := &jobs[i]; j.oe.Kind == interp.EffectSetup && j.oe.Callback == t.oe.Callback && j.effect.Instance == t.effect.Instance {
			return true
		}
	}
	return false
}

// What handOff does with a job of a commit (see hotPath.ready).
const (
	goNow         = iota
	goToPass      // a pass finds it
	goParked      // it waits for its Setup, which is in flight
	goParkedAlone // it waits for its Setup, which is queued
)

// ready says what becomes of job j of a commit: it goes now, it is
// parked behind its Setup (then it returns the parked job, on the heap,
// with room for a group of up to room jobs in the same allocation), or a
// pass is left to find it. h.mu is held.
func (h *hotPath) ready(j *job, now time.Time, room int) (int, *job) {
	key := orderKey{j.effect.Instance, j.oe.Callback}
	switch j.oe.Kind {
	case interp.EffectSetup:
		if len(h.setups) < h.setupLimit {
			h.setups[key] = hotSetup{}
		}
		return goNow, nil
	case interp.EffectTeardown:
		s, ok := h.setups[key]
		switch {
		case !ok:
			return goToPass, nil
		case !s.acked:
			if s.queued {
				room = 0 // its commit's other jobs go now (see handOff)
			}
			ts := make([]job, 1, 1+room) // (a copy, so that only parked jobs are on the heap)
			t := &ts[0]
			*t = *j
			t.group = ts[1:1]
			s.teardown = t // its Setup's worker goes on with it
			h.setups[key] = s
			if s.queued {
				return goParkedAlone, nil
			}
			return goParked, t
		}
		delete(h.setups, key)
		return goNow, nil
	case interp.EffectRunActivity, interp.EffectCancelActivity:
		if j.oe.NotBefore().After(now) {
			return goToPass, nil // the pass works out when to look again
		}
		return goNow, nil
	case interp.EffectCompleted, interp.EffectFailed, interp.EffectCanceled, interp.EffectTerminated:
		if !j.quiet {
			return goToPass, nil // the pass orders it after the instance's setups and teardowns
		}
		return goNow, nil
	}
	return goToPass, nil
}

// give hands j to the worker c (if it takes one now), to an idle worker,
// or to the queue; it reports whether it queued j. h.mu is held.
func (h *hotPath) give(c *carrier, j *job) bool {
	if c != nil && c.open && c.next.effect == nil {
		c.next = *j
		return false
	}
	select {
	case h.jobs <- *j: // an idle worker took it
		return false
	default:
		h.queue = append(h.queue, *j)
		return true
	}
}

// requeue puts jobs (claimed, ready, waiting for nothing among
// themselves) back in the queue, as one job and its group, for the run
// loop to hand out; if Run is stopping, it releases them for a pass.
func (e *Engine) requeue(jobs []job) {
	j := jobs[0]
	j.group = slices.Clone(jobs[1:])
	h := &e.hot
	h.mu.Lock()
	on := h.on
	if on {
		h.queue = append(h.queue, j)
	}
	h.mu.Unlock()
	if !on {
		e.unclaim(jobs)
		e.wake()
		return
	}
	e.signal()
}

// maxGroup is the most jobs handed to a worker at once (see dispatchHot).
const maxGroup = 32

// groupable reports whether j may share a worker with other jobs: a
// RunActivity may run for long, and must not hold back the others.
func groupable(j *job) bool { return j.oe.Kind != interp.EffectRunActivity }

// dispatchHot hands out, waiting for workers, the jobs handOff queued when
// none was idle. exec returns false when the engine is stopping. Queued
// jobs wait for nothing among themselves (a Teardown whose Setup is not
// acknowledged is parked, never queued), so they go in groups of up to
// maxGroup, each performed by one worker and acknowledged in one Ack: when
// the workers fall behind the commits (sends from many goroutines on few
// cores), a handoff and an acknowledgement per job made the queue grow
// past maxQueued, and the effects beyond it went to passes, each reading
// the whole outbox.
func (e *Engine) dispatchHot(exec func(job) bool) bool {
	h := &e.hot
	h.mu.Lock()
	queue := h.queue
	h.queue = h.spare[:0]
	h.mu.Unlock()
	defer func() {
		clear(queue) // keep the buffer, not what it pointed to
		h.mu.Lock()
		h.spare = queue[:0]
		h.mu.Unlock()
	}()
	for i := 0; i < len(queue); {
		j := queue[i]
		i++
		if groupable(&j) && i < len(queue) && 1+len(j.group) < maxGroup {
			// Count the jobs that join first: a job is large, and
			// growing the group by appends allocated it about twice.
			n, k := len(j.group), i
			for k < len(queue) && groupable(&queue[k]) && 1+n+1+len(queue[k].group) <= maxGroup {
				n += 1 + len(queue[k].group)
				k++
			}
			group := make([]job, 0, n)
			group = append(group, j.group...)
			for ; i < k; i++ {
				q := queue[i]
				more := q.group
				q.group = nil
				group = append(append(group, q), more...)
			}
			j.group = group
		}
		if !exec(j) { // (exec released j and its group)
			e.unclaim(queue[i:])
			return false
		}
	}
	return true
}

// scanned records what a pass's read of the outbox left effects waiting
// for: when one of those finishes, a pass must look again.
func (h *hotPath) scanned(b blockers) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.behind = b
}

// blockers are what a pass left effects waiting for: an earlier effect of
// the same wait (by job key), or, for a finishing effect, every setup and
// teardown of its instance.
type blockers struct {
	effects   map[jobKey]bool
	instances map[string]bool
}

func (b *blockers) effect(key jobKey) {
	if b.effects == nil {
		b.effects = map[jobKey]bool{}
	}
	b.effects[key] = true
}

func (b *blockers) instance(id string) {
	if b.instances == nil {
		b.instances = map[string]bool{}
	}
	b.instances[id] = true
}

// holds reports whether j may be what an effect waits for.
func (b *blockers) holds(j *job) bool {
	return b.effects[j.key] || b.instances[j.effect.Instance]
}

// hotDone is called by the worker that performed jobs from the hot path
// (a round of doGroup), with their outcomes, under one lock. It appends
// to next the Teardowns that waited for Setups that succeeded (claimed
// when they were parked), each followed by its group, for the worker to
// perform next. It reports whether a pass must look at the store again:
// because a job failed (the pass schedules its retry), because the last
// pass left an effect waiting for one of these, or because the work
// table has many finished jobs to sweep and a pass is under way (else it
// sweeps them).
func (e *Engine) hotDone(jobs []job, errs []error, next []job) (_ []job, needPass bool) {
	h := &e.hot
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range jobs {
		j, err := &jobs[i], errs[i]
		needPass = needPass || err != nil || h.behind.holds(j)
		if j.oe.Kind != interp.EffectSetup || h.setups == nil {
			continue
		}
		key := orderKey{j.effect.Instance, j.oe.Callback}
		s, ok := h.setups[key]
		switch {
		case !ok:
		case err != nil:
			delete(h.setups, key) // a pass orders what follows
			if s.teardown != nil {
				h.releaseParked(&e.work, s.teardown)
			}
		case s.teardown == nil:
			s.acked = true
			h.setups[key] = s
		default:
			delete(h.setups, key)
			next = append(append(next, *s.teardown), s.teardown.group...)
			for _, g := range s.teardown.group { // (handed out now)
				if g.oe.Kind == interp.EffectSetup {
					gk := orderKey{g.effect.Instance, g.oe.Callback}
					if gs, ok := h.setups[gk]; ok {
						gs.queued = false
						h.setups[gk] = gs
					}
				}
			}
		}
	}
	needPass = needPass || e.work.crowded()
	return next, needPass
}

// releaseParked releases the claims of a parked Teardown and of its
// group, for a pass to find them in the outbox (in order: the pass waits
// for the failed Setup's retry). The Setups of the group are forgotten,
// and what was parked behind them is released too: no hotDone of theirs
// will come. h.mu is held.
func (h *hotPath) releaseParked(w *work, t *job) {
	w.release(t.key)
	for i := range t.group {
		g := &t.group[i]
		w.release(g.key)
		if g.oe.Kind != interp.EffectSetup {
			continue
		}
		key := orderKey{g.effect.Instance, g.oe.Callback}
		if s, ok := h.setups[key]; ok {
			delete(h.setups, key)
			if s.teardown != nil {
				h.releaseParked(w, s.teardown)
			}
		}
	}
}

// quietEnd reports whether an instance that def's transition left with
// meta m can have no setup, teardown, start-child or end-child in the
// outbox: def has no wait with a setup and no child statement, and no
// migration brought the instance from a version that may have had one. Its
// finishing effect then waits for nothing.
func quietEnd(def *dsl.Definition, m interp.Meta) bool {
	return !hostdef.Setups(def) && len(m.Migrated) == 0
}

// maxCarry bounds how many jobs in a row a worker takes itself (see
// carrier) between two jobs from Run's queue, so that a workflow that runs
// activity after activity cannot keep its worker from the jobs queued for
// the others.
const maxCarry = 8

// carrier is one of Run's workers, as the context of the jobs it performs:
// when a transition it makes commits effects, the hot path may leave the
// first ready one to it (see handOff) instead of waking another worker
// for it, a goroutine handoff per step of a workflow of activities. The
// worker performs the job right after the one that committed it, as part
// of the same group (see doGroup): acknowledged with it, in one Ack.
//
// Only the worker's own goroutine sees the carrier: a handler, activity or
// finish hook gets a context derived from it, never the carrier itself, so
// a transition made there (a Send from a setup handler, say) hands out as
// any other.
type carrier struct {
	context.Context
	acks  context.Context // what effects are acknowledged with (see ackContext)
	open  bool            // a job may be left to the worker now
	next  job             // the job left to it, if next.effect is not nil
	taken int             // jobs taken since the worker last took one from Run's queue
}

// ackFree reports whether delaying the acknowledgement of an effect of
// kind k, performed, holds back nothing but its removal from the outbox:
// no later effect waits for it (see orderedKind, and the hot path's
// Teardowns, which wait for their Setup's acknowledgement). A worker takes
// a job itself (see carrier) only after such effects, because the job's
// own run delays their acknowledgement.
func ackFree(k interp.EffectKind) bool {
	switch k {
	case interp.EffectRunActivity, interp.EffectCancelActivity,
		interp.EffectCompleted, interp.EffectFailed, interp.EffectCanceled, interp.EffectTerminated:
		return true
	}
	return false
}
