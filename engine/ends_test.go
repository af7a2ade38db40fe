package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// Ends is the state of the workflows whose ends these tests look at.
type Ends struct{ Said string }

var (
	// endsAtOnce completes in its first transition (a Create).
	endsAtOnce = dsl.MustCompile[Ends]("ends-at-once", dsl.Return("done"))
	// endsOnSignal waits for "go", then completes; canceled or terminated
	// while it waits.
	endsOnSignal = dsl.MustCompile[Ends]("ends-on-signal", dsl.S(
		dsl.Wait("wait", dsl.On("go", dsl.Signal(func(s *Ends, v string) (string, error) { s.Said = v; return v, nil }))),
		dsl.ReturnWith(func(s *Ends) string { return s.Said }),
	))
)

// endEvery ends one instance in each way an instance ends: at once,
// completed by a signal, canceled and terminated. It returns the IDs and
// their final statuses.
func endEvery(t *testing.T, v *env) map[string]interp.Status {
	t.Helper()
	v.start(endsAtOnce, "at-once", Ends{})
	for _, id := range []string{"signal", "cancel", "terminate"} {
		v.start(endsOnSignal, id, Ends{})
	}
	if err := v.e.Send(v.ctx, "signal", "go", "yes", nil); err != nil {
		t.Fatal(err)
	}
	if err := v.e.Cancel(v.ctx, "cancel"); err != nil {
		t.Fatal(err)
	}
	if err := v.e.Terminate(v.ctx, "terminate", "test"); err != nil {
		t.Fatal(err)
	}
	return map[string]interp.Status{
		"at-once": interp.StatusCompleted, "signal": interp.StatusCompleted,
		"cancel": interp.StatusCanceled, "terminate": interp.StatusTerminated,
	}
}

// wantEndEffects checks that the outbox holds one effect, its end's, for
// each instance of ends.
func wantEndEffects(t *testing.T, v *env, ends map[string]interp.Status) {
	t.Helper()
	byInstance := map[string]int{}
	for _, e := range v.outbox() {
		byInstance[e.Instance]++
	}
	for id := range ends {
		if byInstance[id] != 1 {
			t.Errorf("%s: %d effects in the outbox, want its end's", id, byInstance[id])
		}
	}
}

// WithoutEndEffects: an instance's end (completed at its start or later,
// canceled, terminated) leaves nothing in the outbox, since no process
// has a hook to perform it for. Await still hears of every end.
func TestEndWithoutEndEffectsKeepsNoEffect(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{endsAtOnce, endsOnSignal}, engine.WithoutEndEffects())
	ends := endEvery(t, v)
	if out := v.outbox(); len(out) != 0 {
		t.Fatalf("outbox after the ends, with no finish hook: %+v", out)
	}
	for id, want := range ends {
		if got := v.get(id).Meta.Status; got != want {
			t.Errorf("%s: status %s, want %s", id, got, want)
		}
		err := v.e.Await(v.ctx, id, nil)
		if want == interp.StatusCompleted && err != nil || want != interp.StatusCompleted && err == nil {
			t.Errorf("Await %s: %v", id, err)
		}
	}
}

// WithoutEndEffects on the other ways an instance starts: with a signal
// (ending at once), and over a running instance of its ID, which ends
// (terminated) in the commit that starts the new run, itself ending at
// once. No end is an effect, and Await hears of each.
func TestEndWithoutEndEffectsSignalWithStartAndReuse(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{endsAtOnce, endsOnSignal}, engine.WithoutEndEffects())
	if err := v.e.SignalWithStart(v.ctx, endsOnSignal, "sws", Ends{}, "go", "yes"); err != nil {
		t.Fatal(err)
	}
	v.start(endsOnSignal, "r", Ends{})
	if err := v.e.Start(v.ctx, endsAtOnce, "r", Ends{}, engine.WithIDReuse(engine.IDReuseTerminateRunning)); err != nil {
		t.Fatal(err)
	}
	if out := v.outbox(); len(out) != 0 {
		t.Fatalf("outbox after the ends: %+v", out)
	}
	for _, id := range []string{"sws", "r"} {
		v.wantStatus(id, interp.StatusCompleted)
		if err := v.e.Await(v.ctx, id, nil); err != nil {
			t.Errorf("Await %s: %v", id, err)
		}
	}
}

// By default, an engine with no hook of its own keeps every end's effect:
// another process sharing the store may have one (a service's Run, after
// `weft terminate` ended an instance from the command line).
func TestEndWithoutHookKeepsItsEffectByDefault(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{endsAtOnce, endsOnSignal})
	ends := endEvery(t, v)
	wantEndEffects(t, v, ends)
}

// WithoutEndEffects and a finish hook contradict each other.
func TestWithoutEndEffectsRefusesAHook(t *testing.T) {
	_, err := engine.New(memory.New(), engine.WithoutEndEffects(),
		engine.WithFinish(func(context.Context, engine.EffectInfo) error { return nil }))
	var oe *engine.OptionError
	if !errors.As(err, &oe) || oe.Option != "WithoutEndEffects" {
		t.Fatalf("New with both: %v, want an *OptionError for WithoutEndEffects", err)
	}
}

// With a finish hook, each end keeps its effect in the outbox until the
// hook has been told, once.
func TestEndWithHookKeepsItsEffect(t *testing.T) {
	var mu sync.Mutex
	told := map[string]interp.EffectKind{}
	v := newEnv(t, []*dsl.Definition{endsAtOnce, endsOnSignal}, engine.WithFinish(func(_ context.Context, info engine.EffectInfo) error {
		mu.Lock()
		defer mu.Unlock()
		if _, twice := told[info.Instance]; twice {
			return errors.New("told twice")
		}
		told[info.Instance] = info.Kind
		return nil
	}))
	ends := endEvery(t, v)
	wantEndEffects(t, v, ends)
	v.drain()
	if out := v.outbox(); len(out) != 0 {
		t.Fatalf("outbox after Drain: %+v", out)
	}
	kinds := map[interp.Status]interp.EffectKind{
		interp.StatusCompleted: interp.EffectCompleted, interp.StatusCanceled: interp.EffectCanceled,
		interp.StatusTerminated: interp.EffectTerminated,
	}
	for id, status := range ends {
		if told[id] != kinds[status] {
			t.Errorf("%s: hook told %v, want %v", id, told[id], kinds[status])
		}
	}
}

// A child's end keeps its effect even WithoutEndEffects: the parent must
// hear of it.
func TestEndOfChildWithoutEndEffectsKeepsItsEffect(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{pickWF, orderCancel}, engine.WithoutEndEffects())
	v.start(orderCancel, "o1", Order{Item: "tea"})
	v.drain()
	if err := v.e.Send(v.ctx, pickOfO1, "pack", false, nil); err != nil {
		t.Fatal(err)
	}
	var ends []storage.Effect
	for _, e := range v.outbox() {
		if e.Instance == pickOfO1 {
			ends = append(ends, e)
		}
	}
	if len(ends) != 1 {
		t.Fatalf("the child's effects in the outbox after its end: %+v, want its end's", ends)
	}
	v.drain()
	if o := v.wantStatus("o1", interp.StatusCompleted); output[Order](t, o).Packed != "packed tea" {
		t.Fatalf("parent output %+v", output[Order](t, o))
	}
}

// Hosts sharing a store with leases, WithoutEndEffects: instances that
// end by a due resume under a lease (a yielding workflow) and by a signal
// all end, leave nothing in the outbox, and leave no work for anyone.
func TestEndWithoutEndEffectsUnderLeases(t *testing.T) {
	clock := engine.NewFakeClock(t0)
	m := memory.New()
	yielding := w1Def(dsl.Budget(1)) // ten steps, a due resume after each
	var hosts []host
	for i := range 2 {
		var st storage.Store = m
		if i > 0 {
			st = m.Share()
		}
		e := newEngine(t, st, engine.WithLeases(fmt.Sprintf("host-%d", i), time.Minute), engine.WithClock(clock), engine.WithoutEndEffects())
		if err := e.Register(yielding, endsOnSignal); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, host{e, st})
	}
	ctx := t.Context()
	const n = 200
	for i := range n {
		if err := hosts[i%2].e.Start(ctx, yielding, fmt.Sprintf("w%03d", i), W1{}); err != nil {
			t.Fatal(err)
		}
		if err := hosts[i%2].e.Start(ctx, endsOnSignal, fmt.Sprintf("s%03d", i), Ends{}); err != nil {
			t.Fatal(err)
		}
	}
	runDueAll(t, hosts)
	for i := range n {
		if err := hosts[(i+1)%2].e.Send(ctx, fmt.Sprintf("s%03d", i), "go", "yes", nil); err != nil {
			t.Fatal(err)
		}
	}
	runDueAll(t, hosts)
	for i := range n {
		for _, id := range []string{fmt.Sprintf("w%03d", i), fmt.Sprintf("s%03d", i)} {
			inst, err := hosts[0].e.Get(ctx, id)
			if err != nil || inst.Meta.Status != interp.StatusCompleted {
				t.Fatalf("%s: %v, %v", id, inst.Meta.Status, err)
			}
		}
	}
	if out, err := m.Outbox(ctx, 1000); err != nil || len(out) != 0 {
		t.Fatalf("outbox %+v, %v", out, err)
	}
	if next, err := m.NextWork(ctx, clock.Now().Add(time.Hour)); err != nil || !next.IsZero() {
		t.Fatalf("work left at %v, %v", next, err)
	}
}
