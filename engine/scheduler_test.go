package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
)

// wakeups records the wake-ups handed to a scheduler, failing the first
// `fail` calls.
type wakeups struct {
	mu   sync.Mutex
	fail int
	got  []engine.Wakeup
	n    int // calls, failed ones included
}

func (w *wakeups) schedule(_ context.Context, wk engine.Wakeup) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	if w.n <= w.fail {
		return fmt.Errorf("queue unavailable (call %d)", w.n)
	}
	w.got = append(w.got, wk)
	return nil
}

func (w *wakeups) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, wk := range w.got {
		out = append(out, fmt.Sprintf("%s %s +%v", wk.ID, wk.Instance, wk.At.Sub(t0)))
	}
	slices.Sort(out) // instances are worked on concurrently
	return out
}

func (w *wakeups) calls() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

func runDue(t *testing.T, e *engine.Engine) engine.Work {
	t.Helper()
	w, err := e.RunDue(t.Context(), 16)
	if err != nil {
		t.Fatalf("RunDue: %v", err)
	}
	return w
}

func TestSchedulerWakeups(t *testing.T) {
	wk := &wakeups{}
	r := &recorder{}
	v := newEnv(t, []*dsl.Definition{requestWF}, engine.WithScheduler(wk.schedule), engine.WithLeases("a", time.Minute))
	v.e.Handle("ask-manager", r)
	v.start(requestWF, "r1", Request{User: "ada"})
	v.start(requestWF, "r2", Request{User: "bob"})
	runDue(t, v.e)
	want := []string{"r1/1/2 r1 +1h0m0s", "r2/1/2 r2 +1h0m0s"}
	if fmt.Sprint(wk.list()) != fmt.Sprint(want) {
		t.Fatalf("wake-ups after the starts:\n got %q\nwant %q", wk.list(), want)
	}
	runDue(t, v.e)
	if err := v.e.Send(v.ctx, "r1", "answer", "yes", nil); err != nil {
		t.Fatal(err)
	}
	v.clock.Advance(time.Hour)
	runDue(t, v.e) // r1's teardown and finish, r2's timer
	runDue(t, v.e)
	if fmt.Sprint(wk.list()) != fmt.Sprint(want) {
		t.Errorf("wake-ups at the end (one per new due time, each once):\n got %q\nwant %q", wk.list(), want)
	}
	for _, id := range []string{"r1", "r2"} {
		if s := v.get(id).Meta.Status.String(); s != "completed" {
			t.Errorf("%s is %s", id, s)
		}
	}
}

func TestSchedulerRetriedFromTheStore(t *testing.T) {
	wk := &wakeups{fail: 1}
	v := newEnv(t, []*dsl.Definition{requestWF}, engine.WithScheduler(wk.schedule), engine.WithLeases("a", time.Minute),
		engine.WithRetryBackoff(10*time.Second, time.Minute))
	v.e.Handle("ask-manager", &recorder{})
	v.start(requestWF, "r", Request{})
	w := runDue(t, v.e)
	if w.Retried != 1 || !w.Next.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("after a failed wake-up: %+v, want one retried and next at +10s", w)
	}
	// A fresh engine (a new request of a stateless host) does not retry it
	// before its time: the backoff is in the store.
	e2 := v.engine([]*dsl.Definition{requestWF}, engine.WithScheduler(wk.schedule), engine.WithLeases("b", time.Minute))
	e2.Handle("ask-manager", &recorder{})
	runDue(t, e2)
	if wk.calls() != 1 {
		t.Fatalf("the scheduler was called %d times before the backoff passed, want 1", wk.calls())
	}
	v.clock.Advance(10 * time.Second)
	runDue(t, e2)
	if want := []string{"r/1/2 r +1h0m0s"}; fmt.Sprint(wk.list()) != fmt.Sprint(want) {
		t.Errorf("wake-ups:\n got %q\nwant %q", wk.list(), want)
	}
}

func TestSchedulerOff(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{requestWF}, engine.WithLeases("a", time.Minute))
	v.start(requestWF, "r", Request{})
	ids := outboxIDs(t, v)
	if fmt.Sprint(ids) != "[r/1/0]" {
		t.Errorf("outbox without a scheduler: %q, want only the setup", ids)
	}
	if _, err := engine.New(v.store, engine.WithScheduler(nil)); !errors.Is(err, engine.ErrInvalidOption) {
		t.Errorf("WithScheduler(nil): %v", err)
	}
}

func outboxIDs(t *testing.T, v *env) []string {
	t.Helper()
	effects, err := v.store.Outbox(v.ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range effects {
		ids = append(ids, e.ID)
	}
	return ids
}

// An engine without a scheduler keeps a wake-up for one that has one.
func TestWakeupWithoutScheduler(t *testing.T) {
	wk := &wakeups{}
	v := newEnv(t, []*dsl.Definition{requestWF}, engine.WithScheduler(wk.schedule), engine.WithLeases("a", time.Minute))
	v.start(requestWF, "r", Request{})
	plain := v.engine([]*dsl.Definition{requestWF}, engine.WithLeases("b", time.Minute))
	plain.Handle("ask-manager", &recorder{})
	w := runDue(t, plain)
	if w.Retried != 1 || w.Effects != 1 {
		t.Fatalf("without a scheduler: %+v, want the setup done and the wake-up retried", w)
	}
	v.clock.Advance(time.Minute)
	v.e.Handle("ask-manager", &recorder{})
	runDue(t, v.e)
	if len(wk.list()) != 1 {
		t.Errorf("wake-ups: %q, want one", wk.list())
	}
}

// Drain (without leases) performs wake-ups too.
func TestWakeupDrain(t *testing.T) {
	wk := &wakeups{}
	v := newEnv(t, []*dsl.Definition{requestWF}, engine.WithScheduler(wk.schedule))
	v.e.Handle("ask-manager", &recorder{})
	v.start(requestWF, "r", Request{})
	v.drain()
	if want := []string{"r/1/2 r +1h0m0s"}; fmt.Sprint(wk.list()) != fmt.Sprint(want) {
		t.Errorf("wake-ups:\n got %q\nwant %q", wk.list(), want)
	}
}

type Fetch struct{ Got int }

var fetchFailures atomic.Int32

var fetchWF = dsl.MustCompile[Fetch]("fetch", dsl.S(
	dsl.Call("fetch", func(ctx context.Context, s Fetch) (int, error) {
		if fetchFailures.Add(1) == 1 {
			return 0, errors.New("flaky")
		}
		return 7, nil
	}, func(s *Fetch, n int) { s.Got = n }).Retry(dsl.RetryPolicy{MaxAttempts: 3, Initial: time.Minute, Multiplier: 1}),
))

// An activity attempt delayed by its retry policy gets a wake-up.
func TestWakeupDelayedActivity(t *testing.T) {
	fetchFailures.Store(0)
	wk := &wakeups{}
	v := newEnv(t, []*dsl.Definition{fetchWF}, engine.WithScheduler(wk.schedule), engine.WithLeases("a", time.Minute))
	v.start(fetchWF, "f", Fetch{})
	runDue(t, v.e) // the first attempt fails: the second is at +1m
	if len(wk.list()) != 1 || wk.got[0].At != t0.Add(time.Minute) {
		t.Fatalf("wake-ups after a failed attempt: %q, want one at +1m", wk.list())
	}
	v.clock.Advance(time.Minute)
	runDue(t, v.e)
	if s := v.get("f").Meta.Status.String(); s != "completed" {
		t.Errorf("status %s after the retry", s)
	}
}

func TestRunDueWithin(t *testing.T) {
	release := make(chan struct{})
	var setups atomic.Int32
	v := newEnv(t, []*dsl.Definition{requestWF}, engine.WithLeases("a", time.Minute))
	v.e.Handle("ask-manager", engine.SetupFuncs{SetupFunc: func(ctx context.Context, info engine.EffectInfo) error {
		select {
		case <-release:
			setups.Add(1)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	v.start(requestWF, "r", Request{})
	w, err := v.e.RunDueWithin(v.ctx, 10, 50*time.Millisecond)
	if err != nil {
		t.Fatalf("RunDueWithin out of time: %v", err)
	}
	if w.Retried != 0 || w.Effects != 0 || w.Next.IsZero() || w.Next.After(v.clock.Now()) {
		t.Fatalf("RunDueWithin out of time: %+v, want nothing done or retried, and work now", w)
	}
	close(release)
	if w := runDue(t, v.e); w.Effects != 1 || setups.Load() != 1 {
		t.Errorf("after: %+v, %d setups", w, setups.Load())
	}
	if _, err := v.e.RunDueWithin(v.ctx, 10, 0); err == nil {
		t.Error("RunDueWithin(0): no error")
	}
}

var twoWaitsWF = dsl.MustCompile[Fetch]("two waits", dsl.S(
	dsl.Go("clock", dsl.Wait("tick", dsl.On("hour", dsl.After(time.Hour)))),
	dsl.Wait("first", dsl.On("a", dsl.Signal(func(s *Fetch, n int) (int, error) { s.Got += n; return s.Got, nil }))),
	dsl.Wait("second", dsl.On("b", dsl.Signal(func(s *Fetch, n int) (int, error) { s.Got += n; return s.Got, nil }))),
))

// A commit that leaves the due time as it was hands over no wake-up.
func TestWakeupOnlyForNewDueTimes(t *testing.T) {
	wk := &wakeups{}
	v := newEnv(t, []*dsl.Definition{twoWaitsWF}, engine.WithScheduler(wk.schedule), engine.WithLeases("a", time.Minute))
	v.start(twoWaitsWF, "x", Fetch{})
	if err := v.e.Send(v.ctx, "x", "a", 1, nil); err != nil {
		t.Fatal(err)
	}
	runDue(t, v.e)
	if want := []string{"x/1/1 x +1h0m0s"}; fmt.Sprint(wk.list()) != fmt.Sprint(want) {
		t.Errorf("wake-ups:\n got %q\nwant %q", wk.list(), want)
	}
}

var spinWF = dsl.MustCompile[Fetch]("spin", dsl.S(
	dsl.For("spin",
		dsl.Step("count", func(s *Fetch) error { s.Got++; return nil }),
		dsl.If("enough", func(s *Fetch) bool { return s.Got >= 200 }, dsl.Break()),
	),
), dsl.Budget(16))

// A chain of resumes of an instance that stays due hands over one
// wake-up, for the time it became due, not one per transition.
func TestWakeupNotForAChainOfResumes(t *testing.T) {
	wk := &wakeups{}
	v := newEnv(t, []*dsl.Definition{spinWF})
	// A clock that moves on every reading, as the wall clock does: each
	// transition of the chain is due at its own time.
	e := v.engine([]*dsl.Definition{spinWF}, engine.WithClock(tickingClock{v.clock}),
		engine.WithScheduler(wk.schedule), engine.WithLeases("a", time.Minute))
	v.e = e
	v.start(spinWF, "s", Fetch{})
	w := runDue(t, v.e)
	if w.Transitions < 10 {
		t.Fatalf("the spin took %d transitions; the test wants a long chain", w.Transitions)
	}
	if s := v.get("s").Meta.Status.String(); s != "completed" {
		t.Fatalf("spin is %s", s)
	}
	if got := wk.list(); len(got) != 1 || !strings.HasPrefix(got[0], "s/1/1 s ") {
		t.Errorf("wake-ups: %q, want one, from the start", got)
	}
}

// tickingClock advances its FakeClock by a microsecond on every reading.
type tickingClock struct{ c *engine.FakeClock }

func (k tickingClock) Now() time.Time {
	k.c.Advance(time.Microsecond)
	return k.c.Now()
}

func (k tickingClock) Timer(d time.Duration) (<-chan time.Time, func()) { return k.c.Timer(d) }

func TestKindName(t *testing.T) {
	if got := engine.KindName(interp.EffectSetup); got != interp.EffectSetup.String() {
		t.Errorf("KindName(Setup) = %q", got)
	}
	if got := engine.KindName(0xF0); got != "wake-up" {
		t.Errorf("KindName of a wake-up = %q", got)
	}
}
