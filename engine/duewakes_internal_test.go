package engine

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/storage/memory"
)

// sleeper is an instance that waits for a timer of its definition's
// length, then ends.
type sleeper struct{}

func sleepFor(name string, d time.Duration) *dsl.Definition {
	return dsl.MustCompile[sleeper](name, dsl.Wait("sleep", dsl.On("elapsed", dsl.After(d), dsl.Return(true))))
}

// dueRun is an engine on a fake clock with an hour's poll, under Run, over
// a store that counts reads of its due index; finished receives the ID of
// each instance that ends.
type dueRun struct {
	e        *Engine
	clock    *FakeClock
	store    *countingReads
	finished chan string
}

func runDue(t *testing.T, defs ...*dsl.Definition) *dueRun {
	t.Helper()
	mem := memory.New()
	r := &dueRun{
		clock:    NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		store:    &countingReads{Store: mem, mem: mem},
		finished: make(chan string, 16),
	}
	e, err := New(r.store, WithClock(r.clock), WithPollInterval(time.Hour), WithFinish(func(_ context.Context, info EffectInfo) error {
		r.finished <- info.Instance
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(defs...); err != nil {
		t.Fatal(err)
	}
	r.e = e
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	})
	return r
}

// sleepsUntil waits until the run loop sleeps until at, and fails the test
// if it does not within 10 s.
func (r *dueRun) sleepsUntil(t *testing.T, at time.Time) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.e.sleepsUntil.Load() != at.UnixNano() {
		if time.Now().After(deadline) {
			t.Fatalf("the run loop sleeps until %v, want %v", time.Unix(0, r.e.sleepsUntil.Load()).UTC(), at)
		}
		time.Sleep(time.Millisecond)
	}
}

// A commit that makes an instance due after the run loop's next read of
// the store does not wake the loop (a Start of a day-long timer used to
// cost a read of the due index, alongside the caller); one due before it
// does, or the loop would sleep through it.
func TestDueWakesOnlyForAnEarlierTime(t *testing.T) {
	ctx := context.Background()
	day, minute := sleepFor("day", 24*time.Hour), sleepFor("minute", time.Minute)
	r := runDue(t, day, minute)
	t0 := r.clock.Now()
	r.sleepsUntil(t, t0.Add(time.Hour)) // the poll: nothing is due
	reads := r.store.dueReads.Load()
	for i := range 200 {
		if err := r.e.Start(ctx, day, "day"+strconv.Itoa(i), sleeper{}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond) // time for passes the Starts asked for
	if got := r.store.dueReads.Load() - reads; got != 0 {
		t.Errorf("200 Starts due after the loop's next read made %d reads of the due index, want 0", got)
	}
	if err := r.e.Start(ctx, minute, "minute", sleeper{}); err != nil {
		t.Fatal(err)
	}
	r.sleepsUntil(t, t0.Add(time.Minute))
	r.clock.Advance(time.Minute)
	select {
	case id := <-r.finished:
		if id != "minute" {
			t.Fatalf("%s finished, want minute", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the minute's timer did not fire")
	}
}

// Commits race with the run loop's reads of the store. Each round starts
// an instance due in two minutes, whose commit wakes the loop, and at once
// another due in one: its commit lands before, during or after the pass
// the first asked for. Then the clock moves a minute: if the pass missed
// the second instance and its commit did not wake the loop again, the loop
// sleeps until the first's time, which the stopped clock does not reach.
func TestDueWakesRaceWithPasses(t *testing.T) {
	ctx := context.Background()
	rounds := 2000
	if testing.Short() {
		rounds = 300
	}
	one, two := sleepFor("one", time.Minute), sleepFor("two", 2*time.Minute)
	r := runDue(t, one, two)
	next := func(round int, want string) {
		t.Helper()
		r.clock.Advance(time.Minute)
		select {
		case got := <-r.finished:
			if got != want {
				t.Fatalf("round %d: %s finished, want %s", round, got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the run loop slept through %s's timer", round, want)
		}
	}
	for i := range rounds {
		n := strconv.Itoa(i)
		if err := r.e.Start(ctx, two, "two"+n, sleeper{}); err != nil {
			t.Fatal(err)
		}
		for range i % 8 { // vary where in the pass the next commit lands
			runtime.Gosched()
		}
		if err := r.e.Start(ctx, one, "one"+n, sleeper{}); err != nil {
			t.Fatal(err)
		}
		next(i, "one"+n)
		next(i, "two"+n)
	}
}
