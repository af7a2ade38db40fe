package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage/memory"
)

type Nap struct{ Woke bool }

var napWF = dsl.MustCompile[Nap]("nap", dsl.S(
	dsl.Wait("sleep", dsl.On("wake", dsl.After(50*time.Millisecond),
		dsl.Step("woke", func(s *Nap) error { s.Woke = true; return nil }))),
	dsl.Return("rested"),
))

// Run with the wall clock: the timer fires when due, not at the next poll
// (an hour away), and Run stops cleanly on cancel.
func TestRunWithRealClock(t *testing.T) {
	store := memory.New()
	finished := make(chan engine.EffectInfo, 1)
	e := newEngine(t, store,
		engine.WithPollInterval(time.Hour),
		engine.WithFinish(func(_ context.Context, info engine.EffectInfo) error {
			finished <- info
			return nil
		}))
	if err := e.Register(napWF); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()

	began := time.Now()
	if err := e.Start(t.Context(), napWF, "n", Nap{}); err != nil {
		t.Fatal(err)
	}
	select {
	case info := <-finished:
		if info.Kind != interp.EffectCompleted || info.Instance != "n" {
			t.Fatalf("finished %+v", info)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the timer did not fire")
	}
	if took := time.Since(began); took < 50*time.Millisecond {
		t.Fatalf("finished after %v, before the timer", took)
	}
	wantErr(t, e.Run(ctx), engine.ErrRunning)
	wantErr(t, e.Drain(ctx), engine.ErrRunning)
	waitFor(t, func() bool { // the hook ran; its effect is acknowledged right after
		effs, _ := store.Outbox(ctx, 10)
		return len(effs) == 0
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	inst, err := e.Get(t.Context(), "n")
	if err != nil || inst.Meta.Status != interp.StatusCompleted {
		t.Fatalf("instance %+v, %v", inst, err)
	}
	if s, _ := engine.Query[Nap](t.Context(), e, "n"); !s.Woke {
		t.Fatal("the step after the timer did not run")
	}
}

// Canceling an instance while its activity runs cancels the activity's
// context, and the engine does not deliver the unwanted result.
func TestRunCancelStopsRunningActivity(t *testing.T) {
	c := &charges{block: true}
	wf := paymentWF(c, 3, 0)
	store := memory.New()
	e := newEngine(t, store, engine.WithPollInterval(10*time.Millisecond), engine.WithWorkers(2))
	if err := e.Register(wf); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	if err := e.Start(ctx, wf, "p", Payment{Amount: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(c.calls()) == 1 })
	if err := e.Cancel(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		effs, _ := store.Outbox(ctx, 10)
		return len(effs) == 0
	})
	inst, _ := e.Get(ctx, "p")
	if inst.Meta.Status != interp.StatusCanceled || inst.Version != 2 {
		t.Fatalf("instance %s at version %d", inst.Meta.Status, inst.Version)
	}
	if n := len(c.calls()); n != 1 {
		t.Fatalf("%d attempts", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Many instances with timers and activities, driven by Run with the wall
// clock and several workers.
func TestRunManyInstances(t *testing.T) {
	c := &charges{}
	pay := paymentWF(c, 3, time.Second)
	store := memory.New()
	e := newEngine(t, store, engine.WithWorkers(4))
	if err := e.Register(pay, napWF); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	const n = 100
	for i := range n {
		id := string(rune('a'+i%26)) + string(rune('0'+i/26))
		if err := e.Start(ctx, pay, "pay-"+id, Payment{Amount: 1}); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx, napWF, "nap-"+id, Nap{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool {
		list, err := e.List(ctx, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, inst := range list {
			if inst.Meta.Status != interp.StatusCompleted {
				return false
			}
		}
		return len(list) == 2*n
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := len(c.calls()); got != n {
		t.Fatalf("%d activity calls for %d instances", got, n)
	}
}
