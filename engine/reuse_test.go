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

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/journal"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
	"github.com/weftflow/weft/storage/postgres"
)

// The default refuses a taken ID, even long after its instance finished.
func TestIDReuseRefuse(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{approvalWF})
	v.start(approvalWF, "a", Approval{User: "ada"})
	if err := v.e.Send(v.ctx, "a", "decide", Decision{Approve: true}, nil); err != nil {
		t.Fatal(err)
	}
	v.wantStatus("a", interp.StatusCompleted)
	v.clock.Advance(365 * 24 * time.Hour)
	for _, opts := range [][]engine.StartOption{nil, {engine.WithIDReuse(engine.IDReuseRefuse)}} {
		wantErr(t, v.e.Start(v.ctx, approvalWF, "a", Approval{User: "bo"}, opts...), engine.ErrExists, storage.ErrExists)
	}
	wantErr(t, v.e.Start(v.ctx, approvalWF, "a", Approval{}, engine.WithIDReuse(engine.IDReusePolicy(9))), engine.ErrInvalidOption)
	if got := v.get("a"); got.Version != 2 {
		t.Errorf("version %d after refused starts, want 2", got.Version)
	}
}

// IDReuseAfterFinished replaces a finished instance with a new run (its
// numbering continued), and refuses while one runs.
func TestIDReuseAfterFinished(t *testing.T) {
	for name, open := range terminateStores(t) {
		t.Run(name, func(t *testing.T) {
			l := &endLog{}
			clock := engine.NewFakeClock(t0)
			e := newEngine(t, open(), engine.WithClock(clock), engine.WithFinish(l.finish))
			if err := e.Register(requestWF); err != nil {
				t.Fatal(err)
			}
			e.Handle("ask-manager", l)
			ctx := t.Context()
			reuse := engine.WithIDReuse(engine.IDReuseAfterFinished)
			// An ID never used is simply created.
			if err := e.Start(ctx, requestWF, "r", Request{User: "ada"}, reuse); err != nil {
				t.Fatal(err)
			}
			wantErr(t, e.Start(ctx, requestWF, "r", Request{User: "bo"}, reuse), engine.ErrExists)
			if err := e.Send(ctx, "r", "answer", "yes", nil); err != nil {
				t.Fatal(err)
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			first, err := e.Get(ctx, "r")
			if err != nil || first.Meta.Status != interp.StatusCompleted {
				t.Fatalf("first run: %v %v", first.Meta.Status, err)
			}
			clock.Advance(time.Hour)
			if err := e.Start(ctx, requestWF, "r", Request{User: "bo"}, reuse); err != nil {
				t.Fatalf("start after the first run finished: %v", err)
			}
			second, err := e.Get(ctx, "r")
			if err != nil {
				t.Fatal(err)
			}
			s, err := engine.Query[Request](ctx, e, "r")
			if err != nil || s.User != "bo" || s.Answer != "" {
				t.Errorf("second run's state %+v, %v: want the new input", s, err)
			}
			if second.Meta.Status != interp.StatusRunning || second.Meta.Output != nil || second.Version != first.Version+1 ||
				!second.Meta.Started.Equal(t0.Add(time.Hour)) {
				t.Errorf("second run %+v (version %d), want a fresh running one over version %d", second.Meta, second.Version, first.Version)
			}
			if second.Meta.Seq != first.Meta.Seq+1 || pending(t, second, "answer").Callback <= first.Meta.NextCallback {
				t.Errorf("second run seq %d, callback %d: the first run's numbering (seq %d, callbacks to %d) is not continued",
					second.Meta.Seq, pending(t, second, "answer").Callback, first.Meta.Seq, first.Meta.NextCallback)
			}
			if err := e.Send(ctx, "r", "answer", "no", nil); err != nil {
				t.Fatal(err)
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			want := "setup r cb1\nteardown r cb1\ncompleted r \"\"\nsetup r cb3\nteardown r cb3\ncompleted r \"\""
			if diff := cmp.Diff(want, l.String()); diff != "" {
				t.Errorf("effects of both runs (-want +got):\n%s", diff)
			}
		})
	}
}

// IDReuseTerminateRunning terminates the running instance and starts the
// new run in one commit: the old run's setup is torn down once, its end is
// "terminated", and the new run goes on.
func TestIDReuseTerminateRunning(t *testing.T) {
	l := &endLog{}
	v := newEnv(t, []*dsl.Definition{requestWF}, engine.WithFinish(l.finish))
	v.e.Handle("ask-manager", l)
	v.start(requestWF, "r", Request{User: "ada"})
	v.drain()
	before := v.get("r")
	v.clock.Advance(time.Minute)
	if err := v.e.Start(v.ctx, requestWF, "r", Request{User: "bo"}, engine.WithIDReuse(engine.IDReuseTerminateRunning)); err != nil {
		t.Fatalf("start over a running instance: %v", err)
	}
	inst := v.get("r")
	if inst.Version != before.Version+1 || inst.Meta.Status != interp.StatusRunning || inst.Meta.Seq != before.Meta.Seq+2 {
		t.Errorf("after the start: version %d, %s, seq %d; want one commit over version %d, running, seq %d",
			inst.Version, inst.Meta.Status, inst.Meta.Seq, before.Version, before.Meta.Seq+2)
	}
	v.drain()
	// The old run's effects in their order; the new run's setup (its own
	// wait) is not ordered after the old run's end.
	got := strings.Split(l.String(), "\n")
	newSetup := slices.Index(got, "setup r cb3")
	old := slices.Delete(slices.Clone(got), newSetup, newSetup+1)
	want := []string{"setup r cb1", "teardown r cb1", fmt.Sprintf("terminated r %q", engine.ReuseTerminateReason)}
	if diff := cmp.Diff(want, old); newSetup < 0 || diff != "" {
		t.Errorf("effects %q: the new run's setup, and the old run's (-want +got):\n%s", got, diff)
	}
	// A finished one is replaced as with IDReuseAfterFinished.
	if err := v.e.Terminate(v.ctx, "r", "done"); err != nil {
		t.Fatal(err)
	}
	if err := v.e.Start(v.ctx, requestWF, "r", Request{User: "cy"}, engine.WithIDReuse(engine.IDReuseTerminateRunning)); err != nil {
		t.Fatal(err)
	}
	if s, err := engine.Query[Request](v.ctx, v.e, "r"); err != nil || s.User != "cy" {
		t.Errorf("third run: %+v, %v", s, err)
	}
}

// A running instance whose position is lost after a deploy is replaced by
// IDReuseTerminateRunning too.
func TestIDReuseTerminateRunningLostPosition(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{approvalWF})
	v.start(approvalWF, "a", Approval{User: "ada"})
	renamed := dsl.MustCompile[Approval]("approval", dsl.Wait("decision v2",
		dsl.On("decide", dsl.Signal(decide), dsl.Return("decided"))))
	e := v.engine([]*dsl.Definition{renamed})
	wantErr(t, e.Send(v.ctx, "a", "decide", Decision{Approve: true}, nil), interp.ErrPositionLost)
	if err := e.Start(v.ctx, renamed, "a", Approval{User: "bo"}, engine.WithIDReuse(engine.IDReuseTerminateRunning)); err != nil {
		t.Fatal(err)
	}
	if err := e.Send(v.ctx, "a", "decide", Decision{Approve: true}, nil); err != nil {
		t.Fatalf("send to the new run: %v", err)
	}
}

// Two processes start the same finished ID at once with
// IDReuseAfterFinished: the compare-and-set lets exactly one win, the
// other gets ErrExists, and the record is the winner's.
func TestIDReuseAfterFinishedRace(t *testing.T) {
	clock := engine.NewFakeClock(t0)
	log := newEffectLog()
	hosts, _ := newHosts(t, 2, clock, log)
	ctx := t.Context()
	for round := range 20 {
		id := fmt.Sprintf("r%02d", round)
		if err := hosts[0].e.Start(ctx, requestWF, id, Request{User: "first"}); err != nil {
			t.Fatal(err)
		}
		if err := hosts[0].e.Terminate(ctx, id, "make room"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, h := range hosts {
			wg.Go(func() {
				errs[i] = h.e.Start(ctx, requestWF, id, Request{User: fmt.Sprint("host-", i)}, engine.WithIDReuse(engine.IDReuseAfterFinished))
			})
		}
		wg.Wait()
		var won []int
		for i, err := range errs {
			switch {
			case err == nil:
				won = append(won, i)
			case !errors.Is(err, engine.ErrExists):
				t.Fatalf("round %d, host %d: %v, want nil or ErrExists", round, i, err)
			}
		}
		if len(won) != 1 {
			t.Fatalf("round %d: %d starts won (%v), want exactly one", round, len(won), errs)
		}
		s, err := engine.Query[Request](ctx, hosts[1-won[0]].e, id)
		if err != nil || s.User != fmt.Sprint("host-", won[0]) {
			t.Fatalf("round %d: state %+v, %v; want the winner's (host %d)", round, s, err, won[0])
		}
	}
	runDueAll(t, hosts)
	for round := range 20 {
		id := fmt.Sprintf("r%02d", round)
		// The first run's setup torn down once and ended, then the
		// winner's set up once (its own wait, so not ordered after them).
		got := log.of(id)
		first := slices.DeleteFunc(slices.Clone(got), func(k string) bool { return k == "setup" })
		if slices.Sort(got); !slices.Equal(got, []string{"finish", "setup", "setup", "teardown"}) || !slices.Equal(first, []string{"teardown", "finish"}) {
			t.Errorf("%s: effects %q", id, log.of(id))
		}
	}
}

// The same race on PostgreSQL, two engines with their own connections to
// one schema: the compare-and-set lets exactly one Start win.
func TestIDReuseAfterFinishedRacePostgres(t *testing.T) {
	schema := pgtest.Schema(t, "engine_reuse_")
	ctx := t.Context()
	var engines []*engine.Engine
	for range 2 {
		st, err := postgres.Open(ctx, pgtest.DSN(), postgres.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		e := newEngine(t, st)
		if err := e.Register(approvalWF); err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
	}
	for round := range 10 {
		id := fmt.Sprintf("a%02d", round)
		if err := engines[0].Start(ctx, approvalWF, id, Approval{User: "first"}); err != nil {
			t.Fatal(err)
		}
		if err := engines[0].Terminate(ctx, id, "make room"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, e := range engines {
			wg.Go(func() {
				errs[i] = e.Start(ctx, approvalWF, id, Approval{User: fmt.Sprint("e", i)}, engine.WithIDReuse(engine.IDReuseAfterFinished))
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won < 0:
				won = i
			case err == nil:
				t.Fatalf("round %d: both starts won", round)
			case !errors.Is(err, engine.ErrExists):
				t.Fatalf("round %d, engine %d: %v, want nil or ErrExists", round, i, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no start won: %v", round, errs)
		}
		if s, err := engine.Query[Approval](ctx, engines[1-won], id); err != nil || s.User != fmt.Sprint("e", won) {
			t.Fatalf("round %d: state %+v, %v; want the winner's", round, s, err)
		}
	}
}

// gatedLoad is a store whose first Load of one ID, once armed, waits for
// the gate after reading: the caller then holds a version another process
// is about to replace.
type gatedLoad struct {
	storage.Store
	id     string
	armed  atomic.Bool
	loaded chan struct{}
	gate   chan struct{}
	once   sync.Once
}

func (g *gatedLoad) Load(ctx context.Context, id string) (storage.Instance, error) {
	si, err := g.Store.Load(ctx, id)
	if id == g.id && g.armed.Load() {
		g.once.Do(func() {
			close(g.loaded)
			<-g.gate
		})
	}
	return si, err
}

// The race made certain: one Start loads the finished record, another
// replaces it meanwhile, and the first one's compare-and-set fails: it
// reloads, finds the new run, and gives ErrExists, changing nothing.
func TestIDReuseAfterFinishedConflict(t *testing.T) {
	ctx := t.Context()
	m := memory.New()
	g := &gatedLoad{Store: m.Share(), id: "a", loaded: make(chan struct{}), gate: make(chan struct{})}
	slow, fast := newEngine(t, g), newEngine(t, m)
	for _, e := range []*engine.Engine{slow, fast} {
		if err := e.Register(approvalWF); err != nil {
			t.Fatal(err)
		}
	}
	if err := fast.Start(ctx, approvalWF, "a", Approval{User: "first"}); err != nil {
		t.Fatal(err)
	}
	if err := fast.Terminate(ctx, "a", "done"); err != nil {
		t.Fatal(err)
	}
	reuse := engine.WithIDReuse(engine.IDReuseAfterFinished)
	g.armed.Store(true)
	done := make(chan error, 1)
	go func() { done <- slow.Start(ctx, approvalWF, "a", Approval{User: "slow"}, reuse) }()
	<-g.loaded
	if err := fast.Start(ctx, approvalWF, "a", Approval{User: "fast"}, reuse); err != nil {
		t.Fatalf("the fast start: %v", err)
	}
	close(g.gate)
	if err := <-done; !errors.Is(err, engine.ErrExists) {
		t.Fatalf("the slow start: %v, want ErrExists after the conflict", err)
	}
	if s, err := engine.Query[Approval](ctx, fast, "a"); err != nil || s.User != "fast" {
		t.Errorf("state %+v, %v; want the fast start's", s, err)
	}
}

// vanishing is a store on which, once armed, the next Create that finds
// its ID taken is answered so only after the instance there was deleted,
// as a retention sweep may between the two: Start then has no run to
// replace. If meanwhile is set, it runs just before the Create after
// that (another process starting the ID first, say).
type vanishing struct {
	storage.Store
	armed     atomic.Bool
	meanwhile func()
}

func (s *vanishing) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	if f := s.meanwhile; f != nil && !s.armed.Load() {
		s.meanwhile = nil
		f()
	}
	v, err := s.Store.Create(ctx, inst, effects)
	if errors.Is(err, storage.ErrExists) && s.armed.CompareAndSwap(true, false) {
		old, lerr := s.Store.Load(ctx, inst.ID)
		if lerr == nil {
			lerr = s.Store.(storage.Retention).Delete(ctx, inst.ID, old.Version, nil)
		}
		if lerr != nil {
			return 0, fmt.Errorf("vanishing: delete %q: %w", inst.ID, lerr)
		}
	}
	return v, err
}

// A finished instance deleted between Start's failed Create and its load
// of the run to replace: with a reuse policy, Start creates the instance
// after all, a first run in every way; and if another process created it
// in the meantime, Start reports that run as it would any running one.
func TestIDReuseOfADeletedInstance(t *testing.T) {
	for name, open := range terminateStores(t) {
		t.Run(name, func(t *testing.T) {
			l := &endLog{}
			clock := engine.NewFakeClock(t0)
			store := &vanishing{Store: open()}
			e := newEngine(t, store, engine.WithClock(clock), engine.WithFinish(l.finish), engine.WithJournal("", journal.Policy{}))
			other := newEngine(t, store.Store, engine.WithClock(clock), engine.WithJournal("", journal.Policy{}))
			for _, e := range []*engine.Engine{e, other} {
				if err := e.Register(requestWF); err != nil {
					t.Fatal(err)
				}
				e.Handle("ask-manager", l)
			}
			ctx := t.Context()
			reuse := engine.WithIDReuse(engine.IDReuseAfterFinished)
			finish := func(id string) {
				t.Helper()
				if err := e.Send(ctx, id, "answer", "yes", nil); err != nil {
					t.Fatal(err)
				}
				if err := e.Drain(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range []string{"r", "s"} {
				if err := e.Start(ctx, requestWF, id, Request{User: "ada"}); err != nil {
					t.Fatal(err)
				}
				finish(id)
			}
			clock.Advance(time.Hour)

			store.armed.Store(true)
			if err := e.Start(ctx, requestWF, "r", Request{User: "bo"}, reuse); err != nil {
				t.Fatalf("start over a deleted instance: %v", err)
			}
			if store.armed.Load() {
				t.Fatal("the store was not asked to create a taken ID: the test tests nothing")
			}
			inst, err := e.Get(ctx, "r")
			if err != nil {
				t.Fatal(err)
			}
			s, err := engine.Query[Request](ctx, e, "r")
			if err != nil || s.User != "bo" {
				t.Errorf("state %+v, %v: want the new input", s, err)
			}
			// The store's versions follow the deleted instance's (2); the
			// numbering starts over, since the store's own Delete left an
			// empty tombstone (the engine's GC leaves its numbering).
			if inst.Version != 3 || inst.Meta.Seq != 1 || inst.Meta.Status != interp.StatusRunning || !inst.Meta.Started.Equal(t0.Add(time.Hour)) {
				t.Errorf("after the start: version %d, seq %d, %s, started %v; want a first run at version 3", inst.Version, inst.Meta.Seq, inst.Meta.Status, inst.Meta.Started)
			}
			h, err := e.History(ctx, "r", 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != 1 || h[0].Event.Kind != "start" || h[0].Seq != 1 {
				t.Errorf("journal %v, want the new run's start alone (the deleted run's went with it)", h)
			}
			finish("r")
			if got, err := e.Get(ctx, "r"); err != nil || got.Meta.Status != interp.StatusCompleted {
				t.Fatalf("the new run after its answer: %v, %v", got.Meta.Status, err)
			}

			// Deleted, then started by another process before this one
			// creates it: that run is running, so the policy refuses.
			store.meanwhile = func() {
				if err := other.Start(ctx, requestWF, "s", Request{User: "other"}); err != nil {
					t.Errorf("the other process's start: %v", err)
				}
			}
			store.armed.Store(true)
			err = e.Start(ctx, requestWF, "s", Request{User: "bo"}, reuse)
			if wantErr(t, err, engine.ErrExists); !strings.Contains(fmt.Sprint(err), "is running") {
				t.Errorf("start: %v; want the policy's refusal of the other process's running run", err)
			}
			if s, err := engine.Query[Request](ctx, e, "s"); err != nil || s.User != "other" {
				t.Errorf("state %+v, %v: want the other process's run", s, err)
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			want := "setup r cb1\nteardown r cb1\ncompleted r \"\"\nsetup s cb1\nteardown s cb1\ncompleted s \"\"\n" +
				"setup r cb1\nteardown r cb1\ncompleted r \"\"\nsetup s cb1"
			if diff := cmp.Diff(want, l.String()); diff != "" {
				t.Errorf("effects (-want +got):\n%s", diff)
			}
		})
	}
}
