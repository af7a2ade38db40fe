package simulate

import (
	"context"
	"fmt"
	"reflect"
	"sort"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
)

// Child workflows (dsl.Child). The simulated hosts are given the
// simulator as their engine.ChildRunner: a start-child effect a host
// performs starts the child in the simulator, which runs the child's own
// definition for real, through the pure interpreter from its input (a
// childRun, childrun.go). The child's run advances by drawn events, as the
// instance does: its timers fire (a Resume at its due time, the world's
// clock moved there), its custom events arrive with payloads drawn as the
// instance's are (Options.Payloads, else from the payload type), its Call
// activities run (stubs of Options.Activities, else the activity on its
// snapshot) and succeed or fail as drawn, and its own children run the
// same way, down to childDepth. The "child step" action advances one
// child's run by one such event, at any point among the parent's events;
// the "child end" action delivers the end of a child whose run has ended
// (its real outcome, interp.ChildOutcomeOf), or else ends it from outside
// (an EventCancel, whose cleanup section then runs, or an EventTerminate)
// or drives it on to its end. The end is delivered to the parent like an
// event, so it is duplicated, reordered, or lost to or committed before a
// host's crash like one (the crash between a child's finish and its
// parent's wake-up: the end is delivered again, as the child's finishing
// effect is retried by the engine). The liveness phase drives a child
// still running to its end as it drives the instance; only a child that
// cannot end (stuck, or still going after the liveness bound) gets a
// drawn end: completed with an output of the type the parent's store
// function takes, and the trace says it was drawn. An end-child effect
// (the parent stopped waiting) cancels or terminates the child's run by
// its policy. A child started before the simulation (the child of an
// instance Verify loads) runs from its stored record, read from Verify's
// store and upgraded to the definition the new parent starts (a child
// the store has not, or whose record does not upgrade, gets a drawn
// end); Verify also checks the stored child as the ordinary instance of
// its workflow it is.
//
// Invariant InvChild, checked as the run ends: every child started was
// started once, and either its end reached the parent exactly once, or
// the parent stopped waiting and ended it once (cancel, terminate) or
// left it (abandon); no child was ended whose end the parent had taken.

// InvChild is the invariant of child workflows.
const InvChild = "every child's end reaches the parent exactly once, or the parent's end reaches the child"

// simChild is a child the simulated parent started.
type simChild struct {
	id, workflow, path string
	started            []string // distinct start-child effect IDs performed
	ended              []string // distinct end-child effect IDs performed
	onEnd              dsl.ParentEndPolicy
	delivered          int // accepted deliveries of its end
	// run is the child's own run; nil when the simulator does not run it
	// (why says why), and its end is drawn.
	run *childRun
	why string
	// steps counts the "child step" actions taken on it: the random phase
	// stops stepping it at childSteps.
	steps int
}

// StartChild and EndChild make the simulator the hosts' ChildRunner.
func (rc *receiverOf) StartChild(_ context.Context, info engine.EffectInfo) error {
	return rc.r.perform(rc.host, info)
}

func (rc *receiverOf) EndChild(_ context.Context, info engine.EffectInfo) error {
	return rc.r.perform(rc.host, info)
}

// childOf returns the child started for callback cb, making its entry.
func (w *world) childOf(cb uint64) *simChild {
	if w.children == nil {
		w.children = map[uint64]*simChild{}
	}
	c := w.children[cb]
	if c == nil {
		c = &simChild{}
		w.children[cb] = c
	}
	return c
}

// performChild is the receiver of start-child and end-child effects (after
// de-duplication by effect ID).
func (w *world) performChild(info engine.EffectInfo) {
	c := w.childOf(info.Callback)
	c.id, c.workflow, c.path = info.Child, info.Type, info.Path
	switch info.Kind {
	case interp.EffectStartChild:
		if len(c.started) == 0 {
			if def := childDefOf(w.def, info.Path, info.Type); def != nil {
				c.run = w.startRun(def, info.Child, info.Data, 1)
			} else {
				c.why = "the simulator does not know its definition"
			}
		}
		c.started = append(c.started, info.ID)
		if len(c.started) > 1 {
			w.fail(InvChild, info.Path, "child %q of callback %d was started by two effects: %v", info.Child, info.Callback, c.started)
		}
	case interp.EffectEndChild:
		c.onEnd = info.OnEnd
		c.ended = append(c.ended, info.ID)
		switch {
		case len(c.started) == 0:
			w.fail(InvChild, info.Path, "child %q of callback %d was ended (%s) before it was started", info.Child, info.Callback, info.ID)
		case len(c.ended) > 1:
			w.fail(InvChild, info.Path, "child %q of callback %d was ended twice: %v", info.Child, info.Callback, c.ended)
		case c.delivered > 0:
			w.fail(InvChild, info.Path, "child %q of callback %d was ended (%s) after its end reached the parent", info.Child, info.Callback, info.ID)
		case info.OnEnd == dsl.AbandonChild:
			w.fail(InvChild, info.Path, "child %q of callback %d is abandoned, yet an end-child effect was performed", info.Child, info.Callback)
		case c.run != nil:
			w.endRun(c.run, info.OnEnd, instanceID)
		}
	}
}

// countChildEnd counts an accepted event that answers a child's wait, from
// the meta before it.
func (w *world) countChildEnd(pre interp.Meta, ev interp.Event) {
	if ev.Kind != interp.EventCallback {
		return
	}
	for _, th := range pre.Threads {
		for _, p := range th.Waits {
			if p.Callback == ev.Callback && p.Kind == interp.Child {
				c := w.childOf(p.Callback)
				c.delivered++
				if c.delivered > 1 {
					w.fail(InvChild, th.Path, "the end of child %q (callback %d) reached the parent %d times", p.Child, p.Callback, c.delivered)
				}
			}
		}
	}
}

// startedChildren lists the children the parent waits for whose start was
// performed: only a started child can end.
func (w *world) startedChildren() []pending {
	var out []pending
	for _, pe := range w.pending(interp.Child) {
		if c := w.children[pe.p.Callback]; c != nil && len(c.started) > 0 {
			out = append(out, pe)
		}
	}
	return out
}

// steppable lists the started children the parent waits for whose run
// goes on and may take a "child step" (fewer than childSteps so far).
func (w *world) steppable() []pending {
	var out []pending
	for _, pe := range w.startedChildren() {
		if c := w.children[pe.p.Callback]; c.run != nil && !c.run.finished() && c.steps < childSteps {
			out = append(out, pe)
		}
	}
	return out
}

// childStep advances the run of a child the parent waits for by one drawn
// event of the run (or of its own children's runs).
func (a *actions) childStep(src source) {
	w := a.w
	pe := pick(src, w.steppable(), "child")
	c := w.children[pe.p.Callback]
	c.steps++
	m := pick(src, w.childMoves(c.run, nil), "child move")
	w.trace = append(w.trace, m.do(src, false))
}

// childEnd is the "child end" action: a started child whose run has ended
// has its end delivered to the parent; one still running is canceled or
// terminated from outside (and its end delivered if that ended it), or
// driven on to its end and its end delivered.
func (a *actions) childEnd(src source, crash crashPoint) {
	w := a.w
	pe := pick(src, w.startedChildren(), "child")
	if r := w.children[pe.p.Callback].run; r != nil && !r.finished() {
		switch pick(src, []string{"its own end", "canceled", "terminated"}, "child end") {
		case "canceled":
			if r.meta.Status == interp.StatusCanceling {
				w.say("%s is canceling already", r)
			} else {
				w.trace = append(w.trace, join(say("someone cancels %s", r), ": ", w.childEvent(r, interp.Event{Kind: interp.EventCancel})))
			}
		case "terminated":
			w.trace = append(w.trace, join(say("someone terminates %s", r), ": ",
				w.childEvent(r, interp.Event{Kind: interp.EventTerminate, Reason: "simulated termination", By: "simulate"})))
		default:
			w.say("%s runs on to its end", r)
			w.driveChild(src, r, w.opts.liveness)
		}
		if !r.finished() || w.failure != nil {
			return // its end comes later
		}
	}
	a.childEndAs(src, pe, "", crash)
}

// childEndAs delivers the end of pe's child: its run's own end, driven
// there first as the liveness phase drives the instance if the run goes
// on; an end drawn with status how ("" draws it) only if the child is not
// run or cannot end.
func (a *actions) childEndAs(src source, pe pending, how string, crash crashPoint) {
	w := a.w
	var o interp.ChildOutcome
	var shown string
	c := w.children[pe.p.Callback]
	switch {
	case c != nil && c.run != nil:
		r := c.run
		if !r.finished() {
			w.say("%s runs on to its end", r)
			if w.driveChild(src, r, w.opts.liveness); w.failure != nil {
				return
			}
		}
		if r.finished() {
			o = r.outcome()
			shown = w.showOutcome(w.def, pe.path, o)
			break
		}
		o, shown = w.drawChildEnd(src, pe, how)
		shown += fmt.Sprintf(" (drawn: its run did not end within %d events, %s at %s)", w.opts.liveness, r.meta.Status, describe(r.meta))
	default:
		why := "its run is not simulated"
		if c != nil && c.why != "" {
			why = c.why
		}
		o, shown = w.drawChildEnd(src, pe, how)
		shown += " (drawn: " + why + ")"
	}
	payload, err := interp.EncodeChildOutcome(o)
	if err != nil {
		panic(fmt.Sprintf("simulate: child outcome does not encode: %v", err))
	}
	w.pickVia(src)
	w.apply(interp.Event{Kind: interp.EventCallback, Callback: pe.p.Callback, Payload: payload}, crash,
		say("child %q (workflow %s) of thread %s at %q ends: %s (callback %d)", pe.p.Child, pe.p.Type, pe.thread, pe.path, shown, pe.p.Callback))
}

// drawChildEnd draws the end of pe's child with status how ("" draws it).
func (w *world) drawChildEnd(src source, pe pending, how string) (o interp.ChildOutcome, shown string) {
	return drawEnd(src, w.def, pe.path, how)
}

// drawEnd draws the end of the child of def's Child statement at path,
// with status how ("" draws it): completed with an output of the type the
// store function takes, failed, canceled or terminated.
func drawEnd(src source, def *dsl.Definition, path, how string) (o interp.ChildOutcome, shown string) {
	if how == "" {
		how = pick(src, []string{"completed", "failed", "canceled", "terminated"}, "child end")
	}
	shown = how
	switch how {
	case "completed":
		o.Status = interp.StatusCompleted
		var v any
		if n, _ := def.Lookup(path); n.Kind() == dsl.KindChild && n.Output() != nil {
			v = valueOf(src, n.Output(), path).Interface()
		}
		b, err := codec.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("simulate: the drawn output of the child at %q does not encode: %v", path, err))
		}
		o.Output = b
		shown = fmt.Sprintf("completed with %+v", v)
	case "failed":
		o.Status, o.Error, o.Path = interp.StatusFailed, "simulated child failure", "(child)"
	case "canceled":
		o.Status = interp.StatusCanceled
	default:
		o.Status, o.Error = interp.StatusTerminated, "simulated termination"
	}
	return o, shown
}

// showOutcome shows a child's real end, for the trace: its output decoded
// as the store function of def's Child statement at path takes it.
func (w *world) showOutcome(def *dsl.Definition, path string, o interp.ChildOutcome) string {
	switch o.Status {
	case interp.StatusCompleted:
		if n, _ := def.Lookup(path); n.Kind() == dsl.KindChild && n.Output() != nil {
			v := reflect.New(n.Output())
			if codec.Unmarshal(o.Output, v.Interface()) == nil {
				return fmt.Sprintf("completed with %+v", v.Elem().Interface())
			}
		}
		return fmt.Sprintf("completed with output %x", o.Output)
	case interp.StatusFailed:
		return fmt.Sprintf("failed at %q: %s", o.Path, o.Error)
	case interp.StatusTerminated:
		return "terminated: " + o.Error
	}
	return o.Status.String()
}

// childDefOf is the definition of the child workflow named workflow that
// def's Child statement at path starts; nil if def has none.
func childDefOf(def *dsl.Definition, path, workflow string) *dsl.Definition {
	if n, _ := def.Lookup(path); n.Kind() == dsl.KindChild {
		if d := n.ChildDefinition(); d != nil && d.Name() == workflow {
			return d
		}
	}
	for _, d := range def.Children() {
		if d.Name() == workflow {
			return d
		}
	}
	return nil
}

// checkChildren checks InvChild at the end of a run whose instance
// finished: each started child ended one way, once.
func (w *world) checkChildren() {
	cbs := make([]uint64, 0, len(w.children))
	for cb := range w.children {
		cbs = append(cbs, cb)
	}
	sort.Slice(cbs, func(i, j int) bool { return cbs[i] < cbs[j] })
	for _, cb := range cbs {
		c := w.children[cb]
		if len(c.started) == 0 {
			continue
		}
		switch {
		case c.delivered == 1:
		case c.delivered == 0 && c.onEnd != dsl.AbandonChild && len(c.ended) != 1:
			if pol := w.childPolicy(c.path); pol == dsl.AbandonChild {
				continue
			}
			w.fail(InvChild, c.path, "the parent ended while it waited for child %q (callback %d), and the child was ended %d times, not once", c.id, cb, len(c.ended))
			return
		}
	}
}

// childPolicy is the parent-end policy of the Child statement at path in
// the current definition.
func (w *world) childPolicy(path string) dsl.ParentEndPolicy {
	n, _ := w.def.Lookup(path)
	return n.ParentEnd()
}

// registerAll registers on e the child definitions defs (see
// childDefinitions), for Register's check: the hosts' ChildRunner is the
// simulator, so no child runs in the store.
func registerAll(e *engine.Engine, defs []*dsl.Definition) error {
	if len(defs) == 0 {
		return nil
	}
	return e.Register(defs...)
}

// childDefinitions lists the definitions defs' Child statements start,
// recursively, without defs themselves.
func childDefinitions(defs ...*dsl.Definition) []*dsl.Definition {
	seen := map[string]bool{}
	for _, d := range defs {
		if d != nil {
			seen[d.Name()] = true
		}
	}
	var todo []*dsl.Definition
	var queue []*dsl.Definition
	for _, d := range defs {
		if d != nil {
			queue = append(queue, d)
		}
	}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		for _, c := range d.Children() {
			if !seen[c.Name()] {
				seen[c.Name()] = true
				todo = append(todo, c)
				queue = append(queue, c)
			}
		}
	}
	return todo
}
