package simulate

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

// Early sends: a custom event sent while no thread waits for it goes to
// the instance's inbox (an interp.EventSignal event), and the first wait that
// takes it to open later receives it. The simulator sends such events at
// random, like engine.Send does when a caller is ahead of the workflow,
// and checks every invariant through them as through any other event:
// the model folds the same Signal events through the pure interpreter.

// earlyEvents lists the custom events the current definition takes
// somewhere but no thread waits for now, one entry per event name (the
// first On of that name, by path). It is empty once the instance has
// finished or its inbox is full. Like pending's, the list is computed once
// per model state (every action asks whether it is empty); the caller
// must not modify it.
func (w *world) earlyEvents() []pending {
	waited := w.pending(interp.Custom) // (brings pendingCache to this state)
	c := &w.pendingCache
	if c.earlyDone {
		return c.early
	}
	c.earlyDone = true
	m := w.current()
	if m.Status.Finished() || len(m.Inbox) >= interp.DefaultInboxLimit {
		return nil
	}
	ons := customOns(w)
	for _, on := range ons {
		if !slices.ContainsFunc(waited, func(pe pending) bool { return pe.p.Event == on.Name() }) {
			if c.early == nil {
				c.early = make([]pending, 0, len(ons)) // one array, not one per growth
			}
			c.early = append(c.early, onPending(on))
		}
	}
	return c.early
}

// onPending is the pending callback a custom On's wait would have for it.
func onPending(on dsl.Node) pending {
	wait := strings.TrimSuffix(on.Path(), "/"+on.Name()) // an On's path is its wait's and its name
	return pending{path: wait, p: interp.Pending{Event: on.Name(), Kind: interp.Custom}, on: on}
}

// customOns returns the first custom On of every event name in the
// current definition, sorted by name (a draw's index must mean the same
// On in every run).
func customOns(w *world) []dsl.Node {
	if w.ons.def == w.def {
		return w.ons.list
	}
	first := map[string]dsl.Node{}
	for _, path := range w.def.Positions() {
		n, _ := w.def.Lookup(path)
		if n.Trigger() != dsl.TriggerCustom {
			continue
		}
		if f, ok := first[n.Name()]; !ok || path < f.Path() {
			first[n.Name()] = n
		}
	}
	list := make([]dsl.Node, 0, len(first))
	for _, n := range first {
		list = append(list, n)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name() < list[j].Name() })
	w.ons.def, w.ons.list = w.def, list
	return list
}

// early sends one event no thread waits for.
func (a *actions) early(src source, crash crashPoint) {
	if a.done() {
		return
	}
	w := a.w
	pe := pick(src, w.earlyEvents(), "early event")
	payload, v := w.payload(src, pe)
	w.pickVia(src)
	w.apply(interp.Event{Kind: interp.EventSignal, Name: pe.p.Event, Payload: payload}, crash, say("%v", earlyLine{pe.p.Event, v}))
}

// earlyLine is the trace line of an early send.
type earlyLine struct {
	event string
	v     any
}

func (l earlyLine) String() string {
	return fmt.Sprintf("send %s(%+v) before any thread waits for it (to the inbox)", l.event, l.v)
}
