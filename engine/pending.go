package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// performPending performs the ready effects of a leased instance, once
// each, in the order the outbox and the effect kinds demand (as Run's scan
// does: the setup and teardown of one wait in outbox order, the finishing
// effect after all of them; activities independently), and acknowledges
// the ones that succeeded under the lease. A failed effect gets its next
// attempt time in the store (storage.Claims.Retry), or is dead-lettered
// after the engine's maximum number of attempts. Everything is fenced: a
// lost lease stops it with an error matching storage.ErrFenced.
//
// ended is not notEnded when it read the whole outbox, acknowledged every
// effect in it, and one of them finished the instance: nothing is left to
// do for it (an ended instance takes no events), so the lease's work may
// stop without another round of reads. Then a store that is a
// storage.AckReleaser acknowledges and releases the lease in one write
// (endedReleased: one round trip fewer per instance on a database
// server); others leave the release to the caller (endedHeld).
func (e *Engine) performPending(ctx context.Context, h *heldLease) (w Work, ended leaseEnd, err error) {
	// noDead: the store said the instance has no dead letters, so its
	// teardowns and finishing effect need not look for them (a read each).
	// Only the lease's holder dead-letters its effects, so it stays true
	// until this loop dead-letters one.
	var effects []storage.Effect
	noDead := false
	if pd, ok := e.store.(storage.PendingWithDead); ok {
		var dead bool
		effects, dead, err = pd.PendingWithDead(ctx, h.get(), pendingBatch)
		noDead = !dead
	} else {
		effects, err = e.store.Pending(ctx, h.get(), pendingBatch)
	}
	if err != nil {
		return w, notEnded, fmt.Errorf("engine: pending effects: %w", err)
	}
	// In the order the instance emitted them, which is the outbox order
	// unless some were requeued (they go to the end).
	slices.SortStableFunc(effects, func(a, b storage.Effect) int { return cmpEffectIDs(a.ID, b.ID) })
	now := e.clock.Now()
	blocked := map[uint64]bool{} // callbacks (0: the whole instance) whose later effects wait
	var acked []string
	finished := false
	var failed error // a write that failed: what succeeded before it is still acknowledged
	for i := range effects {
		se := &effects[i]
		oe, bad := outbox.Decode(*se)
		k := oe.Kind
		ordered := bad == nil && orderedKind(k)
		finishing := bad == nil && outbox.Ends(k)
		if ordered && blocked[oe.Callback] || finishing && blocked[0] {
			continue
		}
		ready := !se.NotBefore.After(now) && (k != interp.EffectRunActivity || bad != nil || !oe.NotBefore().After(now))
		if !ready {
			if ordered {
				blocked[oe.Callback], blocked[0] = true, true
			}
			continue
		}
		l := h.get()
		j := job{key: jobKey{id: se.ID}, effect: se, oe: oe, bad: bad, lease: &l, noDead: noDead}
		err := e.effectContained(ctx, &j)
		// Stopping, or the lease was lost: what did not succeed runs again
		// (here, or in the lease's next holder); what did is acknowledged
		// below (under a lost lease, the store refuses it).
		stopping := ctx.Err() != nil
		if err == nil || !stopping {
			e.metrics.Effect(oe.Workflow, k, err)
		}
		if err == nil {
			finished = finished || finishing
			acked = append(acked, se.ID)
			if k == interp.EffectRunActivity {
				w.Transitions++ // its result was committed (or no longer wanted)
			}
			if stopping {
				break
			}
			continue
		}
		if stopping {
			break
		}
		if ordered {
			blocked[oe.Callback], blocked[0] = true, true
		}
		if errors.Is(err, errDeadAhead) {
			// Not an attempt: it goes with what it waits behind.
			r := storage.RetryState{Attempts: se.Attempts, NotBefore: e.clock.Now(), LastError: err.Error()}
			if err := e.store.DeadLetter(ctx, l, se.ID, r); err != nil {
				failed = fmt.Errorf("engine: dead-letter effect %s: %w", se.ID, err)
				break
			}
			w.DeadLetters++
			continue
		}
		dead, ferr := e.failedAttempt(ctx, l, se, err)
		if ferr != nil {
			failed = ferr
			break
		}
		if dead {
			noDead = false
			w.DeadLetters++
		} else {
			w.Retried++
		}
	}
	if finished && len(acked) == len(effects) && len(effects) < pendingBatch {
		ended = endedHeld
	}
	if len(acked) > 0 {
		// Even as the work stops (see Run), within stopAckTimeout then.
		actx, cancel := context.WithoutCancel(ctx), context.CancelFunc(func() {})
		if ctx.Err() != nil {
			actx, cancel = context.WithTimeout(actx, stopAckTimeout)
		}
		defer cancel()
		if ar, ok := e.store.(storage.AckReleaser); ok && ended == endedHeld {
			err, ended = ar.AckRelease(actx, h.get(), acked...), endedReleased
		} else {
			err = e.store.AckLeased(actx, h.get(), acked...)
		}
		if err != nil {
			return w, notEnded, errors.Join(failed, fmt.Errorf("engine: acknowledge effects: %w", err))
		}
		w.Effects += len(acked)
	}
	if failed != nil {
		return w, notEnded, failed
	}
	return w, ended, nil
}

// leaseEnd is what performPending says of the work on a lease.
type leaseEnd uint8

const (
	notEnded      leaseEnd = iota // there may be more to do
	endedHeld                     // nothing is left to do; the lease is still held
	endedReleased                 // nothing is left to do, and the lease was released
)

// failedAttempt records a failed attempt of effect se under lease l: its
// next attempt after the engine's backoff, or, at the maximum number of
// attempts, a dead letter. It reports whether the effect was dead-lettered.
func (e *Engine) failedAttempt(ctx context.Context, l storage.Lease, se *storage.Effect, cause error) (dead bool, err error) {
	attempts := se.Attempts + 1
	now := e.clock.Now()
	r := storage.RetryState{
		Attempts:  attempts,
		NotBefore: now.Add(e.backoff.delay(int(attempts))),
		LastError: cause.Error(),
	}
	if e.maxAttempts > 0 && int(attempts) >= e.maxAttempts {
		r.NotBefore = now
		e.dead.Store(deadMaybe)
		if err := e.store.DeadLetter(ctx, l, se.ID, r); err != nil {
			return false, fmt.Errorf("engine: dead-letter effect %s: %w", se.ID, err)
		}
		e.log.Error("engine: effect dead-lettered after its last attempt", "effect", se.ID, "instance", se.Instance,
			"attempts", attempts, "err", cause)
		return true, nil
	}
	if err := e.store.Retry(ctx, l, se.ID, r); err != nil {
		return false, fmt.Errorf("engine: record retry of effect %s: %w", se.ID, err)
	}
	e.log.Warn("engine: effect failed", "effect", se.ID, "instance", se.Instance, "attempt", attempts,
		"retry", r.NotBefore, "err", cause)
	return false, nil
}

// deadLetterUnleased dead-letters an effect that failed for the last time
// in an engine without leases: it leases the instance for the moment. It
// reports whether it did; if another process holds the instance, or the
// effect is gone, it did not.
func (e *Engine) deadLetterUnleased(ctx context.Context, se *storage.Effect, attempts int, cause error) bool {
	conf := e.leases()
	l, err := e.store.Acquire(ctx, se.Instance, storage.ClaimRequest{Owner: conf.owner, Now: e.clock.Now(), TTL: conf.ttl, Limit: 1})
	if err != nil {
		e.log.Warn("engine: cannot lease an instance to dead-letter its effect", "effect", se.ID, "err", err)
		return false
	}
	defer func() { _ = e.store.Release(context.WithoutCancel(ctx), l) }()
	r := storage.RetryState{Attempts: uint32(attempts), NotBefore: e.clock.Now(), LastError: cause.Error()}
	e.dead.Store(deadMaybe)
	if err := e.store.DeadLetter(ctx, l, se.ID, r); err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			e.log.Warn("engine: dead-lettering an effect failed", "effect", se.ID, "err", err)
		}
		return false
	}
	e.log.Error("engine: effect dead-lettered after its last attempt", "effect", se.ID, "instance", se.Instance,
		"attempts", attempts, "err", cause)
	return true
}
