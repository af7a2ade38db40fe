package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"github.com/weftflow/weft/storage/memory"
)

// Job is a workflow with every kind of work Run does: budget-yield
// resumes (five steps, one per transition), an activity, then a custom
// event whose setup handler runs in Run.
type Job struct {
	N       int
	Receipt string
	Answer  string
}

// jobWork is what the job workflow's activity and handler do: while
// blocked, every call waits for its context to end, as slow I/O would.
type jobWork struct {
	mu        sync.Mutex
	blocked   bool
	running   int                 // calls waiting right now
	activity  map[string][]string // instance -> effect IDs of the attempts
	setups    map[string][]string // instance -> effect IDs of the setups
	teardowns map[string][]string
}

func newJobWork() *jobWork {
	return &jobWork{blocked: true, activity: map[string][]string{}, setups: map[string][]string{}, teardowns: map[string][]string{}}
}

// call records a call and, while blocked, waits for ctx.
func (w *jobWork) call(ctx context.Context, calls map[string][]string, instance string) error {
	w.mu.Lock()
	calls[instance] = append(calls[instance], engine.EffectID(ctx))
	blocked := w.blocked
	if blocked {
		w.running++
	}
	w.mu.Unlock()
	if !blocked {
		return nil
	}
	<-ctx.Done()
	w.mu.Lock()
	w.running--
	w.mu.Unlock()
	return ctx.Err()
}

func (w *jobWork) counts() (running, activities, setups int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ids := range w.activity {
		activities += len(ids)
	}
	for _, ids := range w.setups {
		setups += len(ids)
	}
	return w.running, activities, setups
}

func (w *jobWork) unblock() {
	w.mu.Lock()
	w.blocked = false
	w.mu.Unlock()
}

func (w *jobWork) Setup(ctx context.Context, info engine.EffectInfo) error {
	return w.call(ctx, w.setups, info.Instance)
}

func (w *jobWork) Teardown(ctx context.Context, info engine.EffectInfo) error {
	return w.call(ctx, w.teardowns, info.Instance)
}

type asker struct{}

func (asker) Handle(s *Job, answer string) (string, error) { s.Answer = answer; return "ok", nil }
func (asker) Setup(*Job) any                               { return "please answer" }

func jobWF(w *jobWork) *dsl.Definition {
	// Even instances block in the activity; odd ones pass it and block in
	// the setup handler.
	act := func(ctx context.Context, s Job) (string, error) {
		id := strings.SplitN(engine.EffectID(ctx), "/", 2)[0]
		var n int
		fmt.Sscanf(id, "job-%d", &n)
		if n%2 == 1 {
			w.mu.Lock()
			w.activity[id] = append(w.activity[id], engine.EffectID(ctx))
			w.mu.Unlock()
			return "receipt " + id, nil
		}
		if err := w.call(ctx, w.activity, id); err != nil {
			return "", err
		}
		return "receipt " + id, nil
	}
	return dsl.MustCompile[Job]("job", dsl.S(
		dsl.While("count", func(s *Job) bool { return s.N < 5 },
			dsl.Step("add", func(s *Job) error { s.N++; return nil })),
		dsl.Call("charge", act, func(s *Job, r string) { s.Receipt = r }),
		dsl.Wait("ask", dsl.On("answer", dsl.Custom[Job, string, string]("asker", asker{}))),
		dsl.ReturnWith(func(s *Job) string { return fmt.Sprintf("%d %s %s", s.N, s.Receipt, s.Answer) }),
	), dsl.Budget(1))
}

// Run stopped while resumes, activities and setup handlers are in flight
// returns promptly and leaves a store that a new engine (after the file is
// closed and opened again, as after a restart) reads and finishes: every
// instance completes with the right output, every effect is performed, an
// abandoned activity attempt runs again with the same effect ID.
func TestRunStopMidWorkThenRestart(t *testing.T) {
	const n = 20
	path := filepath.Join(t.TempDir(), "weft.db")
	store, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	w := newJobWork()
	wf := jobWF(w)
	e := newEngine(t, store, engine.WithWorkers(16), engine.WithPollInterval(10*time.Millisecond))
	if err := e.Register(wf); err != nil {
		t.Fatal(err)
	}
	e.Handle("asker", w)
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	for i := range n {
		if err := e.Start(t.Context(), wf, fmt.Sprintf("job-%02d", i), Job{}); err != nil {
			t.Fatal(err)
		}
	}
	// Stop once activities and handlers are blocked in flight.
	waitFor(t, func() bool {
		_, acts, setups := w.counts()
		return acts >= n/2 && setups >= 2
	})
	running, _, _ := w.counts()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if running == 0 {
		t.Fatal("nothing was in flight")
	}
	if k := engine.LockedInstances(e); k != 0 {
		t.Fatalf("%d instance locks left", k)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	_, actsBefore, _ := w.counts()

	// The restart: the file reopened, a new engine, nothing blocks.
	store, err = bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	w.unblock()
	restarted := newEngine(t, store, engine.WithPollInterval(10*time.Millisecond))
	if err := restarted.Register(wf); err != nil {
		t.Fatal(err)
	}
	restarted.Handle("asker", w)
	list, err := restarted.List(t.Context(), "", 100)
	if err != nil || len(list) != n {
		t.Fatalf("after the stop: %d instances, %v", len(list), err)
	}
	for _, inst := range list {
		if inst.Meta.Status != interp.StatusRunning {
			t.Fatalf("%s is %s after the stop", inst.ID, inst.Meta.Status)
		}
	}
	ctx, stop = context.WithCancel(t.Context())
	defer stop()
	go func() { done <- restarted.Run(ctx) }()
	for i := range n {
		id := fmt.Sprintf("job-%02d", i)
		waitFor(t, func() bool {
			err := restarted.Send(t.Context(), id, "answer", "yes", nil, engine.NoBuffer())
			if err != nil && !errors.Is(err, engine.ErrNoSuchWait) {
				t.Fatalf("send to %s: %v", id, err)
			}
			return err == nil
		})
	}
	waitFor(t, func() bool {
		effs, err := store.Outbox(t.Context(), 10)
		return err == nil && len(effs) == 0
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	if _, acts, _ := w.counts(); acts <= actsBefore {
		t.Fatal("no activity ran again after the restart")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range n {
		id := fmt.Sprintf("job-%02d", i)
		inst, err := restarted.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		var out string
		if err := inst.DecodeOutput(&out); err != nil || out != "5 receipt "+id+" yes" {
			t.Fatalf("%s: output %q, %v", id, out, err)
		}
		// An attempt abandoned by the stop ran again under the same
		// effect ID: the attempt did not count as failed.
		acts := w.activity[id]
		if len(acts) == 0 || len(acts) > 2 || acts[0] != acts[len(acts)-1] {
			t.Fatalf("%s: activity effect IDs %q", id, acts)
		}
		// A setup interrupted by the stop was performed again, with the
		// same ID, before its teardown.
		setups, teardowns := w.setups[id], w.teardowns[id]
		if len(setups) == 0 || setups[0] != setups[len(setups)-1] || len(teardowns) != 1 {
			t.Fatalf("%s: setups %q, teardowns %q", id, setups, teardowns)
		}
	}
}

// A handler that finishes its work as Run stops (it returns success after
// Run's context ended) is acknowledged: the next Run does not perform it
// again. Without this, every graceful stop (a deploy) performed again
// whatever handlers were finishing.
func TestRunStopAcknowledgesWhatSucceeded(t *testing.T) {
	store := memory.New()
	e := newEngine(t, store)
	if err := e.Register(requestWF); err != nil {
		t.Fatal(err)
	}
	var setups atomic.Int32
	entered := make(chan struct{}, 1)
	e.Handle("ask-manager", engine.SetupFuncs{SetupFunc: func(ctx context.Context, _ engine.EffectInfo) error {
		if setups.Add(1) == 1 {
			entered <- struct{}{}
			<-ctx.Done() // Run stops while the work is done
		}
		return nil
	}})
	if err := e.Start(t.Context(), requestWF, "r1", Request{}); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- e.Run(ctx) }()
	<-entered
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if left, err := store.Outbox(t.Context(), 10); err != nil || len(left) != 0 {
		t.Fatalf("after the stop the outbox holds %v (%v): the setup that succeeded was not acknowledged", effectIDs(left), err)
	}
	if err := e.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := setups.Load(); n != 1 {
		t.Fatalf("the setup was performed %d times", n)
	}
}

// pairWF waits on two custom events with setups of two types: its start
// commits two Setups, ready together.
var pairWF = dsl.MustCompile[Request]("pair", dsl.Wait("both",
	dsl.On("a", dsl.Custom[Request, string, string]("good", manager{})),
	dsl.On("b", dsl.Custom[Request, string, string]("bad", manager{})),
))

// failingRetry is a store whose Retry (recording a failed attempt) fails.
type failingRetry struct{ storage.Store }

func (failingRetry) Retry(context.Context, storage.Lease, string, storage.RetryState) error {
	return errors.New("the store is unreachable")
}

// Under a lease, an effect that succeeded is acknowledged even when a
// later write of the same round fails (here the record of another
// effect's failed attempt; as Run stops, any write can fail): else the
// lease's next holder performs it again.
func TestLeasedSuccessAcknowledgedDespiteALaterFailure(t *testing.T) {
	store := memory.New()
	e := newEngine(t, failingRetry{store}, engine.WithLeases("p", time.Minute))
	if err := e.Register(pairWF); err != nil {
		t.Fatal(err)
	}
	var good atomic.Int32
	e.Handle("good", engine.SetupFuncs{SetupFunc: func(context.Context, engine.EffectInfo) error { good.Add(1); return nil }})
	e.Handle("bad", engine.SetupFuncs{SetupFunc: func(context.Context, engine.EffectInfo) error { return errors.New("down") }})
	if err := e.Start(t.Context(), pairWF, "p1", Request{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ProcessInstance(t.Context(), "p1"); err == nil {
		t.Fatal("ProcessInstance hid the failed write")
	}
	left, err := store.Outbox(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if good.Load() != 1 || len(left) != 1 {
		t.Fatalf("good setup performed %d times, outbox holds %s: want it performed once and acknowledged", good.Load(), effectIDs(left))
	}
}

// stopOnClaim is a store that cancels Run's context right after a Claim
// succeeds, as a stop landing during the claim does.
type stopOnClaim struct {
	storage.Store
	stop    context.CancelFunc
	claimed atomic.Int32
}

func (s *stopOnClaim) Claim(ctx context.Context, req storage.ClaimRequest) ([]storage.Lease, error) {
	ls, err := s.Store.Claim(ctx, req)
	if len(ls) > 0 && s.claimed.Add(1) == 1 {
		s.stop()
	}
	return ls, err
}

// Leases that Run claimed as it stopped are released, not left to hold
// their instances from every process until they expire.
func TestRunReleasesWhatItClaimedAsItStopped(t *testing.T) {
	m := memory.New()
	ctx, stop := context.WithCancel(t.Context())
	s := &stopOnClaim{Store: m.Share(), stop: stop}
	e := newEngine(t, s, engine.WithLeases("p", time.Hour))
	if err := e.Register(requestWF); err != nil {
		t.Fatal(err)
	}
	e.Handle("ask-manager", engine.SetupFuncs{})
	if err := e.Start(t.Context(), requestWF, "r1", Request{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if s.claimed.Load() == 0 {
		t.Fatal("Run claimed nothing")
	}
	l, err := m.Share().Acquire(t.Context(), "r1", storage.ClaimRequest{Owner: "other", Now: time.Now(), TTL: time.Minute, Limit: 1})
	if err != nil {
		t.Fatalf("another process cannot lease r1 after Run stopped: %v", err)
	}
	_ = m.Release(t.Context(), l)
}
