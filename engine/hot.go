package engine

import (
	"sync"
	"time"

	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// The hot path. Under Run, the effects a transition of this engine commits
// are also handed to the run loop in memory, so that it performs them
// without reading the outbox. Reading it costs a copy and a look at every
// entry still there, on every pass; with waits that have a setup and a
// teardown, every event commits two effects, and sends spent most of their
// time in those passes (docs/performance.md). The outbox stays the truth:
// whatever the hot path does not hand out, a pass finds.
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
//
// and asks for a pass for the rest (a finishing effect, which waits for
// every setup and teardown of its instance; a Teardown of a Setup handed
// out by a pass, or by another process; an activity not yet due).
//
// The effects of a commit are claimed in the work table before the commit
// (their IDs are known by then), so no pass can hand them out: a pass that
// reads them from the outbox takes them for in flight. Whatever the hot
// path then leaves to a pass, it releases first.

const (
	maxFresh  = 4096 // effects waiting for the run loop; beyond, a pass finds them
	maxSetups = 4096 // Setups remembered until their Teardown; beyond, Teardowns go to a pass
)

// hotPath is the run loop's in-memory queue of effects committed here.
type hotPath struct {
	mu     sync.Mutex
	on     bool     // Run is driving
	fresh  []job    // committed, not yet looked at
	behind blockers // what the last pass left effects waiting for
	setups map[orderKey]*hotSetup
	ready  []job // the run loop's buffer of jobs to hand out, reused
}

// hotSetup is a Setup the hot path handed out.
type hotSetup struct {
	acked    bool // performed and acknowledged
	teardown *job // its Teardown, waiting for it
}

func (h *hotPath) start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.on, h.fresh, h.setups = true, nil, map[orderKey]*hotSetup{}
}

// stop turns the hot path off once Run's workers have returned, releasing
// the claims of the effects it still holds (queued, or parked behind a
// Setup) for the next Run (or Drain) to find in the outbox.
func (h *hotPath) stop(w *work) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, j := range h.fresh {
		w.release(j.key)
	}
	for _, s := range h.setups {
		if s.teardown != nil {
			w.release(s.teardown.key)
		}
	}
	h.on, h.fresh, h.setups, h.behind = false, nil, nil, blockers{}
}

// claimHot claims the outbox entries of a transition about to be committed
// (stored, encoded from the Outboxed effects in effects, in order) and
// returns them as jobs, or nil if the hot path is off or full.
func (e *Engine) claimHot(workflow string, effects []interp.Effect, stored []storage.Effect) []job {
	if len(stored) == 0 {
		return nil
	}
	h := &e.hot
	h.mu.Lock()
	on := h.on && len(h.fresh)+len(stored) <= maxFresh
	h.mu.Unlock()
	if !on {
		return nil
	}
	jobs := make([]job, 0, len(stored))
	now := e.clock.Now()
	i := 0
	for _, ef := range effects {
		if !Outboxed(ef.Kind) {
			continue
		}
		se := &stored[i]
		i++
		j := job{key: "effect " + se.ID, effect: se, oe: toOutbox(workflow, ef), hot: true}
		if ok, _ := e.work.claim(j.key, now); !ok { // cannot happen: the IDs are new
			e.unclaim(jobs)
			return nil
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// unclaim releases the claims of jobs that will not run (the commit
// failed, or the hot path will not take them).
func (e *Engine) unclaim(jobs []job) {
	for _, j := range jobs {
		e.work.release(j.key)
	}
}

// committed is called after every successful commit of this engine, with
// the jobs claimHot returned for it (nil if none), whether it wrote
// effects, and the instance's due time. It wakes the run loop.
func (e *Engine) committed(jobs []job, effects bool, due time.Time) {
	if jobs != nil && !e.hot.push(jobs) {
		e.unclaim(jobs)
		jobs = nil
	}
	switch {
	case !due.IsZero() || (effects && jobs == nil):
		e.wake() // the due index changed, or the effects are for a pass to find
	case effects:
		e.signal()
	}
}

// push queues claimed jobs for the run loop; it returns false if the hot
// path is off (Run stopped since they were claimed).
func (h *hotPath) push(jobs []job) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.on {
		return false
	}
	h.fresh = append(h.fresh, jobs...)
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
	effects   map[string]bool
	instances map[string]bool
}

func (b *blockers) effect(key string) {
	if b.effects == nil {
		b.effects = map[string]bool{}
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
func (b *blockers) holds(j job) bool {
	return b.effects[j.key] || b.instances[j.effect.Instance]
}

// dispatchHot hands out the queued effects that can go without a pass, and
// reports whether a pass is needed for the others, whose claims it
// releases. exec returns false when the engine is stopping.
func (e *Engine) dispatchHot(exec func(job) bool) (needPass, ok bool) {
	h := &e.hot
	h.mu.Lock()
	fresh := h.fresh
	ready := h.ready[:0]
	now := e.clock.Now()
	toPass := func(j job) {
		e.work.release(j.key)
		needPass = true
	}
	for _, j := range fresh {
		key := orderKey{j.effect.Instance, j.oe.Callback}
		switch j.oe.Kind {
		case interp.Setup:
			if len(h.setups) < maxSetups {
				h.setups[key] = &hotSetup{}
			}
		case interp.Teardown:
			s := h.setups[key]
			switch {
			case s == nil:
				toPass(j)
				continue
			case !s.acked:
				s.teardown = &j // its Setup's worker goes on with it
				continue
			}
			delete(h.setups, key)
		case interp.RunActivity, interp.CancelActivity:
			if j.oe.at().After(now) {
				toPass(j) // the pass works out when to look again
				continue
			}
		default:
			toPass(j)
			continue
		}
		ready = append(ready, j)
	}
	clear(fresh) // keep the buffer, not what it pointed to
	h.fresh = fresh[:0]
	h.mu.Unlock()
	defer func() { clear(ready); h.ready = ready[:0] }()
	for i, j := range ready {
		if !exec(j) {
			e.unclaim(ready[i+1:])
			return needPass, false
		}
	}
	return needPass, true
}

// hotDone is called by the worker that performed a job from the hot path,
// with its outcome. After a Setup succeeded it returns the Teardown that
// waited for it (claimed when it was parked) for the worker to perform
// next. It reports
// whether a pass must look at the store again: because the job failed (the
// pass schedules its retry), because the last pass left an effect waiting
// for this one, or because the work table has many finished jobs to sweep.
func (e *Engine) hotDone(j job, err error) (next *job, needPass bool) {
	h := &e.hot
	h.mu.Lock()
	defer h.mu.Unlock()
	needPass = err != nil || h.behind.holds(j) || e.work.sweepDue()
	if j.oe.Kind != interp.Setup || h.setups == nil {
		return nil, needPass
	}
	key := orderKey{j.effect.Instance, j.oe.Callback}
	s := h.setups[key]
	if s == nil {
		return nil, needPass
	}
	if err != nil {
		delete(h.setups, key) // a pass orders what follows
		if s.teardown != nil {
			e.work.release(s.teardown.key)
		}
		return nil, true
	}
	if s.teardown == nil {
		s.acked = true
		return nil, needPass
	}
	delete(h.setups, key)
	return s.teardown, needPass
}
