package engine_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage/memory"
)

// rounds is a workflow that waits K times for "inc" (a custom event with a
// setup and a teardown), then completes.
var roundsWF = dsl.MustCompile[Count]("rounds", dsl.S(
	dsl.While("loop", func(s *Count) bool { return s.N < 12 },
		dsl.Wait("next", dsl.On("inc", dsl.Custom[Count, int, int]("tally", tally{})))),
	dsl.ReturnWith(func(s *Count) int { return s.N }),
))

// ledger records every setup, teardown and finish performed, and fails
// some first attempts.
type ledger struct {
	mu      sync.Mutex
	attempt map[string]int      // effect ID -> attempts
	done    map[string]int      // effect ID -> successful performances
	setup   map[string]bool     // "instance/callback" -> set up
	down    map[string]bool     // "instance/callback" -> torn down
	open    map[string]int      // instance -> setups not yet torn down
	bad     []string            // order violations
	finish  map[string]int      // instance -> finish hook successes
	seen    map[string][]string // instance -> callbacks set up, for the report
}

func newLedger() *ledger {
	return &ledger{attempt: map[string]int{}, done: map[string]int{}, setup: map[string]bool{}, down: map[string]bool{},
		open: map[string]int{}, finish: map[string]int{}, seen: map[string][]string{}}
}

// flaky fails the first attempt of about one effect in three.
func (l *ledger) flaky(id string) error {
	h := fnv.New32a()
	h.Write([]byte(id))
	if l.attempt[id]++; l.attempt[id] == 1 && h.Sum32()%3 == 0 {
		return errors.New("flaky: first attempt fails")
	}
	return nil
}

func (l *ledger) perform(kind string, info engine.EffectInfo) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.flaky(info.ID); err != nil {
		return err
	}
	l.done[info.ID]++
	wait := fmt.Sprintf("%s/%d", info.Instance, info.Callback)
	switch kind {
	case "setup":
		if l.down[wait] {
			l.bad = append(l.bad, "setup after teardown: "+info.ID)
		}
		l.setup[wait] = true
		l.open[info.Instance]++
		l.seen[info.Instance] = append(l.seen[info.Instance], wait)
	case "teardown":
		if !l.setup[wait] {
			l.bad = append(l.bad, "teardown before its setup: "+info.ID)
		}
		if !l.down[wait] {
			l.open[info.Instance]--
		}
		l.down[wait] = true
	case "finish":
		if l.open[info.Instance] != 0 {
			l.bad = append(l.bad, fmt.Sprintf("finish of %s with %d setups not torn down", info.Instance, l.open[info.Instance]))
		}
		l.finish[info.Instance]++
	}
	return nil
}

// check fails t for every order the ledger saw broken, every effect that
// succeeded more than once, and every instance of ids (a rounds instance)
// without its 12 setups, each torn down, and one finish.
func (l *ledger) check(t *testing.T, ids ...string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.bad {
		t.Error(b)
	}
	for id, n := range l.done {
		if n != 1 {
			t.Errorf("effect %s succeeded %d times", id, n)
		}
	}
	for _, id := range ids {
		if len(l.seen[id]) != 12 || l.open[id] != 0 || l.finish[id] != 1 {
			t.Errorf("%s: %d setups, %d not torn down, finished %d times", id, len(l.seen[id]), l.open[id], l.finish[id])
		}
	}
}

// Under Run, effects committed by Send and SignalWithStart are handed out
// from memory (the hot path) and, after failures and at polls, found by
// passes over the outbox. Whichever way, the order holds: every Teardown after its Setup
// succeeded, every instance's end after all its setups and teardowns, and
// no effect that succeeded is performed again.
func TestEffectOrderUnderRun(t *testing.T) {
	effectOrderUnderRun(t, func(*engine.Engine) {})
}

// The same when the hot path overflows: when Run's workers fall behind
// the senders (one busy core), the queue for the run loop fills and the
// Setups the hot path remembers reach their bound; the effects beyond go
// to passes, and a Teardown whose Setup a pass performed goes to a pass
// too. At 0, every commit's effects overflow (and no Setup is
// remembered); at 1 and 2, hot and pass-performed effects of one
// instance interleave.
func TestEffectOrderUnderRunOverflowing(t *testing.T) {
	for _, l := range []struct{ queued, setups int }{{0, 4096}, {4096, 0}, {1, 1}, {2, 0}, {0, 2}} {
		t.Run(fmt.Sprintf("queued=%d,setups=%d", l.queued, l.setups), func(t *testing.T) {
			effectOrderUnderRun(t, func(e *engine.Engine) { engine.SetHotLimits(e, l.queued, l.setups) })
		})
	}
}

// The same when the workers sweep the work table of finished jobs after
// every one or two (4,096 by default), between passes: a pass that read
// an effect from the outbox before it finished must still find it in
// flight, or it performs it again. (A sweep that ignored passes under
// way made one of these runs fail about half the time, so each runs six
// times.)
func TestEffectOrderUnderRunSweeping(t *testing.T) {
	for _, c := range []struct{ every, limits int }{{1, 1}, {1, 4096}, {2, 4096}} {
		t.Run(fmt.Sprintf("every=%d,limits=%d", c.every, c.limits), func(t *testing.T) {
			for range 6 {
				effectOrderUnderRun(t, func(e *engine.Engine) {
					engine.SetSweepEvery(e, c.every)
					engine.SetHotLimits(e, c.limits, c.limits)
				})
			}
		})
	}
}

func effectOrderUnderRun(t *testing.T, limit func(*engine.Engine)) {
	const instances = 24
	l := newLedger()
	e := newEngine(t, memory.New(),
		engine.WithRetryBackoff(time.Millisecond, 4*time.Millisecond),
		engine.WithPollInterval(3*time.Millisecond),
		engine.WithWorkers(8),
		engine.WithFinish(func(_ context.Context, info engine.EffectInfo) error { return l.perform("finish", info) }))
	limit(e)
	if err := e.Register(roundsWF); err != nil {
		t.Fatal(err)
	}
	e.Handle("tally", engine.SetupFuncs{
		SetupFunc:    func(_ context.Context, info engine.EffectInfo) error { return l.perform("setup", info) },
		TeardownFunc: func(_ context.Context, info engine.EffectInfo) error { return l.perform("teardown", info) },
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	var wg sync.WaitGroup
	for i := range instances {
		id := "r" + strconv.Itoa(i)
		wg.Go(func() {
			// Every other instance begins with a SignalWithStart whose
			// event leaves the wait its start opened: its first commit
			// holds a Setup and that Setup's Teardown.
			sends := 12
			if i%2 == 1 {
				if err := e.SignalWithStart(t.Context(), roundsWF, id, Count{}, "inc", 1); err != nil {
					t.Error(err)
					return
				}
				sends--
			} else if err := e.Start(t.Context(), roundsWF, id, Count{}); err != nil {
				t.Error(err)
				return
			}
			for range sends {
				if err := e.Send(t.Context(), id, "inc", 1, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.finish) == instances
	})
	for i := range instances {
		if inst, err := e.Get(t.Context(), "r"+strconv.Itoa(i)); err != nil || inst.Meta.Status != interp.StatusCompleted {
			t.Fatalf("r%d: %+v, %v", i, inst.Meta.Status, err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ids := make([]string, instances)
	for i := range ids {
		ids[i] = "r" + strconv.Itoa(i)
	}
	l.check(t, ids...)
}

// Run stopping while its hot path holds jobs (queued for a worker, and
// Teardowns parked behind Setups in flight) releases their claims, so
// that the next Run performs them from the outbox, in order and once.
func TestRunStopsWithJobsQueuedAndParked(t *testing.T) {
	l := newLedger()
	entered, release := make(chan struct{}), make(chan struct{})
	var blocked atomic.Bool
	e := newEngine(t, memory.New(),
		engine.WithRetryBackoff(time.Millisecond, 4*time.Millisecond),
		engine.WithPollInterval(3*time.Millisecond),
		engine.WithWorkers(1),
		engine.WithFinish(func(_ context.Context, info engine.EffectInfo) error { return l.perform("finish", info) }))
	if err := e.Register(roundsWF); err != nil {
		t.Fatal(err)
	}
	e.Handle("tally", engine.SetupFuncs{
		SetupFunc: func(ctx context.Context, info engine.EffectInfo) error {
			if blocked.CompareAndSwap(false, true) { // the first Setup holds the only worker
				close(entered)
				select {
				case <-release:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return l.perform("setup", info)
		},
		TeardownFunc: func(_ context.Context, info engine.EffectInfo) error { return l.perform("teardown", info) },
	})
	ctx := t.Context()
	if err := e.Start(ctx, roundsWF, "a", Count{}); err != nil { // its Setup is found by Run's first pass
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- e.Run(runCtx) }()
	<-entered
	// b's Setup is handed out by the hot path and queued (no worker is
	// idle), then taken by the run loop, which waits to hand it to the
	// worker; then b's next Teardown parks behind it, a's Teardowns go to
	// passes (a pass performed its Setup), and the Setups of both are
	// queued until Run stops.
	if err := e.Start(ctx, roundsWF, "b", Count{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { queued, _ := engine.HotHeld(e); return queued == 0 })
	for range 3 {
		for _, id := range []string{"a", "b"} {
			if err := e.Send(ctx, id, "inc", 1, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if queued, parked := engine.HotHeld(e); queued == 0 || parked == 0 {
		t.Fatalf("the hot path holds %d queued and %d parked jobs, want some of each", queued, parked)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if queued, parked := engine.HotHeld(e); queued != 0 || parked != 0 {
		t.Fatalf("after Run: %d queued and %d parked jobs held, want none", queued, parked)
	}

	close(release)
	runCtx, stop = context.WithCancel(ctx)
	go func() { done <- e.Run(runCtx) }()
	for range 9 {
		for _, id := range []string{"a", "b"} {
			if err := e.Send(ctx, id, "inc", 1, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.finish) == 2
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	l.check(t, "a", "b")
}
