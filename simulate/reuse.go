package simulate

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"pgregory.net/rapid"
)

// ID reuse (engine.WithIDReuse): a Start of the instance's ID with the
// run's input, through a host (its Options.Host wrapper if that has
// StartWith, which takes the engine's start options; Host.Start has no
// room for them), in the middle of a run (the "new run" action) and once
// more as one run in four ends (checkNewRun), also after retention
// deleted the instance (over its tombstone):
//
//   - over a finished run, with IDReuseAfterFinished, it must commit the
//     new run interp.Restart makes of it;
//   - over a run still going, with IDReuseAfterFinished, it must be
//     refused with engine.ErrExists and change nothing; with
//     IDReuseTerminateRunning (unless NoTerminate), it must commit the old
//     run's termination (by "engine.Start", for
//     engine.ReuseTerminateReason) and the new run in one commit.
//
// The stored record must be the model's, and the outbox must gain exactly
// the effects the model's transitions keep there, under IDs no effect of
// the old run had, so that receivers that de-duplicate on effect IDs
// cannot take the new run's effects for the old run's. The old run's
// effects still in the outbox are performed as before; its end comes
// after its own setups and teardowns, not the new run's. The run goes on
// with the new run, and the replay starts it again at the same step.

// InvNewRun is the invariant of a new run over a taken ID.
const InvNewRun = "a new run over a taken ID continues the old one's numbering and ends it first"

// newRun is the "new run" action, on a running instance: a Start with
// IDReuseAfterFinished, to be refused, or one with
// IDReuseTerminateRunning. The latter ends the run it is taken in (and
// begins another), so like terminate it goes through rarely: one time in
// sixteen.
func (a *actions) newRun(rt *rapid.T) {
	if a.w.meta.Status.Finished() {
		return
	}
	a.w.pickVia(rapidSource{rt})
	policy := engine.IDReuseAfterFinished
	if !a.w.opts.noTerminate && ints(0, 15).Draw(rt, "terminate it for a new run") == 0 {
		policy = engine.IDReuseTerminateRunning
	}
	a.w.startOver(policy)
}

// checkNewRun is the check as a run ends, after checkLifecycle: a Start with
// IDReuseAfterFinished (a new run over a finished instance, refused over a
// running one), then one with IDReuseTerminateRunning over whatever is
// there then (unless NoTerminate), then the journal.
func (w *world) checkNewRun() {
	if w.failure != nil {
		return
	}
	if _, err := w.store.Load(w.ctx, instanceID); err != nil {
		if w.ret.gone && errors.Is(err, storage.ErrNotFound) {
			w.startOverDeleted()
		}
		return
	}
	for _, p := range []engine.IDReusePolicy{engine.IDReuseAfterFinished, engine.IDReuseTerminateRunning} {
		if w.failure != nil || p == engine.IDReuseTerminateRunning && w.opts.noTerminate {
			break
		}
		w.startOver(p)
	}
	if w.failure == nil {
		w.checkJournal()
	}
}

// startOverDeleted starts the ID again after retention deleted its
// instance: over the tombstone, the new instance must continue the deleted
// one's numbering exactly as a new run over the finished instance would,
// with no effect ID the deleted instance had. The start is checked
// against the model (made twice, as every new run), and replayed after the
// replay's own GC (replayer.collect) deleted the instance there too.
func (w *world) startOverDeleted() {
	w.say("start the ID again after its instance was deleted")
	w.startOver(engine.IDReuseAfterFinished)
	if w.failure == nil {
		w.ret.gone = false
		w.checkJournal()
	}
}

// startOver starts a new run over the instance with policy, through the
// host w.via, and checks the commit (or the refusal) against the model.
func (w *world) startOver(policy engine.IDReusePolicy) {
	input, _ := w.startInput()
	in, err := codec.Marshal(input)
	if err != nil {
		return // (startInput's zero value of a type that does not encode: the run started otherwise)
	}
	before, err := w.store.Outbox(w.ctx, 1000)
	if err != nil {
		w.fail(InvEffects, "", "the outbox cannot be read: %v", err)
		return
	}
	ev := interp.Event{Kind: interp.EventStart, Time: w.clock.Now(), Instance: instanceID}
	was := w.meta.Status
	via := w.via
	w.steps = append(w.steps, step{Kind: stepNewRun, Input: in, Event: ev, Host: via, Reuse: policy})
	serr := startWithVia(w.hosts[via]).StartWith(w.ctx, w.def, instanceID, input, engine.WithIDReuse(policy))
	si, rec := w.load()
	if w.failure != nil {
		return
	}
	w.record(si)
	applied := si.Version == w.version+1
	outcome := "accepted"
	if serr != nil {
		outcome = "refused: " + short(serr)
	}
	w.say("start a new run with %+v over the %s one (%s): %s", input, was, policy, outcome)
	switch {
	case si.Version != w.version && !applied:
		w.fail(InvInventedEvent, "", "the store version jumped from %d to %d on one start", w.version, si.Version)
		return
	case !was.Finished() && policy == engine.IDReuseAfterFinished:
		if !errors.Is(serr, engine.ErrExists) {
			w.fail(InvIDReuse, "", "Start with IDReuseAfterFinished of the %s instance returned %v, not engine.ErrExists", was, serr)
		} else if applied {
			w.fail(InvIDReuse, "", "the refused Start with IDReuseAfterFinished of the %s instance changed the stored instance", was)
		}
		return
	case serr == nil && !applied:
		w.fail(InvNewRun, "", "Start with %s returned nil, but the store does not have the new run", policy)
		return
	case serr != nil && applied:
		w.fail(InvRejectedChange, "", "Start with %s failed (%v), but the store has the new run", policy, serr)
		return
	}
	var term *interp.Event
	if !was.Finished() {
		term = &interp.Event{Kind: interp.EventTerminate, Time: ev.Time, Reason: engine.ReuseTerminateReason, By: "engine.Start"}
	}
	if !applied {
		// Refused: the interpreter must refuse the new run too.
		if _, _, err := w.restarted(in, term, ev); err == nil {
			w.fail(InvNewRun, "", "Start with %s over the %s instance was refused (%v); the interpreter starts the new run", policy, was, serr)
		}
		return
	}
	w.version++
	model, ok := w.foldNewRun(in, term, ev)
	if !ok {
		return
	}
	m := w.storedMeta(rec)
	if w.failure != nil {
		return
	}
	if m.Instance != w.meta.Instance || m.Seq != w.meta.Seq || !m.Started.Equal(w.meta.Started) || m.NextCallback < w.meta.NextCallback {
		w.fail(InvNewRun, "", "the stored new run is numbered otherwise than the old run's continuation (-model +stored):\n%s", metaDiff(w.meta, m))
		return
	}
	w.compareWith(si, rec, nil, true) // a state or meta that differs otherwise: as for the first start
	if w.failure == nil {
		w.checkNewRunEffects(before, model)
	}
}

// restarted is the model's new run: the termination of the old run, if
// term is not nil, then interp.Restart with the encoded input in. It
// returns the new run, its effects after the termination's, and the
// termination itself (zero without term).
func (w *world) restarted(in []byte, term *interp.Event, ev interp.Event) (r, t interp.Result, err error) {
	prev := w.meta
	if term != nil {
		if t, err = interp.Apply(w.def, w.state, w.meta, *term); err != nil {
			return r, t, err
		}
		prev = t.Meta
	}
	if r, err = interp.Restart(w.def, in, prev, ev); err != nil {
		return r, t, err
	}
	r.Effects = append(slices.Clip(t.Effects), r.Effects...)
	return r, t, nil
}

// foldNewRun makes the model's instance the new run the store committed,
// and returns the commit's effects: the old run's termination (if term is
// not nil, checked as a Terminate is) and the new run's start, made twice
// and compared, as fold does.
func (w *world) foldNewRun(in []byte, term *interp.Event, ev interp.Event) ([]interp.Effect, bool) {
	r1, t1, err1 := w.restarted(in, term, ev)
	r2, _, err2 := w.restarted(in, term, ev)
	switch {
	case (err1 == nil) != (err2 == nil) || err1 == nil && (!bytes.Equal(r1.State, r2.State) ||
		!bytes.Equal(interp.EncodeMeta(r1.Meta), interp.EncodeMeta(r2.Meta)) || !effectsEqual(r1.Effects, r2.Effects)):
		w.fail(InvDeterminism, "", "%s\nThe start of a new run with the same input, made twice, gave different results: %v / %v\n%s%s%s",
			hiddenInputNote, err1, err2, w.stateDiff(r1.State, r2.State), metaDiff(r1.Meta, r2.Meta), w.effectsDiffIf(r1.Effects, r2.Effects))
		return nil, false
	case err1 != nil:
		w.fail(InvNewRun, "", "the store committed a new run that the interpreter refuses: %v", err1)
		return nil, false
	}
	if term != nil {
		if w.checkTerminate(w.state, *term, t1); w.failure != nil {
			return nil, false
		}
		w.observe(w.meta, *term, t1.Meta)
	}
	for _, e := range r1.Effects {
		id := e.ID.String()
		if _, dup := w.effects[id]; dup {
			w.fail(InvNewRun, e.Path, "the new run issued effect ID %s, which the old run had issued", id)
			return nil, false
		}
		if outbox.Kept(e.Kind) && !(w.opts.noEnds && outbox.Ends(e.Kind)) {
			w.effects[id] = e
		}
	}
	w.observe(interp.Meta{}, ev, r1.Meta)
	// One commit, one journal entry: the start of the new run, with the
	// old run's termination's effects first.
	w.journalLog = append(w.journalLog, journalWant{seq: r1.Meta.Seq, kind: ev.Kind.String(), effects: r1.Effects})
	w.state, w.meta, w.metaB = r1.State, r1.Meta, interp.EncodeMeta(r1.Meta)
	w.applied++
	return r1.Effects, true
}

// checkNewRunEffects checks what the new run's commit added to the outbox
// (before is the outbox before it) against the model's effects.
func (w *world) checkNewRunEffects(before []storage.Effect, model []interp.Effect) {
	after, err := w.store.Outbox(w.ctx, 1000)
	if err != nil {
		w.fail(InvEffects, "", "the outbox cannot be read: %v", err)
		return
	}
	had := map[string]bool{}
	for _, se := range before {
		had[se.ID] = true
	}
	var got, want []string
	for _, se := range after {
		if had[se.ID] || se.Instance != instanceID {
			continue
		}
		oe, err := outbox.Decode(se)
		if err != nil {
			w.fail(InvEffects, "", "the new run's outbox entry %s does not decode: %v", se.ID, err)
			return
		}
		if outbox.Kept(oe.Kind) {
			got = append(got, fmt.Sprintf("%s %s", se.ID, oe.Kind))
		}
	}
	for _, e := range model {
		if outbox.Kept(e.Kind) && !(w.opts.noEnds && outbox.Ends(e.Kind)) {
			want = append(want, fmt.Sprintf("%s %s", e.ID, e.Kind))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		w.fail(InvEffects, "", "the commit of a new run over the instance added to the outbox [%s]; the model's transitions keep [%s]",
			strings.Join(got, ", "), strings.Join(want, ", "))
	}
}
