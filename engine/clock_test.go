package engine_test

import (
	"context"
	"runtime"
	"strconv"
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

// A timer armed with TimerAt for a time the clock has already reached
// fires at once, even when the clock got there before the timer was armed.
func TestFakeClockTimerAt(t *testing.T) {
	c := engine.NewFakeClock(t0)
	past, _ := c.TimerAt(t0.Add(-time.Second))
	if got := <-past; !got.Equal(t0) {
		t.Fatalf("fired with %v", got)
	}
	at, _ := c.TimerAt(t0.Add(time.Hour))
	c.Advance(30 * time.Minute)
	select {
	case <-at:
		t.Fatal("fired early")
	default:
	}
	c.Advance(2 * time.Hour) // past the deadline: fires
	if got := <-at; !got.Equal(t0.Add(150 * time.Minute)) {
		t.Fatalf("fired with %v", got)
	}
	late, _ := c.TimerAt(t0.Add(time.Hour)) // armed after the clock passed it
	<-late
}

type Doze struct{}

var dozeWF = dsl.MustCompile[Doze]("doze", dsl.S(
	dsl.Wait("sleep", dsl.On("wake", dsl.After(time.Hour))),
	dsl.Return("rested"),
))

// Advance races with Run's passes: every instance sleeps an hour on the
// fake clock, and the clock is advanced an hour while Run handles the
// start, so the advance often lands during a pass. Run must never sleep
// through it (it used to arm its sleep after the pass with a wait computed
// before it, so an advance during the pass was missed and Run slept until
// a poll that the stopped fake clock never reached).
func TestRunAdvanceRacesPasses(t *testing.T) {
	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	finished := make(chan string, 1)
	v := newEnv(t, []*dsl.Definition{dozeWF}, engine.WithFinish(func(_ context.Context, info engine.EffectInfo) error {
		finished <- info.Instance
		return nil
	}))
	ctx, cancel := context.WithCancel(v.ctx)
	done := make(chan error)
	go func() { done <- v.e.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for i := range rounds {
		id := "d" + strconv.Itoa(i)
		v.start(dozeWF, id, Doze{})
		advanced := make(chan struct{})
		go func() {
			defer close(advanced)
			for range i % 4 { // vary where in the pass the advance lands
				runtime.Gosched()
			}
			v.clock.Advance(time.Hour)
		}()
		select {
		case got := <-finished:
			if got != id {
				t.Fatalf("round %d: %s finished, want %s", i, got, id)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: Run slept through an Advance; %s is %s", i, id, v.get(id).Meta.Status)
		}
		<-advanced
	}
}
