package simulate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// childDepth bounds how deep the simulator runs children: the simulated
// instance's children are at depth 1, theirs at 2, and a child past the
// bound is not run: its end is drawn.
const childDepth = 3

// childSteps bounds the "child step" actions the random phase takes on
// one child; the liveness phase drives a child still running to its end.
const childSteps = 32

// childRun is a child instance run by the simulator: its definition
// applied by the pure interpreter to drawn events, as a host would apply
// them, without a store (the child's own store behaviour is its own
// Check's business). Every event is applied twice and the results
// compared (determinism), and a panic in its code is reported.
type childRun struct {
	def   *dsl.Definition
	id    string
	depth int
	state []byte
	meta  interp.Meta
	// acts are the run-activity effects of the attempts the run waits
	// for, by callback.
	acts map[uint64]interp.Effect
	// kids are its own children, by the callback that waits for each; a
	// nil entry is a child the simulator does not run (notRun says why),
	// whose end is drawn.
	kids   map[uint64]*childRun
	notRun map[uint64]string
	// notStarted is why its start event was refused: its end is then a
	// failure, as the engine delivers a child it cannot start.
	notStarted string
}

// whyNot notes why the child of callback cb is not run.
func (r *childRun) whyNot(cb uint64, why string) {
	if r.notRun == nil {
		r.notRun = map[uint64]string{}
	}
	r.notRun[cb] = why
}

// String names the run for the trace.
func (r *childRun) String() string { return fmt.Sprintf("child %q (workflow %s)", r.id, r.def.Name()) }

func (r *childRun) finished() bool { return r.notStarted != "" || r.meta.Status.Finished() }

// outcome is the end of a finished run, as the engine delivers it.
func (r *childRun) outcome() interp.ChildOutcome {
	if r.notStarted != "" {
		return interp.ChildOutcome{Status: interp.StatusFailed, Error: "not started: " + r.notStarted}
	}
	return interp.ChildOutcomeOf(r.meta)
}

// startRun starts a run of def with ID id from its encoded input.
func (w *world) startRun(def *dsl.Definition, id string, input []byte, depth int) *childRun {
	r := &childRun{def: def, id: id, depth: depth, acts: map[uint64]interp.Effect{}, kids: map[uint64]*childRun{}}
	if err := w.childApply(r, input, interp.Event{Kind: interp.EventStart, Instance: id}); err != nil {
		r.notStarted = err.Error()
	}
	return r
}

// childEvent applies ev to r's run and says how it went, for the trace.
func (w *world) childEvent(r *childRun, ev interp.Event) text {
	if err := w.childApply(r, r.state, ev); err != nil {
		return say("rejected: %s", shortError{err})
	}
	if r.finished() {
		return say("accepted; it ends: %s", r.meta.Status)
	}
	return say("accepted")
}

// childApply applies ev at the world's time to r's run, from state (r's
// state but for the start), twice, and keeps the result: the run's side
// of the determinism and no-panic invariants.
func (w *world) childApply(r *childRun, state []byte, ev interp.Event) error {
	ev.Time = w.clock.Now()
	r1, err1 := interp.Apply(r.def, state, r.meta, ev)
	r2, err2 := interp.Apply(r.def, state, r.meta, ev)
	switch {
	case (err1 == nil) != (err2 == nil):
		w.fail(InvDeterminism, runWhere(r), "%s\nIn %s, applied twice to the same state and meta, the %s event was accepted once and rejected once: %v / %v",
			hiddenInputNote, r, ev.Kind, err1, err2)
		return fmt.Errorf("simulate: %s: nondeterministic %s event", r, ev.Kind)
	case err1 != nil:
		var pe *interp.PanicError
		if errors.As(err1, &pe) {
			w.fail(InvPanic, pe.Path, "an event handler of %s panicked while handling a %s event: %v", r, ev.Kind, pe.Value)
		} else if errors.Is(err1, interp.ErrInternal) {
			w.fail(InvPanic, runWhere(r), "the interpreter failed on %s: %v", r, err1)
		}
		return err1
	}
	m1 := interp.EncodeMeta(r1.Meta)
	if !bytes.Equal(r1.State, r2.State) || !bytes.Equal(m1, interp.EncodeMeta(r2.Meta)) || !effectsEqual(r1.Effects, r2.Effects) {
		w.fail(InvDeterminism, runWhere(r), "%s\nIn %s, the same (state, meta, %s event) gave different results (-first +second):\n%s%s",
			hiddenInputNote, r, ev.Kind, metaDiff(r1.Meta, r2.Meta), w.effectsDiffIf(r1.Effects, r2.Effects))
		return fmt.Errorf("simulate: %s: nondeterministic %s event", r, ev.Kind)
	}
	r.state, r.meta = r1.State, r1.Meta
	if f := r1.Meta.Failure; f != nil && f.Panic {
		w.fail(InvPanic, f.Path, "user code of %s panicked: %s", r, f.Message)
	}
	for _, e := range r1.Effects {
		switch e.Kind {
		case interp.EffectRunActivity:
			r.acts[e.Callback] = e
		case interp.EffectCancelActivity:
			delete(r.acts, e.Callback)
		case interp.EffectStartChild:
			if _, ok := r.kids[e.Callback]; ok {
				continue
			}
			var sub *childRun
			switch d := childDefOf(r.def, e.Path, e.Type); {
			case d == nil:
				r.whyNot(e.Callback, "the simulator does not know its definition")
			case r.depth >= childDepth:
				r.whyNot(e.Callback, fmt.Sprintf("children deeper than %d levels are not run", childDepth))
			default:
				sub = w.startRun(d, e.Child, e.Data, r.depth+1)
			}
			r.kids[e.Callback] = sub
		case interp.EffectEndChild:
			if sub := r.kids[e.Callback]; sub != nil {
				w.endRun(sub, dsl.ParentEndPolicy(e.OnEnd), r.id)
			}
		}
	}
	return nil
}

// endRun ends r's run by the policy of a parent that stopped waiting for
// it, as the engine's end-child effect does: a cancel (its cleanup runs)
// or a terminate.
func (w *world) endRun(r *childRun, policy dsl.ParentEndPolicy, parent string) {
	if r.finished() || policy == dsl.AbandonChild {
		return
	}
	var line text
	switch {
	case policy == dsl.TerminateChild:
		line = join(say("the parent's end terminates %s", r), ": ",
			w.childEvent(r, interp.Event{Kind: interp.EventTerminate, Reason: "the parent " + parent + " ended", By: parent}))
	case r.meta.Status != interp.StatusCanceling:
		line = join(say("the parent's end cancels %s", r), ": ", w.childEvent(r, interp.Event{Kind: interp.EventCancel}))
	default:
		return
	}
	if w.disp != nil {
		w.disp.lines = append(w.disp.lines, line)
	} else {
		w.trace = append(w.trace, line)
	}
}

// runWhere names the positions of r's threads, for reports.
func runWhere(r *childRun) string {
	ps := make([]string, 0, len(r.meta.Threads))
	for _, th := range r.meta.Threads {
		ps = append(ps, th.Path)
	}
	return r.def.Name() + ": " + strings.Join(ps, ", ")
}

// childMove is one event a child's run (or the run of one of its own
// children) can take next.
type childMove struct {
	kind byte // 'a' an activity attempt, 'c' a child's end, 'e' a custom event, 't' a Resume at its due time
	do   func(src source, live bool) text
}

// childMoves appends to out the events r's run can take next, its own
// children's included.
func (w *world) childMoves(r *childRun, out []childMove) []childMove {
	if r.finished() {
		return out
	}
	if !r.meta.Due.IsZero() {
		out = append(out, childMove{'t', func(source, bool) text { return w.childResume(r) }})
	}
	for _, pe := range pendingIn(r.def, r.meta, interp.Custom) {
		out = append(out, childMove{'e', func(src source, _ bool) text {
			payload, v := w.payload(src, pe)
			return join(say("%s: deliver %s(%+v) to thread %s at wait %q", r, pe.p.Event, v, pe.thread, pe.path), ": ",
				w.childEvent(r, interp.Event{Kind: interp.EventCallback, Callback: pe.p.Callback, Payload: payload}))
		}})
	}
	for _, pe := range pendingIn(r.def, r.meta, interp.Activity) {
		if e, ok := r.acts[pe.p.Callback]; ok {
			out = append(out, childMove{'a', func(src source, live bool) text { return w.childActivity(src, r, e, live) }})
		}
	}
	for _, pe := range pendingIn(r.def, r.meta, interp.Child) {
		sub, ok := r.kids[pe.p.Callback]
		n := len(out)
		if ok && sub != nil && !sub.finished() {
			if out = w.childMoves(sub, out); len(out) > n {
				continue
			}
		}
		out = append(out, childMove{'c', func(src source, _ bool) text {
			var o interp.ChildOutcome
			var shown string
			switch {
			case sub != nil && sub.finished():
				o = sub.outcome()
				shown = w.showOutcome(r.def, pe.path, o)
			case sub != nil:
				o, shown = drawEnd(src, r.def, pe.path, "completed")
				shown += fmt.Sprintf(" (drawn: its run cannot go on, %s at %s)", sub.meta.Status, describe(sub.meta))
			default:
				o, shown = drawEnd(src, r.def, pe.path, "")
				why := r.notRun[pe.p.Callback]
				if why == "" {
					why = "its start was not seen"
				}
				shown += " (drawn: " + why + ")"
			}
			payload, err := interp.EncodeChildOutcome(o)
			if err != nil {
				panic(fmt.Sprintf("simulate: child outcome does not encode: %v", err))
			}
			return join(say("%s: its child %q at %q ends: %s", r, pe.p.Child, pe.path, shown), ": ",
				w.childEvent(r, interp.Event{Kind: interp.EventCallback, Callback: pe.p.Callback, Payload: payload}))
		}})
	}
	return out
}

// childResume moves the clock to r's due time and resumes its run: due
// timers fire, retries and yielded threads go on.
func (w *world) childResume(r *childRun) text {
	at := r.meta.Due
	w.moveClock(at)
	var fired []string
	for _, th := range r.meta.Threads {
		for _, p := range th.Waits {
			if p.Kind == interp.Timer && !p.At.After(r.meta.Due) {
				fired = append(fired, fmt.Sprintf("timer %s at wait %q", p.Event, th.Path))
			}
		}
	}
	what := "resume"
	if len(fired) > 0 {
		what = "time for " + strings.Join(fired, ", ")
	}
	return join(say("%s: %s (due %s)", r, what, dateTime(at)), ": ", w.childEvent(r, interp.Event{Kind: interp.EventResume}))
}

// childActivity runs an attempt of an activity r's run waits for: drawn
// (success, error, timeout) as the dispatch draws the instance's, or a
// success in the liveness phase (live).
func (w *world) childActivity(src source, r *childRun, e interp.Effect, live bool) text {
	w.moveClock(e.At)
	what := "success"
	if !live {
		what = pick(src, []string{"success", "error", "timeout"}, "child activity outcome")
	}
	var out []byte
	var msg, shown string
	switch what {
	case "error":
		msg, shown = "simulated failure", "error"
	case "timeout":
		msg, shown = "simulated timeout: context deadline exceeded", "timeout"
	default:
		out, msg, shown = w.childAttempt(src, r, e)
	}
	delete(r.acts, e.Callback)
	label := say("%s: activity %q of thread %s, attempt %d: %s", r, e.Path, e.Thread, e.Attempt, shown)
	ev := interp.Event{Kind: interp.EventCallback, Callback: e.Callback, Payload: out, Error: msg}
	err := w.childApply(r, r.state, ev)
	if errors.Is(err, interp.ErrRejected) && msg == "" {
		// A result the Call cannot take: the engine delivers a failed
		// attempt instead.
		ev.Payload, ev.Error = nil, "result rejected: "+err.Error()
		err = w.childApply(r, r.state, ev)
	}
	switch {
	case err != nil:
		return join(label, ": ", say("rejected: %s", shortError{err}))
	case r.finished():
		return join(label, ": ", say("accepted; it ends: %s", r.meta.Status))
	}
	return join(label, ": ", say("accepted"))
}

// childAttempt is a successful attempt of the activity of effect e of r's
// run (see succeed).
func (w *world) childAttempt(src source, r *childRun, e interp.Effect) (out []byte, msg, shown string) {
	return w.succeed(src, r.def, e.Path, e.Data, r.String())
}

// driveChild drives r's run towards its end as the liveness phase drives
// the instance, within bound events: activity attempts succeed and
// children's ends are taken first; then, in the first half of the bound,
// custom events are three times as likely as a Resume at the due time, and
// in the second half time moves first. It reports whether the run ended.
func (w *world) driveChild(src source, r *childRun, bound int) bool {
	for i := 0; i < bound && !r.finished() && w.failure == nil; i++ {
		moves := w.childMoves(r, nil)
		if len(moves) == 0 {
			break
		}
		var work, events, times []childMove
		for _, m := range moves {
			switch m.kind {
			case 'a', 'c':
				work = append(work, m)
			case 'e':
				events = append(events, m)
			default:
				times = append(times, m)
			}
		}
		choices := work
		switch {
		case len(choices) > 0:
		case i < bound/2:
			choices = append(append(append(append(choices, events...), events...), events...), times...)
		case len(times) > 0:
			choices = times
		default:
			choices = events
		}
		w.trace = append(w.trace, pick(src, choices, "child liveness move").do(src, true))
	}
	return r.finished()
}

// pendingIn lists the callbacks of kind that an instance of def with meta
// m waits for, as world.pending does for the simulated instance.
func pendingIn(def *dsl.Definition, m interp.Meta, kind interp.TriggerKind) []pending {
	var out []pending
	for _, th := range m.Threads {
		for _, p := range th.Waits {
			if p.Kind != kind {
				continue
			}
			pe := pending{thread: th.ID, path: th.Path, p: p}
			if n, _ := def.Lookup(th.Path); n.Kind() == dsl.KindWait {
				for _, on := range n.Arms() {
					if on.Name() == p.Event {
						pe.on = on
					}
				}
			}
			out = append(out, pe)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].p.Callback < out[j].p.Callback })
	return out
}

// loadChildren gives the children an instance loaded by Verify waits for
// their runs from their stored records in store (read only), upgraded to
// the definitions the world's definition starts: a child the store has
// not, or whose record does not load or upgrade, keeps a drawn end, and
// the trace says why.
func (w *world) loadChildren(ctx context.Context, store storage.Store) {
	for _, cb := range sortedChildren(w.children) {
		c := w.children[cb]
		if c.run != nil || len(c.started) == 0 {
			continue
		}
		def := childDefOf(w.def, c.path, c.workflow)
		if def == nil {
			c.why = "the simulator does not know its definition"
			continue
		}
		c.run, c.why = w.loadRun(ctx, store, def, c.id, 1)
		if c.run != nil {
			w.say("stored child %q (workflow %s), upgraded: %s, %s", c.id, c.workflow, c.run.meta.Status, describe(c.run.meta))
		}
	}
}

// loadRun makes a run of the stored instance id of def's workflow, at
// depth, and of the children it waits for; nil and why when it cannot.
func (w *world) loadRun(ctx context.Context, store storage.Store, def *dsl.Definition, id string, depth int) (*childRun, string) {
	si, err := store.Load(ctx, id)
	if err != nil {
		return nil, fmt.Sprintf("the stored child does not load: %v", err)
	}
	rec, err := codec.DecodeRecord(si.Data)
	var meta interp.Meta
	if err == nil {
		meta, err = interp.DecodeMeta(rec.Meta)
	}
	if err != nil {
		return nil, fmt.Sprintf("the stored child does not decode: %v", err)
	}
	up, err := interp.Upgrade(def, rec.State, meta)
	if err != nil {
		return nil, fmt.Sprintf("the stored child does not upgrade: %v", err)
	}
	r := &childRun{def: def, id: id, depth: depth, state: up.State, meta: up.Meta, acts: map[uint64]interp.Effect{}, kids: map[uint64]*childRun{}}
	for _, th := range up.Meta.Threads {
		for _, p := range th.Waits {
			switch p.Kind {
			case interp.Activity:
				// Its effect is in the store's outbox: the attempt runs on
				// today's state.
				r.acts[p.Callback] = interp.Effect{Kind: interp.EffectRunActivity, Thread: th.ID, Path: th.Path, Callback: p.Callback,
					At: p.At, Attempt: p.Attempt, Data: up.State}
			case interp.Child:
				var sub *childRun
				why := fmt.Sprintf("children deeper than %d levels are not run", childDepth)
				if d := childDefOf(def, th.Path, p.Type); d == nil {
					why = "the simulator does not know its definition"
				} else if depth < childDepth {
					sub, why = w.loadRun(ctx, store, d, p.Child, depth+1)
				}
				if sub == nil {
					r.whyNot(p.Callback, why)
				}
				r.kids[p.Callback] = sub
			}
		}
	}
	return r, ""
}

// sortedChildren returns the callbacks of children in order.
func sortedChildren(children map[uint64]*simChild) []uint64 {
	cbs := make([]uint64, 0, len(children))
	for cb := range children {
		cbs = append(cbs, cb)
	}
	sort.Slice(cbs, func(i, j int) bool { return cbs[i] < cbs[j] })
	return cbs
}
