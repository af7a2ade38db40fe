package simulate

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"pgregory.net/rapid"
)

// Retention (engine.WithRetention, engine.Engine.GC, storage.Retention).
// Once the instance has finished, the gc action moves the clock on (or
// not) and has finished instances collected with a retention period it
// draws: a GC engine over the run's store, with the simulator's clock and
// engine.WithRetention, as a host with retention or the weft gc tool runs
// it; a host's engine then lists the instances. The hosts themselves are built without
// retention: the period is the action's draw, and nothing else in an
// engine depends on it (Run, which the simulator does not call, is the
// one that collects on its own).
//
// GC deletes an instance only through storage.Retention.Delete, which
// must refuse while the instance has effects in the outbox or among the
// dead letters: a finished instance whose last effects (its end, the
// teardowns of its waits) are not performed yet is exactly what the
// action is drawn for. Once the instance is deleted, the run's remaining
// actions do nothing and the liveness phase is replaced by the checks
// that still apply (goneChecks).

// InvRetention is the invariant of the gc action.
const InvRetention = "retention deletes only finished instances whose effects were all performed"

// retentionState is what the list and gc actions keep of a run.
type retentionState struct {
	endedAt time.Time // when the model's instance finished (the time of its finishing event)
	gone    bool      // a GC deleted the instance
	seeded  bool      // the neighbours were created (listing.go)
}

// noteEnd records, as the model folds ev into meta after, when the
// instance finished: an engine counts its retention from the time of the
// finishing event.
func (w *world) noteEnd(ev interp.Event, after interp.Meta) {
	if !w.meta.Status.Finished() && after.Status.Finished() {
		w.ret.endedAt = ev.Time
	}
}

// listingKinds are the kinds of action of listing and retention, for the
// run's swarm.
func (a *actions) listingKinds() []kind {
	return []kind{
		{name: "list", act: a.list, light: true},
		{name: "gc", act: a.gc, ready: func() bool { return a.w.meta.Status.Finished() }, light: true},
	}
}

// gcRetentions are the retention periods the gc action draws: nothing
// (the shortest positive period), or short ones on the simulated clock.
var gcRetentions = []time.Duration{time.Nanosecond, time.Second, time.Minute, time.Hour}

// gcWaits are how far the gc action moves the clock before collecting.
var gcWaits = []time.Duration{0, time.Second, time.Minute, time.Hour}

// gc is the gc action: the clock moves on by a drawn wait, and a host
// collects the finished instances with a drawn retention period.
func (a *actions) gc(rt *rapid.T) {
	w := a.w
	if w.seedNeighbours(); w.failure != nil {
		return
	}
	src := rapidSource{rt}
	host := w.pickHost(src)
	keep := gcRetentions[ints(0, len(gcRetentions)-1).Draw(rt, "retention")]
	wait := gcWaits[ints(0, len(gcWaits)-1).Draw(rt, "wait before collecting")]
	w.moveClock(w.clock.Now().Add(wait))
	w.collect(host, keep, wait)
}

// collect has a GC process collect the finished instances kept for keep,
// and checks what it did; host's engine lists the instances afterwards.
// The GC engine works on the run's store itself, not on a host's handle:
// it deletes (and dates) several instances at once, in goroutines of its
// own, and a host's handle tells the world of every write, which must
// not happen concurrently.
func (w *world) collect(host int, keep, wait time.Duration) {
	if w.meta.Status.Finished() {
		// The journal and the effects go with the instance: check them
		// while they are there.
		if w.checkJournal(); w.failure != nil {
			return
		}
		if w.checkOutboxKept("before the GC"); w.failure != nil {
			return
		}
	}
	e, err := engine.New(w.store, engine.WithClock(stillClock{w.clock}), engine.WithRetention(keep))
	if err != nil {
		panic(err) // a store, clock and period of our own: cannot be invalid
	}
	rep, err := e.GC(w.ctx)
	w.say("collect instances finished %v ago or more (the clock moved %v): GC %s", keep, wait, gcOutcome{rep, err})
	if err != nil {
		w.fail(InvRetention, "", "GC failed: %v", err)
		return
	}
	w.steps = append(w.steps, step{Kind: stepCollect, Keep: keep})
	w.checkRetention(host, keep, rep)
	w.steps[len(w.steps)-1].Gone = w.ret.gone
}

// checkRetention checks the store after a GC with retention keep: the
// instance was deleted only if it had finished, its retention had ended,
// and every effect it emitted was performed and acknowledged; then it is
// gone from every index and its journal with it. An instance kept must
// be unchanged, and have had a reason to be kept.
func (w *world) checkRetention(host int, keep time.Duration, rep engine.GCReport) {
	_, err := w.store.Load(w.ctx, instanceID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		w.fail(InvRetention, "", "after a GC the instance cannot be loaded: %v", err)
		return
	}
	expired := w.meta.Status.Finished() && !w.clock.Now().Before(w.ret.endedAt.Add(keep))
	if err == nil {
		si, rec := w.load()
		if w.failure == nil {
			w.compareWith(si, rec, nil, true)
		}
		if w.failure == nil && expired {
			// GC finds finished instances by status: a listing that does
			// not show the instance under its status explains best why
			// it was kept.
			if w.listAndCheck(host, listQuery{filter: storage.Filter{Status: w.meta.Status.String()}, limit: 2}); w.failure != nil {
				return
			}
			if n := w.effectsLeft(); n == 0 && w.failure == nil {
				w.fail(InvRetention, "", "GC kept the instance, %s at %s and kept for %v, although it has no effect left and the clock is at %s",
					w.meta.Status, dateTime(w.ret.endedAt), keep, dateTime(w.clock.Now()))
			}
		}
		return
	}
	w.ret.gone = true
	w.journalLog, w.journalOK = nil, nil // the journal goes with the instance
	w.say("the instance is deleted")
	switch {
	case !w.meta.Status.Finished():
		w.fail(InvRetention, w.where(), "GC deleted the instance, which is %s", w.meta.Status)
	case !expired:
		w.fail(InvRetention, "", "GC deleted the instance, %s at %s, at %s: before its retention of %v ended",
			w.meta.Status, dateTime(w.ret.endedAt), dateTime(w.clock.Now()), keep)
	}
	if w.failure != nil {
		return
	}
	var unacked, unperformed []string
	for _, id := range sortedKeys(w.effects) {
		e := w.effects[id]
		if !w.acked[id] {
			unacked = append(unacked, fmt.Sprintf("%s (%s at %q)", id, e.Kind, e.Path))
		}
		// An end is performed (its finish hook) before it is acknowledged;
		// other effects may be acknowledged unperformed (an activity
		// attempt canceled before it ran, say).
		if outbox.Ends(e.Kind) && w.performed[id] == 0 {
			unperformed = append(unperformed, fmt.Sprintf("%s (%s at %q)", id, e.Kind, e.Path))
		}
	}
	switch {
	case len(unacked) > 0:
		w.fail(InvRetention, "", "GC deleted the instance with effects never acknowledged (still in the outbox or dead-lettered): %s; they are lost with it",
			strings.Join(unacked, ", "))
	case len(unperformed) > 0:
		w.fail(InvRetention, "", "GC deleted the instance, whose end %s was acknowledged but never performed", strings.Join(unperformed, ", "))
	case rep.Deleted == 0:
		w.fail(InvRetention, "", "the instance is gone, but GC reported no deletion")
	}
	if w.failure != nil {
		return
	}
	if n := w.effectsLeft(); n > 0 && w.failure == nil {
		w.fail(InvRetention, "", "the instance was deleted, but %d of its effects are still in the outbox or the dead letters", n)
		return
	}
	if j, err := w.store.ReadJournal(w.ctx, instanceID, 0, 0); err != nil || len(j) > 0 {
		w.fail(InvRetention, "", "the instance was deleted, but its journal was not: %d entries (%v)", len(j), err)
		return
	}
	if at, ok := w.dueEntry(dueHorizon); ok {
		w.fail(InvRetention, "", "the instance was deleted, but the due index still lists it at %s", showDue(at))
		return
	}
	// Listings and counts no longer show it.
	for _, q := range []listQuery{
		{order: storage.ByID, limit: 2},
		{filter: storage.Filter{Status: w.meta.Status.String()}, limit: 1},
		{filter: storage.Filter{Workflow: w.def.Name(), Status: w.meta.Status.String()}, limit: 3},
		{filter: storage.Filter{IDPrefix: instanceID}, limit: 1},
		{order: storage.ByDue, limit: 2},
	} {
		if w.listAndCheck(host, q); w.failure != nil {
			return
		}
	}
	w.checkTombstone()
}

// checkTombstone checks what the deletion left: a Create of the ID that
// does not name the tombstone fails with the deleted instance's version
// and numbering, so that an instance started again with the ID continues
// them (its effect IDs and callbacks are new). The probe writes nothing
// to a store that keeps its tombstones.
func (w *world) checkTombstone() {
	_, err := w.store.Create(w.ctx, storage.Instance{ID: instanceID, Workflow: w.def.Name(), Status: "probe"}, nil)
	var de *storage.DeletedError
	if !errors.As(err, &de) {
		w.fail(InvRetention, "", "the instance was deleted, but it left no tombstone: a Create of its ID gave %v, not a storage.DeletedError; "+
			"an instance started again with the ID would repeat its effect IDs", err)
		return
	}
	var m interp.Meta
	rec, err := codec.DecodeRecord(de.Tombstone)
	if err == nil {
		m, err = interp.DecodeMeta(rec.Meta)
	}
	switch {
	case err != nil:
		w.fail(InvRetention, "", "the deleted instance's tombstone does not decode: %v", err)
	case de.Version != w.version:
		w.fail(InvRetention, "", "the deleted instance's tombstone is at version %d, the instance was at %d", de.Version, w.version)
	case m.Seq != w.meta.Seq || m.NextCallback != w.meta.NextCallback:
		w.fail(InvRetention, "", "the deleted instance's tombstone holds transition %d and callback %d, the instance was at %d and %d: "+
			"an instance started again with the ID would repeat its numbering", m.Seq, m.NextCallback, w.meta.Seq, w.meta.NextCallback)
	}
}

// effectsLeft counts the simulated instance's effects in the outbox and
// among the dead letters.
func (w *world) effectsLeft() int {
	n := 0
	out, err := w.store.Outbox(w.ctx, 1000)
	if err != nil {
		w.fail(InvEffects, "", "the outbox cannot be read: %v", err)
		return 0
	}
	for _, e := range out {
		if e.Instance == instanceID {
			n++
		}
	}
	dead, err := w.store.DeadLetters(w.ctx, "", 1000)
	if err != nil {
		w.fail(InvEffects, "", "the dead letters cannot be read: %v", err)
		return 0
	}
	for _, e := range dead {
		if e.Instance == instanceID {
			n++
		}
	}
	return n
}

// goneChecks replaces the liveness phase and the final checks of a run
// whose instance a GC deleted: there is nothing left to drive, but every
// effect the instance emitted must have been acknowledged, nothing
// dead-lettered, every setup torn down once, and every child's end
// accounted for.
func (w *world) goneChecks() {
	w.say("the instance was deleted: no liveness phase")
	if w.missingEffects(); w.failure != nil {
		return
	}
	if n := w.effectsLeft(); n > 0 && w.failure == nil {
		w.fail(InvEffects, "", "%d effects of the deleted instance are still in the outbox or the dead letters", n)
		return
	}
	if w.checkChildren(); w.failure != nil {
		return
	}
	cbs := make([]uint64, 0, len(w.setups))
	for cb := range w.setups {
		cbs = append(cbs, cb)
	}
	sort.Slice(cbs, func(i, j int) bool { return cbs[i] < cbs[j] })
	for _, cb := range cbs {
		if len(w.teardowns[cb]) != 1 {
			w.fail(InvSetupTeardown, "", "setup %s of callback %d was torn down %d times by the end", w.setups[cb], cb, len(w.teardowns[cb]))
			return
		}
	}
}

// gcOutcome shows a GC's report in a trace line, formatted only when a
// report shows the trace.
type gcOutcome struct {
	rep engine.GCReport
	err error
}

func (o gcOutcome) String() string {
	s := fmt.Sprintf("deleted %d, held %d, dated %d", o.rep.Deleted, o.rep.Held, o.rep.Dated)
	if o.err != nil {
		s += "; " + o.err.Error()
	}
	return s
}
