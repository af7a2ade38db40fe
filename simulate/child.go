package simulate

import (
	"context"
	"fmt"
	"sort"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
)

// Child workflows (dsl.Child). The simulated hosts are given the
// simulator as their engine.ChildRunner: a start-child effect a host
// performs starts the child in the simulator, which then plays the child's
// end as an event it may deliver at any point, in any order with the
// other events, duplicated, or with the host crashing before or after its
// commit (the crash between a child's finish and its parent's wake-up: the
// end is delivered again, as the child's finishing effect is retried by
// the engine). The child's end is drawn: completed with an output of the
// type the parent's store function takes, or failed, canceled or
// terminated. An end-child effect (the parent stopped waiting) ends the
// child by its policy. The child's own run is its definition's business:
// check it with Check on its own definition, and Verify checks stored
// children as the ordinary instances of their workflow they are.
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
	// atStart is the child's own end when its definition, run by the pure
	// interpreter from its input, ends in its first transition (no wait):
	// then that is the end delivered, not a drawn one.
	atStart *interp.ChildOutcome
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
			c.atStart = w.runChild(info)
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

// childEnd delivers the end of a started child, drawn: completed (with an
// output of the type the parent's Child takes), failed, canceled or
// terminated.
func (a *actions) childEnd(src source, crash crashPoint) {
	a.childEndAs(src, pick(src, a.w.startedChildren(), "child"), "", crash)
}

// childEndAs delivers pe's child's end with status how ("" draws it).
func (a *actions) childEndAs(src source, pe pending, how string, crash crashPoint) {
	w := a.w
	var o interp.ChildOutcome
	var shown string
	if c := w.children[pe.p.Callback]; c != nil && c.atStart != nil {
		o = *c.atStart // the child's own end, whatever was asked
		shown = fmt.Sprintf("%s in its first transition", o.Status)
		if o.Error != "" {
			shown += ": " + o.Error
		}
	} else {
		o, shown = w.drawChildEnd(src, pe, how)
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
	if how == "" {
		how = pick(src, []string{"completed", "failed", "canceled", "terminated"}, "child end")
	}
	shown = how
	switch how {
	case "completed":
		o.Status = interp.StatusCompleted
		var v any
		if n, _ := w.def.Lookup(pe.path); n.Kind() == dsl.KindChild && n.Output() != nil {
			v = valueOf(src, n.Output(), pe.path).Interface()
		}
		b, err := codec.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("simulate: the drawn output of child %q does not encode: %v", pe.p.Child, err))
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

// runChild runs the child a start-child effect starts, through the pure
// interpreter from its input: its end if it ends in its first transition,
// else nil (its end is then drawn).
func (w *world) runChild(info engine.EffectInfo) *interp.ChildOutcome {
	n, _ := w.def.Lookup(info.Path)
	def := n.ChildDefinition()
	if def == nil {
		return nil
	}
	r, err := interp.Apply(def, info.Data, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: w.clock.Now(), Instance: info.Child})
	if err != nil || !r.Meta.Status.Finished() {
		return nil
	}
	o := interp.ChildOutcomeOf(r.Meta)
	return &o
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

// registerChildren registers on e the definitions def's (and upgrade's)
// Child statements start, recursively, for Register's check: the hosts'
// ChildRunner is the simulator, so no child runs in the store.
func registerChildren(e *engine.Engine, defs ...*dsl.Definition) error {
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
	if len(todo) == 0 {
		return nil
	}
	return e.Register(todo...)
}
