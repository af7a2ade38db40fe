package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// effectLog records, per instance, the effects performed on it, so a test
// can check each was performed once and in order. It is the setup handler
// of "ask-manager" and the finish hook.
type effectLog struct {
	mu     sync.Mutex
	by     map[string][]string // instance -> "setup", "teardown", "finish"
	fences map[string][]uint64 // effect ID -> the fence tokens it was performed under
	fail   func(kind string, info engine.EffectInfo) error
	block  func(kind string, info engine.EffectInfo)
}

func newEffectLog() *effectLog {
	return &effectLog{by: map[string][]string{}, fences: map[string][]uint64{}}
}

func (l *effectLog) do(kind string, info engine.EffectInfo) error {
	if l.block != nil {
		l.block(kind, info)
	}
	if l.fail != nil {
		if err := l.fail(kind, info); err != nil {
			return err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.by[info.Instance] = append(l.by[info.Instance], kind)
	l.fences[info.ID] = append(l.fences[info.ID], info.Fence)
	return nil
}

func (l *effectLog) Setup(_ context.Context, info engine.EffectInfo) error {
	return l.do("setup", info)
}
func (l *effectLog) Teardown(_ context.Context, info engine.EffectInfo) error {
	return l.do("teardown", info)
}
func (l *effectLog) finish(_ context.Context, info engine.EffectInfo) error {
	return l.do("finish", info)
}

func (l *effectLog) of(id string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.by[id]...)
}

// host is one process: an engine on its own handle of a shared store.
type host struct {
	e     *engine.Engine
	store storage.Store
}

func newHosts(t *testing.T, n int, clock engine.Clock, log *effectLog, opts ...engine.Option) ([]host, *memory.Store) {
	t.Helper()
	m := memory.New()
	var hosts []host
	for i := range n {
		var st storage.Store = m
		if i > 0 {
			st = m.Share()
		}
		base := []engine.Option{engine.WithLeases(fmt.Sprintf("host-%d", i), time.Minute),
			engine.WithFinish(log.finish), engine.WithRetryBackoff(time.Second, time.Second)}
		if clock != nil { // else the wall clock
			base = append(base, engine.WithClock(clock))
		}
		e := newEngine(t, st, append(base, opts...)...)
		if err := e.Register(requestWF); err != nil {
			t.Fatal(err)
		}
		e.Handle("ask-manager", log)
		hosts = append(hosts, host{e, st})
	}
	return hosts, m
}

// runDueAll calls RunDue on every host at once until a round finds no work.
func runDueAll(t *testing.T, hosts []host) {
	t.Helper()
	for round := 0; ; round++ {
		if round > 1000 {
			t.Fatal("RunDue keeps finding work")
		}
		var wg sync.WaitGroup
		var work atomic.Int64
		for _, h := range hosts {
			wg.Go(func() {
				w, err := h.e.RunDue(t.Context(), 7)
				if err != nil {
					t.Errorf("RunDue: %v", err)
				}
				work.Add(int64(w.Transitions + w.Effects))
			})
		}
		wg.Wait()
		if work.Load() == 0 {
			return
		}
	}
}

// TestLeasesExactlyOnce runs many instances through three engines sharing
// one store, each calling RunDue at the same time: every setup, teardown
// and finish is performed exactly once, in that order, and nothing is left
// in the outbox or leased.
func TestLeasesExactlyOnce(t *testing.T) {
	clock := engine.NewFakeClock(t0)
	log := newEffectLog()
	hosts, m := newHosts(t, 3, clock, log)
	ctx := t.Context()
	const n = 60
	for i := range n {
		if err := hosts[i%3].e.Start(ctx, requestWF, fmt.Sprintf("r%02d", i), Request{User: "u"}); err != nil {
			t.Fatal(err)
		}
	}
	runDueAll(t, hosts)
	for i := range n {
		if i%2 == 0 {
			if err := hosts[(i+1)%3].e.Send(ctx, fmt.Sprintf("r%02d", i), "answer", "yes", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	runDueAll(t, hosts)
	clock.Advance(time.Hour) // the others give up
	runDueAll(t, hosts)

	for i := range n {
		id := fmt.Sprintf("r%02d", i)
		if got := strings.Join(log.of(id), " "); got != "setup teardown finish" {
			t.Errorf("%s: effects %q, want setup, teardown, finish once each", id, got)
		}
	}
	if out, err := m.Outbox(ctx, 10); err != nil || len(out) != 0 {
		t.Fatalf("outbox %v, %v; want empty", out, err)
	}
	if next, err := m.NextWork(ctx, clock.Now()); err != nil || !next.IsZero() {
		t.Fatalf("next work %v, %v; want none", next, err)
	}
	for id, fences := range log.fences {
		if len(fences) != 1 || fences[0] == 0 {
			t.Fatalf("effect %s performed under fences %v, want one non-zero", id, fences)
		}
	}
}

// pausing is a store whose Renew fails while paused: the host's lease
// runs out as if its process were stopped.
type pausing struct {
	storage.Store
	paused  atomic.Bool
	renewed chan error // if not nil, gets each Renew's outcome
}

func (p *pausing) Renew(ctx context.Context, l storage.Lease, now time.Time, ttl time.Duration) (storage.Lease, error) {
	var (
		nl  storage.Lease
		err = errors.New("paused")
	)
	if !p.paused.Load() {
		nl, err = p.Store.Renew(ctx, l, now, ttl)
	}
	if p.renewed != nil {
		p.renewed <- err
	}
	return nl, err
}

// TestZombieIsFenced stops a host in the middle of a setup until its
// lease has run out and another host has taken the instance over: the
// other host performs the setup again with a higher fence token, the
// zombie's late acknowledgement is refused, and the instance goes on
// normally.
func TestZombieIsFenced(t *testing.T) {
	clock := engine.NewFakeClock(t0)
	log := newEffectLog()
	m := memory.New()
	zombieStore := &pausing{Store: m}
	mk := func(st storage.Store, owner string) *engine.Engine {
		e := newEngine(t, st, engine.WithClock(clock), engine.WithLeases(owner, time.Minute), engine.WithFinish(log.finish))
		if err := e.Register(requestWF); err != nil {
			t.Fatal(err)
		}
		e.Handle("ask-manager", log)
		return e
	}
	zombieStore.renewed = make(chan error, 8)
	zombie, other := mk(zombieStore, "zombie"), mk(m.Share(), "other")
	ctx := t.Context()
	if err := zombie.Start(ctx, requestWF, "r", Request{User: "u"}); err != nil {
		t.Fatal(err)
	}

	inSetup, wake := make(chan struct{}), make(chan struct{})
	var once sync.Once
	log.block = func(kind string, info engine.EffectInfo) {
		if kind == "setup" && info.Fence == 1 {
			once.Do(func() { close(inSetup) })
			<-wake
		}
	}
	done := make(chan engine.Work)
	go func() {
		w, err := zombie.RunDue(ctx, 1)
		if err != nil {
			t.Errorf("zombie's RunDue: %v", err)
		}
		done <- w
	}()
	<-inSetup
	// The zombie's renewals (every 20s) fail from now on: wait for its
	// renewal timer, so that the move past the lease fires it.
	waitFor(t, func() bool { return engine.ArmedTimers(clock) == 1 })
	zombieStore.paused.Store(true)
	clock.Advance(2 * time.Minute) // past the lease
	if err := within(t, zombieStore.renewed, "the zombie's renewal"); err == nil {
		t.Fatal("the zombie renewed its lease while paused")
	}
	w, err := other.ProcessInstance(ctx, "r")
	if err != nil || w.Effects != 1 {
		t.Fatalf("takeover: %+v, %v; want the setup performed", w, err)
	}
	close(wake)
	zw := <-done
	if zw.Effects != 0 {
		t.Fatalf("the zombie's acknowledgement was accepted: %+v", zw)
	}
	if fences := log.fences["r/1/0"]; fmt.Sprint(fences) != "[2 1]" {
		t.Fatalf("setup performed under fences %v, want [1 2] (the successor, then the zombie's late call)", fences)
	}
	if err := other.Send(ctx, "r", "answer", "yes", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := other.RunDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log.of("r"), " "); got != "setup setup teardown finish" {
		t.Fatalf("effects %q", got)
	}
}

// TestDeadLetter fails a setup until it has been tried the maximum number
// of times: it is dead-lettered (the teardown and finish wait behind it),
// and after Requeue it is performed and the instance finishes.
func TestDeadLetter(t *testing.T) {
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprintf("leases=%t", shared), func(t *testing.T) {
			clock := engine.NewFakeClock(t0)
			log := newEffectLog()
			var failing atomic.Bool
			failing.Store(true)
			log.fail = func(kind string, _ engine.EffectInfo) error {
				if kind == "setup" && failing.Load() {
					return errors.New("the manager's inbox is down")
				}
				return nil
			}
			m := memory.New()
			opts := []engine.Option{engine.WithClock(clock), engine.WithFinish(log.finish),
				engine.WithMaxAttempts(3), engine.WithRetryBackoff(time.Second, time.Second)}
			if shared {
				opts = append(opts, engine.WithLeases("h", time.Minute))
			}
			e := newEngine(t, m, opts...)
			if err := e.Register(requestWF); err != nil {
				t.Fatal(err)
			}
			e.Handle("ask-manager", log)
			ctx := t.Context()
			if err := e.Start(ctx, requestWF, "r", Request{}); err != nil {
				t.Fatal(err)
			}
			for range 5 {
				_ = e.Drain(ctx) // fails with the handler's error until dead-lettered
				clock.Advance(time.Second)
			}
			dead, err := m.DeadLetters(ctx, "", 10)
			if err != nil || len(dead) != 1 || dead[0].ID != "r/1/0" || dead[0].Attempts != 3 ||
				!strings.Contains(dead[0].LastError, "inbox is down") {
				t.Fatalf("dead letters %+v, %v; want the setup after 3 attempts", dead, err)
			}
			if err := e.Send(ctx, "r", "answer", "yes", nil); err != nil {
				t.Fatal(err)
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if got := log.of("r"); len(got) != 0 {
				t.Fatalf("performed %q while the setup is dead-lettered; the teardown and finish must wait", got)
			}
			failing.Store(false)
			// The teardown was dead-lettered with its setup when it came
			// to be performed; requeueing the setup brings it back too.
			if n, err := e.Requeue(ctx, "r/1/0"); err != nil || n < 2 {
				t.Fatalf("requeue: %d, %v; want the setup and what waited behind it", n, err)
			}
			if dead, err := m.DeadLetters(ctx, "", 10); err != nil || len(dead) != 0 {
				t.Fatalf("dead letters after requeue: %+v, %v", dead, err)
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(log.of("r"), " "); got != "setup teardown finish" {
				t.Fatalf("effects %q after requeue", got)
			}
		})
	}
}

// TestRunDueConcurrent calls RunDue twenty times at once on one engine:
// every call succeeds (no ErrRunning) and the work is done once.
func TestRunDueConcurrent(t *testing.T) {
	clock := engine.NewFakeClock(t0)
	log := newEffectLog()
	hosts, _ := newHosts(t, 1, clock, log)
	e := hosts[0].e
	ctx := t.Context()
	for i := range 40 {
		if err := e.Start(ctx, requestWF, fmt.Sprintf("r%02d", i), Request{}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var effects atomic.Int64
	for range 20 {
		wg.Go(func() {
			w, err := e.RunDue(ctx, 3)
			if err != nil {
				t.Errorf("RunDue: %v", err)
			}
			effects.Add(int64(w.Effects))
		})
	}
	wg.Wait()
	runDueAll(t, hosts)
	for i := range 40 {
		if got := log.of(fmt.Sprintf("r%02d", i)); len(got) != 1 {
			t.Fatalf("r%02d: %q, want one setup", i, got)
		}
	}
}

// TestRunWithLeases runs two engines' Run loops (real clock) on one store:
// instances started on either finish, each effect performed once.
func TestRunWithLeases(t *testing.T) {
	log := newEffectLog()
	hosts, m := newHosts(t, 2, nil, log, engine.WithPollInterval(20*time.Millisecond))
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Go(func() {
			if err := h.e.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	const n = 100
	for i := range n {
		if err := hosts[i%2].e.Start(ctx, requestWF, fmt.Sprintf("r%03d", i), Request{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool {
		for i := range n {
			if len(log.of(fmt.Sprintf("r%03d", i))) < 1 {
				return false
			}
		}
		return true
	})
	for i := range n {
		if err := hosts[(i+1)%2].e.Send(ctx, fmt.Sprintf("r%03d", i), "answer", "ok", nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool {
		out, err := m.Outbox(ctx, 1)
		return err == nil && len(out) == 0
	})
	cancel()
	wg.Wait()
	for i := range n {
		id := fmt.Sprintf("r%03d", i)
		if got := strings.Join(log.of(id), " "); got != "setup teardown finish" {
			t.Errorf("%s: %q", id, got)
		}
	}
}

// slowSetup is the setup handler of "ask-manager" for the lease renewal
// tests: each setup tells entered it began and waits for release or for
// its context to end, and then reports the context's error, if any, on
// ended.
type slowSetup struct {
	entered, release chan struct{}
	ended            chan error
	fences           chan uint64
}

// workDone is what RunDue or ProcessInstance returned, from a goroutine.
type workDone struct {
	w   engine.Work
	err error
}

func newSlowSetup() *slowSetup {
	return &slowSetup{entered: make(chan struct{}, 4), release: make(chan struct{}), ended: make(chan error, 4), fences: make(chan uint64, 4)}
}

func (s *slowSetup) Setup(ctx context.Context, info engine.EffectInfo) error {
	s.fences <- info.Fence
	s.entered <- struct{}{}
	select {
	case <-s.release:
		s.ended <- nil
		return nil
	case <-ctx.Done():
		s.ended <- ctx.Err()
		return ctx.Err()
	}
}

func (s *slowSetup) Teardown(context.Context, engine.EffectInfo) error { return nil }

// renewing is the start of the lease renewal tests: host a (on store,
// whose renewals can be paused) and host b share a memory store under a
// fake clock, with leases of a minute; a runs RunDue on instance "r" (its
// outcome goes to done) and is in the setup, which waits for
// setup.release.
type renewing struct {
	clock *engine.FakeClock
	store *pausing
	setup *slowSetup
	b     *engine.Engine
	done  chan workDone
}

func startRenewing(t *testing.T) renewing {
	t.Helper()
	m := memory.New()
	r := renewing{clock: engine.NewFakeClock(t0), store: &pausing{Store: m, renewed: make(chan error, 16)},
		setup: newSlowSetup(), done: make(chan workDone, 1)}
	mk := func(st storage.Store, owner string) *engine.Engine {
		e := newEngine(t, st, engine.WithClock(r.clock), engine.WithLeases(owner, time.Minute))
		if err := e.Register(requestWF); err != nil {
			t.Fatal(err)
		}
		e.Handle("ask-manager", r.setup)
		return e
	}
	a := mk(r.store, "a")
	r.b = mk(m.Share(), "b")
	ctx := t.Context()
	if err := a.Start(ctx, requestWF, "r", Request{User: "u"}); err != nil {
		t.Fatal(err)
	}
	go func() { w, err := a.RunDue(ctx, 1); r.done <- workDone{w, err} }()
	within(t, r.setup.entered, "a's setup")
	return r
}

// A host whose effect runs for longer than its lease renews the lease
// every third of its time to live: another host finds the instance
// leased, two TTLs later, and the effect is performed once.
func TestLeaseRenewedWhileWorking(t *testing.T) {
	r := startRenewing(t)
	clock, worker, setup, b, done := r.clock, r.store, r.setup, r.b, r.done
	for i := range 6 { // 2 minutes, twice the TTL
		waitFor(t, func() bool { return engine.ArmedTimers(clock) == 1 })
		clock.Advance(20 * time.Second)
		if err := within(t, worker.renewed, "a renewal"); err != nil {
			t.Fatalf("renewal %d: %v", i+1, err)
		}
	}
	// The lease a took at t0 ran out at t0+1m; renewed, it lasts to t0+3m.
	if w, err := b.ProcessInstance(t.Context(), "r"); !errors.Is(err, storage.ErrLeased) || w.Effects != 0 {
		close(setup.release)
		t.Fatalf("b on the instance a works on: %+v, %v; want ErrLeased and nothing done", w, err)
	}
	close(setup.release)
	if d := within(t, done, "a's work"); d.err != nil || d.w.Effects != 1 {
		t.Fatalf("a's work: %+v, %v; want the setup performed and acknowledged", d.w, d.err)
	}
	if err := within(t, setup.ended, "the end of the setup"); err != nil {
		t.Fatalf("the setup's context ended: %v", err)
	}
	if f := within(t, setup.fences, "the setup's fence"); f != 1 || len(setup.fences) != 0 {
		t.Fatalf("setup performed under fence %d and %d more times, want once under 1", f, len(setup.fences))
	}
}

// A host whose renewal is refused because another host took the instance
// over (its renewals failed until the lease ran out) stops the work on
// it: the effect's context ends, RunDue reports no error and nothing
// done, and the new holder's acknowledgement stands.
func TestLeaseLostWhenRenewalIsFenced(t *testing.T) {
	r := startRenewing(t)
	clock, zombie, setup, b, done := r.clock, r.store, r.setup, r.b, r.done
	ctx := t.Context()
	waitFor(t, func() bool { return engine.ArmedTimers(clock) == 1 })
	zombie.paused.Store(true)
	clock.Advance(2 * time.Minute) // past a's lease: its renewal fails
	if err := within(t, zombie.renewed, "a's renewal"); err == nil {
		t.Fatal("a renewed its lease while paused")
	}
	bDone := make(chan workDone, 1)
	go func() { w, err := b.ProcessInstance(ctx, "r"); bDone <- workDone{w, err} }()
	within(t, setup.entered, "b's setup") // under the next fence
	zombie.paused.Store(false)
	waitFor(t, func() bool { return engine.ArmedTimers(clock) == 2 }) // a's next renewal, and b's
	clock.Advance(20 * time.Second)
	for {
		err := within(t, zombie.renewed, "a's renewal")
		if errors.Is(err, storage.ErrFenced) {
			break
		}
		if err != nil {
			t.Fatalf("a's renewal: %v, want ErrFenced", err)
		}
	}
	if err := within(t, setup.ended, "the end of a's setup"); !errors.Is(err, context.Canceled) {
		t.Fatalf("a's setup ended with %v, want its context canceled", err)
	}
	if d := within(t, done, "a's work"); d.err != nil || d.w.Effects != 0 {
		t.Fatalf("a's work after losing its lease: %+v, %v; want nothing done and no error", d.w, d.err)
	}
	close(setup.release)
	if d := within(t, bDone, "b's work"); d.err != nil || d.w.Effects != 1 {
		t.Fatalf("b's work: %+v, %v; want the setup performed", d.w, d.err)
	}
	fences := []uint64{within(t, setup.fences, "a's fence"), within(t, setup.fences, "b's fence")}
	if fences[0] != 1 || fences[1] != 2 {
		t.Fatalf("setup performed under fences %v, want [1 2]", fences)
	}
}

// within receives from ch, failing the test after 10s: a renewal that
// never comes must fail a test, not hang it.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
