package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// bombStore is a store that panics in the methods named in armed: for
// instance bad (Load, Commit, Create), or for everyone (DueBefore, Outbox,
// Ack), like a store adapter with a bug that one record or one state of
// the store triggers.
type bombStore struct {
	storage.Store
	bad   string
	mu    sync.Mutex
	armed map[string]int // method -> panics left (-1: forever)
}

// newBombEnv is an env whose engine runs on a bombStore over the env's
// store, set off by instance bad, with defs registered.
func newBombEnv(t *testing.T, bad string, defs ...*dsl.Definition) (*env, *bombStore) {
	t.Helper()
	v := newEnv(t, defs)
	bomb := &bombStore{Store: v.store, bad: bad}
	v.e = newEngine(t, bomb, engine.WithClock(v.clock))
	if err := v.e.Register(defs...); err != nil {
		t.Fatal(err)
	}
	return v, bomb
}

func (s *bombStore) arm(method string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.armed == nil {
		s.armed = map[string]int{}
	}
	s.armed[method] = times
}

func (s *bombStore) disarm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.armed)
}

func (s *bombStore) trip(method, id string) {
	if id != s.bad && id != "*" {
		return
	}
	s.mu.Lock()
	n := s.armed[method]
	if n > 0 {
		s.armed[method] = n - 1
	}
	s.mu.Unlock()
	if n != 0 {
		panic(fmt.Sprintf("bomb in %s of %s", method, id))
	}
}

func (s *bombStore) Load(ctx context.Context, id string) (storage.Instance, error) {
	s.trip("Load", id)
	return s.Store.Load(ctx, id)
}

func (s *bombStore) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	s.trip("Commit", c.Instance.ID)
	return s.Store.Commit(ctx, c)
}

func (s *bombStore) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	s.trip("Create", inst.ID)
	return s.Store.Create(ctx, inst, effects)
}

func (s *bombStore) DueBefore(ctx context.Context, t time.Time, limit int) ([]storage.Due, error) {
	s.trip("DueBefore", "*")
	return s.Store.DueBefore(ctx, t, limit)
}

func (s *bombStore) Outbox(ctx context.Context, limit int) ([]storage.Effect, error) {
	s.trip("Outbox", "*")
	return s.Store.Outbox(ctx, limit)
}

func (s *bombStore) Ack(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if strings.HasPrefix(id, s.bad+"/") {
			s.trip("Ack", s.bad)
		}
	}
	return s.Store.Ack(ctx, ids...)
}

// syncBuffer is a log destination that tests read while the engine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func wantPanic(t *testing.T, err error, instance, op string) {
	t.Helper()
	wantErr(t, err, engine.ErrPanic)
	var pe *engine.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T is not a *PanicError", err)
	}
	if pe.Instance != instance || pe.Op != op || !strings.Contains(fmt.Sprint(pe.Value), "bomb") || len(pe.Stack) == 0 {
		t.Fatalf("PanicError{Instance %q, Op %q, Value %v, %d bytes of stack}; want instance %q, op %q",
			pe.Instance, pe.Op, pe.Value, len(pe.Stack), instance, op)
	}
}

// A store that panics for one instance: every direct call on that instance
// returns a *PanicError naming it and the operation, nothing is written,
// the panic is logged and counted, and every other instance is served as
// before. Once the store behaves, the instance goes on where it was.
func TestPanicInStoreDirectCalls(t *testing.T) {
	var log syncBuffer
	m := &counters{}
	v := newEnv(t, []*dsl.Definition{counterWF})
	store := &bombStore{Store: v.store, bad: "bad"}
	v.e = newEngine(t, store, engine.WithClock(v.clock), engine.WithMetrics(m),
		engine.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	if err := v.e.Register(counterWF); err != nil {
		t.Fatal(err)
	}
	store.arm("Create", 1)
	wantPanic(t, v.e.Start(v.ctx, counterWF, "bad", Count{}), "bad", "create")
	v.start(counterWF, "bad", Count{}) // the bomb went off once
	v.start(counterWF, "good", Count{})
	before := v.get("bad")
	callback := pending(t, before, "inc").Callback

	for _, method := range []string{"Load", "Commit"} {
		store.arm(method, -1)
		engine.ForgetRecords(v.e) // so that every call loads, as in a process just started
		op := strings.ToLower(method)
		wantPanic(t, v.e.Send(v.ctx, "bad", "inc", 1, nil), "bad", op)
		err := v.e.Deliver(v.ctx, "bad", callback, 1, nil)
		wantPanic(t, err, "bad", op)
		wantPanic(t, v.e.Cancel(v.ctx, "bad"), "bad", op)
		if method == "Load" { // (a Resume with nothing due commits nothing)
			wantPanic(t, v.e.Resume(v.ctx, "bad"), "bad", op)
			_, err := v.e.Get(v.ctx, "bad")
			wantPanic(t, err, "bad", "load")
			_, err = engine.Query[Count](v.ctx, v.e, "bad")
			wantPanic(t, err, "bad", "load")
		}
		// The others are served meanwhile.
		v.start(counterWF, "other-"+op, Count{})
		var n int
		if err := v.e.Send(v.ctx, "good", "inc", 1, &n); err != nil {
			t.Fatalf("%s bomb: good instance: %v", method, err)
		}
		store.disarm()
		if after := v.get("bad"); after.Version != before.Version || !bytes.Equal(after.State, before.State) {
			t.Fatalf("%s bomb: bad instance changed: version %d -> %d", method, before.Version, after.Version)
		}
	}
	if s, err := engine.Query[Count](v.ctx, v.e, "good"); err != nil || s.N != 2 {
		t.Fatalf("good: %+v, %v", s, err)
	}
	var n int
	if err := v.e.Send(v.ctx, "bad", "inc", 5, &n); err != nil || n != 5 {
		t.Fatalf("bad, store fixed: %d, %v", n, err)
	}
	const panics = 1 + 6 + 3 // Create; Load: Send, Deliver, Cancel, Resume, Get, Query; Commit: Send, Deliver, Cancel
	if got := strings.Count(log.String(), "recovered a panic"); got != panics {
		t.Errorf("logged %d recovered panics, want %d:\n%s", got, panics, log.String())
	}
	if !strings.Contains(log.String(), "instance=bad") || !strings.Contains(log.String(), "stack=") {
		t.Errorf("log lacks the instance or the stack:\n%s", log.String())
	}
	got := 0
	for k, c := range m.snapshot() {
		if k.what == "panic" {
			got += c
		}
	}
	if got != panics {
		t.Errorf("counted %d panics, want %d: %v", got, panics, m.snapshot())
	}
}

// Under Run, a store that panics for one instance (on load, on commit, on
// acknowledging its effects), or for every scan of the due index and the
// outbox for a while, stops neither Run nor its workers: the other
// instances' timers fire and their effects are performed, and the bad
// instance is retried with backoff until the store behaves.
func TestPanicInStoreUnderRun(t *testing.T) {
	for _, method := range []string{"Load", "Commit", "Ack", "DueBefore", "Outbox"} {
		t.Run(method, func(t *testing.T) {
			var mu sync.Mutex
			finished := map[string]int{} // finish hook calls by instance
			var log syncBuffer
			v := newEnv(t, []*dsl.Definition{dozeWF})
			store := &bombStore{Store: v.store, bad: "bad"}
			v.e = newEngine(t, store, engine.WithClock(v.clock),
				engine.WithRetryBackoff(time.Millisecond, time.Millisecond),
				engine.WithPollInterval(time.Millisecond),
				engine.WithLogger(slog.New(slog.NewTextHandler(&log, nil))),
				engine.WithFinish(func(_ context.Context, info engine.EffectInfo) error {
					mu.Lock()
					defer mu.Unlock()
					finished[info.Instance]++
					return nil
				}))
			if err := v.e.Register(dozeWF); err != nil {
				t.Fatal(err)
			}
			ids := []string{"bad"}
			for i := range 8 {
				ids = append(ids, "good-"+strconv.Itoa(i))
			}
			for _, id := range ids {
				v.start(dozeWF, id, Doze{})
			}
			times := -1
			if method == "DueBefore" || method == "Outbox" {
				times = 20 // every scan panics for a while
			}
			store.arm(method, times)
			engine.ForgetRecords(v.e) // so that resuming loads, as in a process just started

			ctx, cancel := context.WithCancel(v.ctx)
			done := make(chan error)
			go func() { done <- v.e.Run(ctx) }()
			v.clock.Advance(time.Hour)
			calls := func(id string) int { mu.Lock(); defer mu.Unlock(); return finished[id] }
			isDone := func(id string) bool { return calls(id) > 0 }
			waitFor(t, func() bool {
				v.clock.Advance(time.Millisecond) // backoff and polls run on the fake clock
				for _, id := range ids[1:] {
					if !isDone(id) {
						return false
					}
				}
				return true
			})
			switch {
			case method == "Ack":
				// The hook runs, its acknowledgement panics: it is retried.
				waitFor(t, func() bool { v.clock.Advance(time.Millisecond); return calls("bad") >= 3 })
				store.disarm()
			case times < 0:
				if isDone("bad") {
					t.Fatal("the bad instance finished while its store panicked")
				}
				waitFor(t, func() bool { v.clock.Advance(time.Millisecond); return strings.Contains(log.String(), "bomb") })
				store.disarm()
			}
			waitFor(t, func() bool {
				v.clock.Advance(time.Millisecond)
				effs, err := v.store.Outbox(v.ctx, 10)
				return isDone("bad") && err == nil && len(effs) == 0
			})
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(log.String(), "recovered a panic") {
				t.Fatalf("no recovered panic logged:\n%s", log.String())
			}
			for _, id := range ids {
				v.wantStatus(id, interp.StatusCompleted)
			}
		})
	}
}

// Fuse is a state field whose encoder panics once lit: a codec panic on
// the transition path, inside interp.Apply.
type Fuse struct{ Lit bool }

func (f Fuse) MarshalCBOR() ([]byte, error) {
	if f.Lit {
		panic("bomb in MarshalCBOR")
	}
	return []byte{0xf4}, nil // false
}

func (f *Fuse) UnmarshalCBOR(b []byte) error {
	return codec.Unmarshal(b, &f.Lit)
}

type Armed struct {
	N    int
	Fuse Fuse
}

var armedWF = dsl.MustCompile[Armed]("armed", dsl.For("loop", dsl.Wait("next",
	dsl.On("inc", dsl.Signal(func(s *Armed, by int) (int, error) { s.N += by; return s.N, nil })),
	dsl.On("light", dsl.Signal(func(s *Armed, _ int) (int, error) { s.Fuse.Lit = true; return 0, nil })),
)))

// A panic while the state is encoded (a MarshalCBOR method of the state)
// refuses the event with a typed error and changes nothing; the instance
// takes other events afterwards, and other instances never notice. (The
// interpreter may recover such a panic itself; either way it must not
// reach the host.)
func TestPanicInStateEncoding(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{armedWF})
	v.start(armedWF, "a", Armed{})
	v.start(armedWF, "b", Armed{})
	before := v.get("a")
	err := v.e.Send(v.ctx, "a", "light", 0, nil)
	if err == nil {
		t.Fatal("a state whose encoder panics was committed")
	}
	var pe *engine.PanicError
	if errors.As(err, &pe) && (pe.Instance != "a" || pe.Op != "apply") {
		t.Fatalf("PanicError{Instance %q, Op %q}; want a, apply", pe.Instance, pe.Op)
	}
	if errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("error %v reads as a corrupt record", err)
	}
	if after := v.get("a"); after.Version != before.Version || !bytes.Equal(after.State, before.State) {
		t.Fatal("the instance changed")
	}
	var n int
	if err := v.e.Send(v.ctx, "a", "inc", 3, &n); err != nil || n != 3 {
		t.Fatalf("a: %d, %v", n, err)
	}
	if err := v.e.Send(v.ctx, "b", "inc", 1, &n); err != nil || n != 1 {
		t.Fatalf("b: %d, %v", n, err)
	}
}

// A payload whose encoder panics is refused with a *PanicError before
// anything is loaded.
func TestPanicInPayloadEncoding(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF, armedWF})
	v.start(counterWF, "c", Count{})
	err := v.e.Send(v.ctx, "c", "inc", Fuse{Lit: true}, nil)
	wantErr(t, err, engine.ErrPanic)
	var pe *engine.PanicError
	if !errors.As(err, &pe) || pe.Op != "encode" || pe.Instance != "c" {
		t.Fatalf("error %v; want a PanicError for c in encode", err)
	}
	err = v.e.Deliver(v.ctx, "c", pending(t, v.get("c"), "inc").Callback, Fuse{Lit: true}, nil)
	wantErr(t, err, engine.ErrPanic)
	wantErr(t, v.e.Start(v.ctx, armedWF, "x", Armed{Fuse: Fuse{Lit: true}}), engine.ErrPanic)
	if v.get("c").Version != 1 {
		t.Fatal("the instance changed")
	}
}

type Touchy struct{ Tripped bool }

var touchyWF = dsl.MustCompile[Touchy]("touchy", dsl.S(
	dsl.Wait("poke", dsl.On("poke", dsl.Signal(func(s *Touchy, hard bool) (bool, error) {
		if hard {
			panic("handler bomb")
		}
		s.Tripped = true
		return true, nil
	}))),
	dsl.If("check", func(s *Touchy) bool { panic("condition bomb") }, dsl.Return("never")),
))

var fragileWF = dsl.MustCompile[Touchy]("fragile", dsl.S(
	dsl.Step("explode", func(s *Touchy) error { panic("step bomb") }).Retry(dsl.RetryPolicy{MaxAttempts: 2, Initial: time.Second}),
	dsl.Return("never"),
))

// Panics in workflow code are not engine panics: a handler's panic
// rejects the event, a condition's panic fails the workflow, a step's
// panic is retried and then fails it, as before.
func TestPanicInWorkflowCodeIsNotAnEnginePanic(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{touchyWF, fragileWF})
	v.start(fragileWF, "f", Touchy{})
	v.clock.Advance(time.Second)
	v.drain()
	inst := v.wantStatus("f", interp.StatusFailed)
	if inst.Meta.Failure == nil || !strings.Contains(fmt.Sprint(inst.Meta.Failure), "step bomb") {
		t.Fatalf("failure %+v", inst.Meta.Failure)
	}

	v.start(touchyWF, "t", Touchy{})
	err := v.e.Send(v.ctx, "t", "poke", true, nil)
	wantErr(t, err, interp.ErrRejected)
	if errors.Is(err, engine.ErrPanic) {
		t.Fatalf("a handler's panic reported as an engine panic: %v", err)
	}
	if err := v.e.Send(v.ctx, "t", "poke", false, nil); err != nil {
		t.Fatal(err)
	}
	inst = v.wantStatus("t", interp.StatusFailed)
	if inst.Meta.Failure == nil || !strings.Contains(fmt.Sprint(inst.Meta.Failure), "condition bomb") {
		t.Fatalf("failure %+v", inst.Meta.Failure)
	}
}

// Thread counts around the interpreter's inline buffers (five live threads
// used to panic on the next event) and well past them, end to end: start,
// let Run's driver resume the budget yields, answer every thread, finish.
func TestManyLiveThreads(t *testing.T) {
	for _, n := range []int{5, 32, 200} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			v := newEnv(t, []*dsl.Definition{crowdWF})
			v.start(crowdWF, "c", Crowd{N: n})
			v.drain()
			if live := len(v.get("c").Meta.Threads); live != n+1 {
				t.Fatalf("%d live threads, want %d", live, n+1)
			}
			for i := range n {
				var done int
				if err := v.e.Send(v.ctx, "c", "poke", i, &done); err != nil || done != i+1 {
					t.Fatalf("poke %d: %d, %v", i, done, err)
				}
			}
			v.drain()
			if got := output[int](t, v.wantStatus("c", interp.StatusCompleted)); got != n {
				t.Fatalf("output %d, want %d", got, n)
			}
		})
	}
}

type Crowd struct{ N, Started, Done int }

var crowdWF = dsl.MustCompile[Crowd]("crowd", dsl.S(
	dsl.While("spawn", func(s *Crowd) bool { return s.Started < s.N },
		dsl.GoEach("worker", func(s *Crowd) string { return fmt.Sprintf("%03d", s.Started) },
			dsl.Wait("poke", dsl.On("poke", dsl.Signal(func(s *Crowd, _ int) (int, error) { s.Done++; return s.Done, nil })))),
		dsl.Step("next", func(s *Crowd) error { s.Started++; return nil })),
	dsl.Join("all", "worker"),
	dsl.ReturnWith(func(s *Crowd) int { return s.Done }),
))

// panickyMetrics panics in Effect the first times it is called.
type panickyMetrics struct {
	engine.NopMetrics
	left   atomic.Int64
	panics atomic.Int64
}

func (m *panickyMetrics) Effect(string, interp.EffectKind, error) {
	if m.left.Add(-1) >= 0 {
		panic("bomb in the Metrics hook")
	}
}

func (m *panickyMetrics) Panic(string, string) { m.panics.Add(1) }

// A Metrics hook that panics in a Run worker does not end Run or the
// process: the panic is recovered, counted, and the work goes on.
func TestPanicInWorkerHook(t *testing.T) {
	m := &panickyMetrics{}
	m.left.Store(3)
	var finished atomic.Int64
	v := newEnv(t, []*dsl.Definition{dozeWF}, engine.WithMetrics(m),
		engine.WithRetryBackoff(time.Millisecond, time.Millisecond),
		engine.WithFinish(func(context.Context, engine.EffectInfo) error { finished.Add(1); return nil }))
	for i := range 5 {
		v.start(dozeWF, "d"+strconv.Itoa(i), Doze{})
	}
	ctx, cancel := context.WithCancel(v.ctx)
	done := make(chan error)
	go func() { done <- v.e.Run(ctx) }()
	// Until the hook has been called for every effect: an effect's
	// acknowledgement may come before its outcome is counted (the hook),
	// and a Run stopped in between calls the hook no more.
	waitFor(t, func() bool {
		v.clock.Advance(time.Minute)
		effs, err := v.store.Outbox(v.ctx, 10)
		return finished.Load() >= 5 && m.left.Load() < -1 && err == nil && len(effs) == 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := m.panics.Load(); got != 3 {
		t.Fatalf("%d panics counted, want 3", got)
	}
}
