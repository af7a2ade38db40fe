package engine_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// ackLog is a store that records the IDs of every Ack call.
type ackLog struct {
	storage.Store
	mu    sync.Mutex
	calls [][]string
}

func (s *ackLog) Ack(ctx context.Context, ids ...string) error {
	s.mu.Lock()
	s.calls = append(s.calls, slices.Clone(ids))
	s.mu.Unlock()
	return s.Store.Ack(ctx, ids...)
}

// TestCommitEffectsShareAnAck checks that under Run the effects of one
// commit (the Teardown of the wait a send answers and the Setup of the
// next) are performed together and acknowledged in one Ack, not one each.
func TestCommitEffectsShareAnAck(t *testing.T) {
	const sends = 20
	store := &ackLog{Store: memory.New()}
	e := newEngine(t, store)
	var setups, teardowns atomic.Int64
	ctx := runCounters(t, e, engine.SetupFuncs{
		SetupFunc:    func(context.Context, engine.EffectInfo) error { setups.Add(1); return nil },
		TeardownFunc: func(context.Context, engine.EffectInfo) error { teardowns.Add(1); return nil },
	}, "c")
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	acked := func() int {
		store.mu.Lock()
		defer store.mu.Unlock()
		n := 0
		for _, c := range store.calls {
			n += len(c)
		}
		return n
	}
	// The first Setup was committed before Run: a pass performs it.
	waitFor("the first setup", func() bool { return acked() == 1 })
	for i := 1; i <= sends; i++ {
		if err := e.Send(ctx, "c", "inc", 1, nil); err != nil {
			t.Fatal(err)
		}
		// One send at a time, so that every Teardown finds its Setup
		// acknowledged: the store has the Ack, and the engine has recorded
		// it (just after the Ack returns).
		waitFor("send "+strconv.Itoa(i)+"'s effects", func() bool { return acked() == 1+2*i })
		waitFor("send "+strconv.Itoa(i)+"'s Setup recorded", func() bool { return engine.SetupsInFlight(e) == 0 })
	}
	if setups.Load() != sends+1 || teardowns.Load() != sends {
		t.Fatalf("%d setups and %d teardowns, want %d and %d", setups.Load(), teardowns.Load(), sends+1, sends)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	// The first send's Teardown follows a Setup a pass performed, so a
	// pass performs it too; from the second send on, every send's two
	// effects share one Ack.
	pairs := 0
	for _, c := range store.calls {
		if len(c) == 2 {
			pairs++
		}
	}
	if pairs != sends-1 {
		t.Errorf("%d of %d sends had their effects acknowledged together, want %d; Acks: %q",
			pairs, sends, sends-1, store.calls)
	}
}

// TestParkedTeardownTakesItsCommit checks that when a send commits the
// Teardown of a wait whose Setup is still being performed (the send came
// before the worker was done with it), the Setup committed with the
// Teardown waits with it, and the two go together after the first Setup,
// in one Ack, instead of the new Setup going alone and the Teardown after
// (three Acks for two commits' effects).
func TestParkedTeardownTakesItsCommit(t *testing.T) {
	store := &ackLog{Store: memory.New()}
	e := newEngine(t, store)
	var setups, teardowns atomic.Int64
	var mu sync.Mutex
	setupIDs := map[int64]engine.EffectInfo{} // by the order performed
	teardownIDs := map[uint64]string{}        // by callback
	entered, release := make(chan struct{}), make(chan struct{})
	hold := holdSecondSetup(&setups, entered, release)
	ctx := runCounters(t, e, engine.SetupFuncs{
		SetupFunc: func(ctx context.Context, info engine.EffectInfo) error {
			mu.Lock()
			setupIDs[setups.Load()+1] = info // (Setups run one at a time here)
			mu.Unlock()
			return hold(ctx, info)
		},
		TeardownFunc: func(_ context.Context, info engine.EffectInfo) error {
			mu.Lock()
			teardownIDs[info.Callback] = info.ID
			mu.Unlock()
			teardowns.Add(1)
			return nil
		},
	}, "c")
	waitFor(t, func() bool { return setups.Load() == 1 })
	if err := e.Send(ctx, "c", "inc", 1, nil); err != nil {
		t.Fatal(err)
	}
	<-entered
	// The second send's Teardown finds its Setup in flight.
	if err := e.Send(ctx, "c", "inc", 1, nil); err != nil {
		t.Fatal(err)
	}
	close(release)
	waitFor(t, func() bool { // every effect acknowledged: three Setups, two Teardowns
		store.mu.Lock()
		defer store.mu.Unlock()
		n := 0
		for _, c := range store.calls {
			n += len(c)
		}
		return n == 5
	})
	if setups.Load() != 3 || teardowns.Load() != 2 {
		t.Fatalf("%d setups and %d teardowns, want 3 and 2", setups.Load(), teardowns.Load())
	}
	mu.Lock()
	teardown := teardownIDs[setupIDs[2].Callback] // of the wait the held Setup set up
	setup := setupIDs[3].ID
	mu.Unlock()
	if teardown == "" || setup == "" {
		t.Fatalf("the second send's Teardown (%q) or Setup (%q) not seen", teardown, setup)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	for _, c := range store.calls {
		if slices.Contains(c, teardown) && slices.Contains(c, setup) {
			return
		}
	}
	t.Errorf("the second send's Teardown %s and Setup %s were not acknowledged together; Acks: %q", teardown, setup, store.calls)
}

// TestSendChainYields checks that a worker performing a chain of one
// instance's commits (each send made while the last one's Setup is being
// performed, so that its Teardown and Setup wait for it) goes back to the
// queue after a few rounds, so that another instance's effects are not
// held back until the sends stop.
func TestSendChainYields(t *testing.T) {
	e := newEngine(t, memory.New(), engine.WithWorkers(1))
	var mu sync.Mutex
	setups, teardowns := map[string]int{}, map[string]int{}
	count := func(m map[string]int, info engine.EffectInfo) {
		mu.Lock()
		m[info.Instance]++
		mu.Unlock()
	}
	// A Setup of a lets the next send to a commit while it runs.
	started, sentNext := make(chan struct{}), make(chan struct{})
	ctx := runCounters(t, e, engine.SetupFuncs{
		SetupFunc: func(_ context.Context, info engine.EffectInfo) error {
			if info.Instance == "a" {
				select {
				case started <- struct{}{}:
					select {
					case <-sentNext:
					case <-time.After(100 * time.Millisecond):
					}
				case <-time.After(100 * time.Millisecond):
				}
			}
			count(setups, info)
			return nil
		},
		TeardownFunc: func(_ context.Context, info engine.EffectInfo) error { count(teardowns, info); return nil },
	}, "a", "b")
	get := func(m map[string]int, id string) int {
		mu.Lock()
		defer mu.Unlock()
		return m[id]
	}
	waitFor(t, func() bool { return get(setups, "b") == 1 })
	if err := e.Send(ctx, "a", "inc", 1, nil); err != nil { // its Setup starts the chain
		t.Fatal(err)
	}
	// a's sends, each while the last one's Setup runs, for 3 s at most.
	var sending atomic.Bool
	sending.Store(true)
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		defer sending.Store(false)
		deadline := time.After(3 * time.Second)
		for {
			select {
			case <-started:
			case <-stop:
				return
			case <-deadline:
				return
			}
			if err := e.Send(ctx, "a", "inc", 1, nil); err != nil {
				t.Error(err)
				return
			}
			select {
			case sentNext <- struct{}{}:
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); <-sent }()
	waitFor(t, func() bool { return get(setups, "a") >= 20 })
	if err := e.Send(ctx, "b", "inc", 1, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return get(setups, "b") == 2 && get(teardowns, "b") == 1 })
	if !sending.Load() {
		t.Errorf("b's effects waited until a's sends stopped (%d of a's setups performed)", get(setups, "a"))
	}
}

// TestQueuedSetupBreaksTheChain checks that a commit whose Teardown waits
// for a Setup that itself waits in a parked group does not wait too: its
// Setup goes at once (on a durable store, where an Ack rides on the next
// commit, a chain of commits each waiting for the last fell further
// behind the sends at every hiccup).
func TestQueuedSetupBreaksTheChain(t *testing.T) {
	e := newEngine(t, memory.New())
	var setups atomic.Int64
	entered, release := make(chan struct{}), make(chan struct{})
	ctx := runCounters(t, e, engine.SetupFuncs{
		SetupFunc: holdSecondSetup(&setups, entered, release),
	}, "c")
	defer close(release)
	waitFor(t, func() bool { return setups.Load() == 1 })
	if err := e.Send(ctx, "c", "inc", 1, nil); err != nil {
		t.Fatal(err)
	}
	<-entered
	// The second send's Teardown and Setup wait for the held Setup; the
	// third's Teardown waits for the second's Setup, and its Setup goes.
	for range 2 {
		if err := e.Send(ctx, "c", "inc", 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return setups.Load() == 3 })
}

// runCounters registers setupCounterWF on e with handler for its waits,
// starts an instance of it for each of ids, and runs e until the test
// ends (then the Run must have returned no error). It returns the
// context the instances were started with.
func runCounters(t *testing.T, e *engine.Engine, handler engine.SetupFuncs, ids ...string) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	if err := e.Register(setupCounterWF); err != nil {
		t.Fatal(err)
	}
	e.Handle("tally", handler)
	for _, id := range ids {
		if err := e.Start(ctx, setupCounterWF, id, Count{}); err != nil {
			t.Fatal(err)
		}
	}
	ran := make(chan error, 1)
	go func() { ran <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	})
	return ctx
}

// holdSecondSetup is a Setup handler counting into setups that holds the
// second Setup (the first send's; the first is the start's) until release
// is closed, closing entered when it starts to.
func holdSecondSetup(setups *atomic.Int64, entered, release chan struct{}) func(context.Context, engine.EffectInfo) error {
	return func(context.Context, engine.EffectInfo) error {
		if setups.Add(1) == 2 {
			close(entered)
			<-release
		}
		return nil
	}
}
