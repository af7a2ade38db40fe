package interp_test

import (
	"errors"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

// A restarted run continues the previous run's numbering: its effect IDs
// and callbacks are new, a callback of the old run is refused as stale,
// and otherwise it runs as a fresh start does.
func TestRestartContinuesNumbering(t *testing.T) {
	def := dsl.MustCompile[counter]("r", dsl.Wait("ask",
		dsl.On("m", dsl.Custom[counter, bool, string]("req", approver{})),
		dsl.On("t", dsl.After(time.Hour))))
	i := start(t, def, nil)
	old := i.callback("main", "m")
	i.mustApply(interp.Event{Kind: interp.EventTerminate, Reason: "x"})
	prev := i.meta
	ev := interp.Event{Kind: interp.EventStart, Time: t0.Add(time.Minute), Instance: "i1"}
	fresh, err := interp.Apply(def, nil, interp.Meta{}, ev)
	if err != nil {
		t.Fatal(err)
	}
	res, err := interp.Restart(def, nil, prev, ev)
	if err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if res.Meta.Seq != prev.Seq+1 || res.Meta.NextCallback != prev.NextCallback+fresh.Meta.NextCallback {
		t.Errorf("seq %d, next callback %d; want %d, %d", res.Meta.Seq, res.Meta.NextCallback, prev.Seq+1, prev.NextCallback+fresh.Meta.NextCallback)
	}
	if res.Meta.Status != interp.StatusRunning || res.Meta.Terminated != nil || !res.Meta.Started.Equal(ev.Time) {
		t.Errorf("restarted meta %+v, want a fresh running one", res.Meta)
	}
	if len(res.Effects) != len(fresh.Effects) {
		t.Fatalf("effects %+v, want those of a fresh start %+v", res.Effects, fresh.Effects)
	}
	for k, e := range res.Effects {
		f := fresh.Effects[k]
		if e.Kind != f.Kind || e.ID.Seq != prev.Seq+1 || (f.Callback != 0 && e.Callback != f.Callback+prev.NextCallback) {
			t.Errorf("effect %d: %+v, want %+v renumbered", k, e, f)
		}
	}
	// The new run's wait answers to the new callback; the old one is stale.
	i.meta, i.state, i.now = res.Meta, res.State, ev.Time
	p := i.callback("main", "m")
	if p.Callback <= old.Callback || p.Callback <= prev.NextCallback {
		t.Errorf("new callback %d, old %d: not renumbered", p.Callback, old.Callback)
	}
	if err := i.apply(interp.Event{Kind: interp.EventCallback, Callback: old.Callback, Payload: []byte{0xf5}}); !errors.Is(err, interp.ErrStaleCallback) {
		t.Errorf("old run's callback on the new run: %v, want ErrStaleCallback", err)
	}
	i.mustApply(interp.Event{Kind: interp.EventCallback, Callback: p.Callback, Payload: []byte{0xf5}})
	i.wantStatus(interp.StatusCompleted)

	// Only a finished run is followed by a new one.
	running, _ := interp.Apply(def, nil, interp.Meta{}, ev)
	if _, err := interp.Restart(def, nil, running.Meta, ev); !errors.Is(err, interp.ErrBadEvent) {
		t.Errorf("Restart of a running instance: %v, want ErrBadEvent", err)
	}
	if _, err := interp.Restart(def, nil, prev, interp.Event{Kind: interp.EventResume, Time: ev.Time}); !errors.Is(err, interp.ErrBadEvent) {
		t.Errorf("Restart with a resume: %v, want ErrBadEvent", err)
	}
}
