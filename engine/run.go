package engine

import (
	"context"
	"errors"
	"sync"
	"time"
)

// minWait is the shortest sleep of the run loop when nothing woke it, so
// that something due "now" that cannot run yet does not make it spin.
const minWait = time.Millisecond

// Run drives the engine until ctx is done: it resumes instances when they
// are due (timers, step retries, budget yields), and performs outbox
// effects (setup and teardown handlers, activities, the finish hook) in
// worker goroutines (see [WithWorkers]), retrying failures with backoff.
// An instance that is due again at once after a transition (its
// statement budget ran out) is resumed again by the same worker, up to a
// bound, without reading it back from the store; each transition still
// commits on its own. Likewise the first effect that a worker's own
// commit makes ready (an instance's next activity, its finish) is
// performed by the same worker next, up to a bound, with no handoff to
// another goroutine, and acknowledged together with the effects before it
// that nothing waits on (activities, finishes).
//
// When ctx is done Run stops handing out work, cancels the context of
// running activities and handlers, waits for the workers to return and
// returns nil. Work cut short is not lost: an effect is acknowledged only
// after it succeeded and a transition commits atomically or not at all, so
// whatever was interrupted is found again by the next Run, here or in
// another process. A handler that returns success after ctx ended is
// still acknowledged, and an activity's result delivered (the writes get
// up to 5 seconds of their own), so a graceful stop does not make the
// next Run perform them again. Run returns [ErrRunning] if the engine is
// already being driven by Run or [Engine.Drain].
//
// With a retention period ([WithRetention], [WithWorkflowRetention]) Run
// also calls [Engine.GC] in the background, at once and then every
// [WithRetentionInterval] of the engine's clock, under a store lock
// ([storage.Locker]) so that one process of those sharing a store does it.
func (e *Engine) Run(ctx context.Context) error {
	if !e.driving.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer e.driving.Store(false)
	if e.migrate {
		e.migrateOnRun(ctx)
	}
	if e.retention.enabled() {
		stop := e.startRetention(ctx)
		defer stop()
	}
	defer e.sleepsUntil.Store(0)
	if e.shared != nil {
		return e.runShared(ctx)
	}

	acks, stopAcks := ackContext(ctx)
	defer stopAcks() // after the workers have returned
	jobs := make(chan job)
	e.hot.start(jobs)
	defer e.hot.stop(&e.work) // after the workers have returned (defers run last first)
	var wg sync.WaitGroup
	for range e.workers {
		wg.Go(func() {
			var (
				c     = &carrier{Context: ctx, acks: acks} // this worker, to the transitions it makes
				batch []job
				next  []job // the next round of batch
				errs  []error
				ids   []string
			)
			for j := range jobs {
				c.taken = 0
				if !j.hot {
					c.open = true                // (the job is alone, and settled before the one taken)
					progress, err := e.do(c, &j) // do logs failures and schedules retries
					c.open = false
					if e.passAfter(j, progress, err) {
						e.wake()
					}
					if c.next.effect == nil {
						continue
					}
					j, c.next = c.next, job{}
					c.taken++
				}
				// A commit's effects (and those the worker took on the
				// way), then the Teardowns their Setups released (with
				// the rest of their commits), each round acknowledged in
				// one Ack.
				batch = append(append(batch[:0], j), j.group...)
				for round := 0; len(batch) > 0; round++ {
					if round == maxCarry {
						// Sends to one instance in a row make a chain
						// (each commit waits for the last one's Setup):
						// back to the queue, behind the others' jobs.
						e.requeue(batch)
						clear(batch)
						break
					}
					batch, errs, ids = e.doGroup(c, batch, errs, ids)
					var needPass bool
					if next, needPass = e.hotDone(batch, errs, next[:0]); needPass {
						e.wake()
					}
					clear(batch)
					clear(errs)
					clear(ids[:cap(ids)])
					batch, next = next, batch[:0]
				}
			}
		})
	}
	defer wg.Wait()
	defer func() {
		e.hot.close()
		close(jobs)
	}()
	submit := func(j job) bool {
		select {
		case jobs <- j:
			return true
		case <-ctx.Done():
			e.work.release(j.key)
			e.unclaim(j.group)
			return false
		}
	}
	var deadline time.Time // of the next pass; the first is at once
	for {
		// The effects this engine committed that found no idle worker
		// come first, from memory (see hotPath). Then a pass when one is
		// asked for (something was committed that only the store shows, a
		// job failed or others wait for it) or when the deadline has come.
		if !e.dispatchHot(submit) {
			return nil
		}
		if e.rescan.Swap(false) || !e.clock.Now().Before(deadline) {
			e.sleepsUntil.Store(0) // (before the read: see dueWakes)
			now := e.clock.Now()
			next, err := e.pass(ctx, now, e.poll, submit)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				e.log.Warn("engine: reading the store failed", "err", err)
			}
			// An absolute deadline, from the time the pass looked at: if
			// the clock moved during the pass, past it, the timer fires at
			// once and the next pass sees what became due.
			deadline = now.Add(e.poll)
			if !next.IsZero() && next.Before(deadline) {
				deadline = next
				if soonest := now.Add(minWait); deadline.Before(soonest) {
					deadline = soonest
				}
			}
			e.sleepsUntil.Store(deadline.UnixNano())
			continue
		}
		tick, stop := timerAt(e.clock, deadline)
		select {
		case <-ctx.Done():
			stop()
			return nil
		case <-e.kick:
		case <-tick:
		}
		stop()
	}
}

// Drain is the synchronous driver for tests and examples: it resumes every
// due instance and performs every due effect, running activities and
// handlers inline in outbox order, and repeats until nothing is left that is
// due at the clock's current time. With a [FakeClock]:
//
//	e.Start(ctx, def, "order-1", Order{})
//	e.Drain(ctx)
//	clock.Advance(10 * time.Minute) // the timer is due now
//	e.Drain(ctx)
//
// Drain uses the same code as [Engine.Run]. A failed job is retried with
// backoff measured on the clock, so not within the same Drain; Drain
// returns the failures it met joined into one error, after doing all other
// work. It returns early with an error only if the store fails or ctx ends.
// A workflow that never blocks (a loop without a wait) keeps Drain busy
// until ctx ends.
func (e *Engine) Drain(ctx context.Context) error {
	if !e.driving.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer e.driving.Store(false)
	if e.shared != nil {
		return e.drainShared(ctx)
	}
	var errs []error
	for {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		progress := false
		inline := func(j job) bool {
			ok, err := e.do(ctx, &j)
			progress = progress || ok
			if err != nil {
				errs = append(errs, err)
			}
			return ctx.Err() == nil
		}
		if _, err := e.pass(ctx, e.clock.Now(), 0, inline); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if !progress {
			return errors.Join(errs...)
		}
	}
}
