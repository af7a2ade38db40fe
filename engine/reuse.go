package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// IDReusePolicy says what [Engine.Start] does with an instance ID that is
// already taken (see [WithIDReuse]).
type IDReusePolicy uint8

// ID reuse policies.
const (
	// IDReuseRefuse refuses the start with [ErrExists], however long ago
	// the instance with that ID finished. The default.
	IDReuseRefuse IDReusePolicy = iota
	// IDReuseAfterFinished starts a new run in place of an instance that
	// has finished (completed, failed, canceled or terminated), and
	// refuses the start with [ErrExists] while it runs.
	IDReuseAfterFinished
	// IDReuseTerminateRunning terminates a running (or canceling) instance
	// with that ID, as [Engine.Terminate] does, and starts the new run in
	// the same atomic commit; one that has finished is replaced as with
	// IDReuseAfterFinished.
	IDReuseTerminateRunning
)

// String names the policy.
func (p IDReusePolicy) String() string {
	switch p {
	case IDReuseRefuse:
		return "refuse"
	case IDReuseAfterFinished:
		return "after-finished"
	case IDReuseTerminateRunning:
		return "terminate-running"
	}
	return fmt.Sprintf("IDReusePolicy(%d)", uint8(p))
}

// ReuseTerminateReason is the reason recorded when [IDReuseTerminateRunning]
// terminates a running instance; the "by" is "engine.Start".
const ReuseTerminateReason = "terminated to start a new run with its ID (IDReuseTerminateRunning)"

// StartOption configures one [Engine.Start].
type StartOption func(*startOptions)

type startOptions struct {
	reuse IDReusePolicy
}

// WithIDReuse sets what Start does when the instance ID is taken (default
// [IDReuseRefuse]). A new run that replaces a finished one overwrites its
// record with a compare-and-set on the version Start read, so of two
// Starts racing for one finished ID exactly one wins and the other gets
// [ErrExists]. The new run keeps nothing of the old one (its state,
// output and idempotency keys are gone; effects of the old run still in
// the outbox are performed as usual), but continues its numbering: its
// effect IDs and callback IDs are new (see interp.Restart), so receivers
// that de-duplicate on effect IDs and callbacks meant for the old run
// cannot be confused with the new one.
//
// A policy Start does not know is refused with [ErrInvalidOption].
//
// After an [ErrOutcomeUnknown] from a Start with IDReuseTerminateRunning,
// do not simply Start again: if the first Start committed, the second
// would terminate the run it started (and under IDReuseAfterFinished,
// replace it if it has finished since). [Engine.Get] the instance and
// look at Meta.Started first.
func WithIDReuse(p IDReusePolicy) StartOption {
	return func(o *startOptions) { o.reuse = p }
}

func startOpts(opts []StartOption) (startOptions, error) {
	if len(opts) == 0 {
		return startOptions{}, nil // (before so, which the calls below move to the heap)
	}
	var so startOptions
	for _, o := range opts {
		if o != nil {
			o(&so)
		}
	}
	if so.reuse > IDReuseTerminateRunning {
		return so, invalid("WithIDReuse", so.reuse, "not an IDReusePolicy")
	}
	return so, nil
}

// reuseID is Start for an id that is taken, under policy (not
// IDReuseRefuse): under the instance's lock, load the record and commit
// the new run over it, compare-and-set on the version loaded; after a
// conflict, load again. state is the encoded input.
func (e *Engine) reuseID(ctx context.Context, def *dsl.Definition, id string, state []byte, policy IDReusePolicy) error {
	il, err := e.cache.lock(ctx, id)
	if err != nil {
		return opErr("", "", id, err)
	}
	defer e.cache.unlock(id, il)
	for try := 1; ; try++ {
		e.cache.drop(id) // whatever the outcome, only a confirmed record is cached
		l, err := e.load(ctx, id)
		if errors.Is(err, storage.ErrNotFound) && try < maxConflicts {
			// Deleted since the Create failed: create it after all.
			err = e.createFresh(ctx, def, id, state, nil, nil)
			if !errors.Is(err, storage.ErrExists) {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		now := e.clock.Now()
		prev := l.meta
		var effects []storage.Effect
		var emitted []interp.Effect
		ends := true // every end (the old run's, the new run's) is in effects
		if !prev.Status.Finished() {
			if policy != IDReuseTerminateRunning {
				return fmt.Errorf("%w: %q is %s, and the ID reuse policy (%s) allows a new run only after it finished",
					ErrExists, id, prev.Status, policy)
			}
			// Terminate reads the meta alone (any definition will do for
			// it), so an instance of another workflow, or one whose
			// position is lost, is ended all the same.
			term, err := e.apply(def, l.rec.State, prev, interp.Event{Kind: interp.EventTerminate, Time: now,
				Reason: ReuseTerminateReason, By: "engine.Start"}, id)
			if err != nil {
				return err
			}
			end := e.keepsEnd(id, &term.Meta, l.rec.Host)
			if effects, err = outboxEffects(id, l.rec.Workflow, term.Effects, l.rec.Host, end); err != nil {
				return err
			}
			ends = end
			prev, emitted = term.Meta, term.Effects
		}
		res, err := interp.Restart(def, state, prev, interp.Event{Kind: interp.EventStart, Time: now, Instance: id})
		if err != nil {
			if tl := tooLarge(id, "state", err); tl != nil {
				return tl
			}
			return eventError(interp.EventStart, id, err)
		}
		if err := e.checkSize(id, res.State); err != nil {
			return err
		}
		host, err := startHost(id, res, now) // for retention (retention.go)
		if err != nil {
			return err
		}
		end := e.keepsEnd(id, &res.Meta, host)
		inst, rec, own, err := encode(id, def.Name(), &res, host, end)
		if err != nil {
			return err
		}
		ends = ends && end
		effects = append(effects, own...)
		// The journal goes on: a start entry on an instance that ran
		// before is a new run of its ID (after a termination, when the
		// entry's effects begin with it).
		both := res
		both.Effects = append(append([]interp.Effect(nil), emitted...), res.Effects...)
		if inst.Journal, err = e.journalWrite(id, def, &l.meta, l.stored.Data,
			&interp.Event{Kind: interp.EventStart, Time: now, Instance: id, Payload: state}, &both, nil); err != nil {
			return err
		}
		if effects, err = e.withWakeups(id, def.Name(), l.meta.Due, &res, effects); err != nil {
			return err
		}
		version, err := e.store.Commit(ctx, storage.Commit{Instance: inst, Expect: l.stored.Version, Effects: effects,
			Wake: !ends}) // an end left out wakes watchers (Await), as in transitionLocked
		if errors.Is(err, storage.ErrConflict) && try < maxConflicts {
			e.metrics.Conflict(def.Name())
			if err := conflictPause(ctx, try, e.noConflictPause); err != nil {
				return opErr("start", "", id, err)
			}
			continue
		}
		if err != nil {
			return outcomeUnknown(opErr("start over its previous run", "of", id, err), OutcomeUnknownError{Op: "start", Instance: id})
		}
		e.committed(ctx, nil, len(effects) > 0, inst.Due)
		inst.Version = version
		e.cache.put(id, &loaded{stored: inst, rec: rec, meta: res.Meta})
		if len(emitted) > 0 {
			e.metrics.Transition(l.rec.Workflow, interp.EventTerminate)
		}
		e.metrics.Transition(def.Name(), interp.EventStart)
		return nil
	}
}

// createFresh creates instance id of def as a first Start does, without
// the hot path, with the host data the record starts with (see start): for
// reuseID, when the instance it was to replace is gone, and for start,
// over the tombstone d of a deleted instance with the ID (tombstone.go),
// or over the one it meets. It fails with the store's ErrExists when the
// ID is taken.
func (e *Engine) createFresh(ctx context.Context, def *dsl.Definition, id string, state, host []byte, d *deleted) error {
	for try := 1; ; try++ {
		err := e.createOnce(ctx, def, id, state, host, d)
		if !errors.Is(err, storage.ErrDeleted) {
			return err
		}
		if try >= maxConflicts { // deleted, created and deleted again, over and over
			return outcomeUnknown(opErr("start", "", id, err), OutcomeUnknownError{Op: "start", Instance: id})
		}
		if d, err = deletedBy(id, err); err != nil {
			return err
		}
	}
}

// createOnce is one attempt of createFresh; it returns the store's
// ErrExists and DeletedError as they are.
func (e *Engine) createOnce(ctx context.Context, def *dsl.Definition, id string, state, host []byte, d *deleted) error {
	ev := interp.Event{Kind: interp.EventStart, Time: e.clock.Now(), Instance: id}
	res, err := e.startAfter(d, def, state, ev, id)
	if err != nil {
		return err
	}
	if res.Meta.Status.Finished() { // for retention (retention.go)
		if host, err = markEnded(id, host, ev.Time); err != nil {
			return err
		}
	}
	inst, rec, effects, err := encode(id, def.Name(), &res, host, e.keepsEnd(id, &res.Meta, host))
	if err != nil {
		return err
	}
	if effects, err = e.withWakeups(id, def.Name(), time.Time{}, &res, effects); err != nil {
		return err
	}
	ev.Payload = state // the input, as the journal keeps it
	before := d.numbering()
	if inst.Journal, err = e.journalWrite(id, def, &before, nil, &ev, &res, nil); err != nil {
		return err
	}
	d.over(&inst)
	version, err := e.store.Create(ctx, inst, effects)
	if errors.Is(err, storage.ErrExists) || errors.Is(err, storage.ErrDeleted) {
		return err
	}
	if err != nil {
		return outcomeUnknown(opErr("start", "", id, err), OutcomeUnknownError{Op: "start", Instance: id})
	}
	e.committed(ctx, nil, len(effects) > 0, inst.Due)
	inst.Version = version
	e.cache.put(id, &loaded{stored: inst, rec: rec, meta: res.Meta})
	e.metrics.Transition(def.Name(), interp.EventStart)
	return nil
}
