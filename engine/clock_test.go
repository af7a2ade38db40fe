package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
)

func TestFakeClock(t *testing.T) {
	c := engine.NewFakeClock(t0)
	fired := func(ch <-chan time.Time) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	a, _ := c.Timer(time.Minute)
	b, stopB := c.Timer(2 * time.Minute)
	now, _ := c.Timer(0)
	if !fired(now) {
		t.Fatal("a zero timer did not fire at once")
	}
	c.Advance(59 * time.Second)
	if fired(a) || !c.Now().Equal(t0.Add(59*time.Second)) {
		t.Fatal("fired early")
	}
	c.Advance(time.Second)
	if !fired(a) {
		t.Fatal("did not fire at its deadline")
	}
	stopB()
	c.Set(t0.Add(time.Hour))
	if fired(b) {
		t.Fatal("a stopped timer fired")
	}
	c.Set(t0) // backwards
	if !c.Now().Equal(t0) {
		t.Fatalf("now %v", c.Now())
	}
}

// Run sleeps on the engine's clock: with a fake clock, timers fire when the
// clock is advanced.
func TestRunWithFakeClock(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{napWF}, engine.WithPollInterval(time.Hour))
	ctx, cancel := context.WithCancel(v.ctx)
	done := make(chan error)
	go func() { done <- v.e.Run(ctx) }()
	v.start(napWF, "n", Nap{})
	time.Sleep(10 * time.Millisecond)
	if st := v.get("n").Meta.Status; st != interp.StatusRunning {
		t.Fatalf("status %s before the clock moved", st)
	}
	waitFor(t, func() bool {
		v.clock.Advance(10 * time.Millisecond)
		return v.get("n").Meta.Status == interp.StatusCompleted
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
