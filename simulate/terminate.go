package simulate

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
	"pgregory.net/rapid"
)

// terminate ends the instance the way engine.Terminate does, through a
// host's engine. It ends every run it is taken in, so like cancel it goes
// through rarely: one time in sixteen.
func (a *actions) terminate(rt *rapid.T) {
	if a.done() {
		return
	}
	if ints(0, 15).Draw(rt, "terminate now") != 0 {
		return
	}
	a.w.pickVia(rapidSource{rt})
	a.w.apply(interp.Event{Kind: interp.EventTerminate, Reason: "simulated", By: "simulator"}, noCrash, say("terminate"))
}

// checkTerminate checks an accepted Terminate ev against the model's meta
// before it (w.meta) and the state it was applied to: no workflow code ran
// (the state is the same bytes, no thread is left, nothing is due), the
// instance is terminated with who and why recorded, and its effects are
// exactly the teardowns of the waits it had (a teardown for every setup
// emitted, the timers and activities canceled, children ended by policy), a Dropped effect for each
// event still buffered in the inbox, and then the end. That each
// teardown is then performed once, after its setup, and before the end,
// is checked by the receivers (InvSetupTeardown, InvEffects).
func (w *world) checkTerminate(state []byte, ev interp.Event, r interp.Result) {
	m := r.Meta
	switch {
	case !bytes.Equal(r.State, state):
		w.fail(InvTerminate, "", "the state changed (-before +after):\n%s", w.stateDiff(state, r.State))
		return
	case m.Status != interp.StatusTerminated || m.Terminated == nil || m.Terminated.Reason != ev.Reason || m.Terminated.By != ev.By:
		w.fail(InvTerminate, "", "after a Terminate the instance is %s, its termination recorded as %+v", m.Status, m.Terminated)
		return
	case len(m.Threads) != 0 || !m.Due.IsZero() || len(m.Inbox) != 0:
		w.fail(InvTerminate, "", "after a Terminate threads are left (%+v), something is due (%v) or events are buffered (%d)", m.Threads, m.Due, len(m.Inbox))
		return
	}
	var want []string
	for _, th := range w.meta.Threads {
		for _, p := range th.Waits {
			switch {
			case p.Kind == interp.Timer:
				want = append(want, fmt.Sprintf("cancel-timer cb%d", p.Callback))
			case p.Kind == interp.Activity:
				want = append(want, fmt.Sprintf("cancel-activity cb%d", p.Callback))
			case p.Kind == interp.Child:
				if dsl.ParentEndPolicy(p.OnEnd) != dsl.AbandonChild { // the child is ended by its policy
					want = append(want, fmt.Sprintf("end-child cb%d", p.Callback))
				}
			case p.Setup:
				want = append(want, fmt.Sprintf("teardown cb%d", p.Callback))
			}
		}
	}
	for range w.meta.Inbox { // buffered events no wait will take now
		want = append(want, "dropped cb0")
	}
	want = append(want, "terminated cb0")
	got := make([]string, 0, len(r.Effects))
	for _, e := range r.Effects {
		got = append(got, fmt.Sprintf("%s cb%d", e.Kind, e.Callback))
	}
	if !slices.Equal(want, got) {
		w.fail(InvTerminate, "", "a Terminate emitted %v, want the teardowns of the open waits and the end: %v", got, want)
	}
}

// checkTerminateStored checks what the host committed for an accepted
// Terminate against the model's termination: a Terminate runs no workflow
// code, so no hidden input can make the two differ, and a difference is
// the host's (it applied another event, or changed the result), not
// nondeterminism.
func (w *world) checkTerminateStored(rec codec.Record) {
	if bytes.Equal(rec.State, w.state) && bytes.Equal(rec.Meta, w.metaB) {
		return
	}
	w.fail(InvTerminate, "", "the host committed, for a Terminate, something other than the termination (-model +stored):\n%s%s",
		w.stateDiff(w.state, rec.State), metaDiff(w.meta, w.storedMeta(rec)))
}
