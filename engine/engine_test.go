package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

func TestStartSendQuery(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{approvalWF})
	v.start(approvalWF, "req-1", Approval{User: "ada"})
	v.drain()

	s, err := engine.Query[Approval](v.ctx, v.e, "req-1")
	if err != nil || s != (Approval{User: "ada"}) {
		t.Fatalf("query: %+v, %v", s, err)
	}
	inst := v.wantStatus("req-1", interp.StatusRunning)
	if inst.Workflow != "approval" || inst.Version != 1 || inst.ID != "req-1" {
		t.Fatalf("instance %+v", inst)
	}
	if err := inst.DecodeOutput(new(string)); !errors.Is(err, engine.ErrNoOutput) {
		t.Fatalf("output of a running instance: %v", err)
	}

	var reply string
	if err := v.e.Send(v.ctx, "req-1", "decide", Decision{Approve: true}, &reply); err != nil {
		t.Fatal(err)
	}
	if reply != "noted for ada" {
		t.Fatalf("reply %q", reply)
	}
	s, err = engine.Query[Approval](v.ctx, v.e, "req-1")
	if err != nil || !s.Approved {
		t.Fatalf("query after decide: %+v, %v", s, err)
	}
	inst = v.wantStatus("req-1", interp.StatusCompleted)
	if got := output[string](t, inst); got != "approved" {
		t.Fatalf("output %q", got)
	}
	if inst.Version != 2 {
		t.Fatalf("version %d, want 2", inst.Version)
	}
	v.drain()
	if n := len(v.outbox()); n != 0 {
		t.Fatalf("%d effects left in the outbox", n)
	}
}

func TestStartAcceptsPointerInput(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{approvalWF})
	v.start(approvalWF, "p", &Approval{User: "bo"})
	if s, _ := engine.Query[Approval](v.ctx, v.e, "p"); s.User != "bo" {
		t.Fatalf("state %+v", s)
	}
}

func TestTimerFiresThroughDrain(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{approvalWF})
	v.start(approvalWF, "req-1", Approval{User: "ada"})
	v.drain()
	if inst := v.get("req-1"); !inst.Meta.Due.Equal(t0.Add(10 * time.Minute)) {
		t.Fatalf("due %v", inst.Meta.Due)
	}
	v.clock.Advance(9 * time.Minute)
	v.drain()
	v.wantStatus("req-1", interp.StatusRunning)
	if err := v.e.Resume(v.ctx, "req-1"); err != nil {
		t.Fatalf("resume when nothing is due: %v", err)
	}
	v.clock.Advance(time.Minute)
	v.drain()
	inst := v.wantStatus("req-1", interp.StatusCompleted)
	if got := output[string](t, inst); got != "timed out" {
		t.Fatalf("output %q", got)
	}
}

func TestStepRetry(t *testing.T) {
	newWF := func(failures int, calls *int) *dsl.Definition {
		return dsl.MustCompile[Count]("flaky", dsl.S(
			dsl.Step("flaky", func(s *Count) error {
				*calls++
				if *calls <= failures {
					return errors.New("not yet")
				}
				s.N = *calls
				return nil
			}).Retry(dsl.RetryPolicy{MaxAttempts: 3, Initial: time.Second}),
			dsl.ReturnWith(func(s *Count) int { return s.N }),
		))
	}

	t.Run("succeeds on the third attempt", func(t *testing.T) {
		calls := 0
		wf := newWF(2, &calls)
		v := newEnv(t, []*dsl.Definition{wf})
		v.start(wf, "f", Count{})
		v.drain()
		if calls != 1 {
			t.Fatalf("%d calls after start", calls)
		}
		v.clock.Advance(time.Second)
		v.drain()
		if calls != 2 {
			t.Fatalf("%d calls after 1s", calls)
		}
		v.clock.Advance(time.Second) // the second delay is 2s
		v.drain()
		v.wantStatus("f", interp.StatusRunning)
		v.clock.Advance(time.Second)
		v.drain()
		if got := output[int](t, v.wantStatus("f", interp.StatusCompleted)); got != 3 || calls != 3 {
			t.Fatalf("output %d after %d calls", got, calls)
		}
	})

	t.Run("fails when attempts run out", func(t *testing.T) {
		calls := 0
		wf := newWF(100, &calls)
		var finished []engine.EffectInfo
		v := newEnv(t, []*dsl.Definition{wf}, engine.WithFinish(func(_ context.Context, info engine.EffectInfo) error {
			finished = append(finished, info)
			return nil
		}))
		v.start(wf, "f", Count{})
		for range 5 {
			v.drain()
			v.clock.Advance(time.Minute)
		}
		inst := v.wantStatus("f", interp.StatusFailed)
		f := inst.Meta.Failure
		if calls != 3 || f == nil || f.Path != "flaky" || !strings.Contains(f.Message, "step failed after 3 attempts: not yet") {
			t.Fatalf("%d calls, failure %+v", calls, f)
		}
		if len(finished) != 1 || finished[0].Kind != interp.EffectFailed || finished[0].Error != f.Message || finished[0].Instance != "f" {
			t.Fatalf("finish hook: %+v", finished)
		}
	})
}

func TestRegisterAndStartErrors(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{approvalWF})
	wantErr(t, v.e.Register(approvalWF), engine.ErrDuplicate)
	other := dsl.MustCompile[Approval]("approval", dsl.Return("other"))
	wantErr(t, v.e.Register(other), engine.ErrDuplicate)
	wantErr(t, v.e.Register(counterWF, counterWF), engine.ErrDuplicate)
	if _, err := engine.Query[Count](v.ctx, v.e, "nothing"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("query of a missing instance: %v", err)
	}

	wantErr(t, v.e.Start(v.ctx, counterWF, "c", Count{}), engine.ErrUnregistered) // the failed Register added nothing
	wantErr(t, v.e.Start(v.ctx, other, "o", Approval{}), engine.ErrUnregistered)
	wantErr(t, v.e.Start(v.ctx, approvalWF, "", Approval{}), engine.ErrInvalidID)
	wantErr(t, v.e.Start(v.ctx, approvalWF, strings.Repeat("x", engine.MaxIDLen+1), Approval{}), engine.ErrInvalidID)

	for _, in := range []any{Count{}, &Count{}, nil, (*Approval)(nil), "ada"} {
		err := v.e.Start(v.ctx, approvalWF, "a", in)
		var ste *engine.StateTypeError
		if !errors.As(err, &ste) || !errors.Is(err, engine.ErrStateType) {
			t.Fatalf("start with %T: %v", in, err)
		}
	}

	v.start(approvalWF, "a", Approval{})
	err := v.e.Start(v.ctx, approvalWF, "a", Approval{})
	wantErr(t, err, engine.ErrExists, storage.ErrExists)

	_, err = engine.Query[Count](v.ctx, v.e, "a")
	var ste *engine.StateTypeError
	if !errors.As(err, &ste) || ste.Want != approvalWF.StateType() {
		t.Fatalf("query with the wrong type: %v", err)
	}
}

func TestUnregisteredWorkflow(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{approvalWF})
	v.start(approvalWF, "a", Approval{User: "ada"})

	bare := v.engine(nil) // a process that does not know "approval"
	wantErr(t, bare.Send(v.ctx, "a", "decide", Decision{Approve: true}, nil), engine.ErrUnregistered)
	wantErr(t, bare.Cancel(v.ctx, "a"), engine.ErrUnregistered)
	_, err := engine.Query[Approval](v.ctx, bare, "a")
	wantErr(t, err, engine.ErrUnregistered)
	if inst, err := bare.Get(v.ctx, "a"); err != nil || inst.Workflow != "approval" || inst.Version != 1 {
		t.Fatalf("get without the definition: %+v, %v", inst, err)
	}
	v.clock.Advance(time.Hour)
	wantErr(t, bare.Drain(v.ctx), engine.ErrUnregistered)
	v.wantStatus("a", interp.StatusRunning)
	v.drain() // the engine that knows it
	v.wantStatus("a", interp.StatusCompleted)
}

func TestRejectedCallbacksChangeNothing(t *testing.T) {
	tw := dsl.MustCompile[Count]("two", dsl.For("loop", dsl.Wait("w",
		dsl.On("a", dsl.Signal(func(s *Count, _ int) (int, error) { s.N++; return s.N, nil })),
		dsl.On("b", dsl.Signal(func(s *Count, _ int) (int, error) { s.N += 10; return s.N, nil })),
		dsl.On("tick", dsl.After(time.Hour)),
	)))
	v := newEnv(t, []*dsl.Definition{tw, approvalWF})
	v.start(tw, "t", Count{})
	first := v.get("t")
	a, b, tick := pending(t, first, "a"), pending(t, first, "b"), pending(t, first, "tick")

	var reply int
	if err := v.e.Deliver(v.ctx, "t", a.Callback, 1, &reply); err != nil || reply != 1 {
		t.Fatalf("deliver a: reply %d, %v", reply, err)
	}
	accepted := v.get("t")

	for _, c := range []struct {
		name     string
		callback uint64
		want     error
	}{
		{"duplicate", a.Callback, interp.ErrDuplicateCallback},
		{"stale", b.Callback, interp.ErrStaleCallback},
		{"unknown", 999, interp.ErrUnknownCallback},
		{"not due", pending(t, accepted, "tick").Callback, interp.ErrNotDue},
		{"old timer", tick.Callback, interp.ErrStaleCallback},
	} {
		err := v.e.Deliver(v.ctx, "t", c.callback, 1, nil)
		wantErr(t, err, c.want)
		var ce *interp.CallbackError
		if !errors.As(err, &ce) || ce.Callback != c.callback {
			t.Fatalf("%s: not a *CallbackError for %d: %v", c.name, c.callback, err)
		}
		if got := v.get("t"); got.Version != accepted.Version || string(got.State) != string(accepted.State) {
			t.Fatalf("%s changed the instance: version %d -> %d", c.name, accepted.Version, got.Version)
		}
	}
	wantErr(t, v.e.Send(v.ctx, "t", "nope", 1, nil), engine.ErrNoSuchWait)
	wantErr(t, v.e.Send(v.ctx, "t", "tick", 1, nil), engine.ErrNoSuchWait) // timers are not custom events
	err := v.e.Deliver(v.ctx, "missing", 1, 1, nil)
	wantErr(t, err, storage.ErrNotFound)
	wantErr(t, v.e.Send(v.ctx, "missing", "a", 1, nil), storage.ErrNotFound)

	v.start(approvalWF, "r", Approval{User: "ada"})
	wantErr(t, v.e.Send(v.ctx, "r", "decide", Decision{Approve: false}, nil), interp.ErrRejected)
	if got := v.wantStatus("r", interp.StatusRunning); got.Version != 1 {
		t.Fatalf("a rejected event changed the version to %d", got.Version)
	}
	if err := v.e.Send(v.ctx, "r", "decide", Decision{Reason: "no"}, nil); err != nil {
		t.Fatal(err)
	}
	wantErr(t, v.e.Send(v.ctx, "r", "decide", Decision{Approve: true}, nil), interp.ErrFinished)
	err = v.e.Deliver(v.ctx, "r", 1, Decision{Approve: true}, nil)
	wantErr(t, err, interp.ErrFinished)
	wantErr(t, v.e.Cancel(v.ctx, "r"), interp.ErrFinished)
}

func TestList(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{approvalWF, counterWF})
	v.start(approvalWF, "b", Approval{})
	v.start(counterWF, "a", Count{})
	v.start(approvalWF, "c", Approval{})
	page, err := v.e.List(v.ctx, "", 2)
	if err != nil || len(page) != 2 || page[0].ID != "a" || page[0].Workflow != "counter" || page[1].ID != "b" {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	page, err = v.e.List(v.ctx, "b", 2)
	if err != nil || len(page) != 1 || page[0].ID != "c" || page[0].Meta.Status != interp.StatusRunning {
		t.Fatalf("second page: %+v, %v", page, err)
	}
	_, err = v.e.List(v.ctx, "", 0)
	wantErr(t, err, storage.ErrInvalid)
}

// After a deploy that renames an event, Send by the new name reaches an
// instance that has not been migrated yet.
func TestSendByRenamedEventBeforeMigration(t *testing.T) {
	type St struct{ Got bool }
	sig := dsl.Signal(func(s *St, _ bool) (bool, error) { s.Got = true; return true, nil })
	v1 := dsl.MustCompile[St]("rename", dsl.Wait("w", dsl.On("old", sig)))
	v2 := dsl.MustCompile[St]("rename", dsl.Wait("w", dsl.On("new", sig)), dsl.Version(2),
		dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"w/old": "w/new"}}))
	ctx := context.Background()
	st := memory.New()
	e1 := newEngine(t, st)
	if err := e1.Register(v1); err != nil {
		t.Fatal(err)
	}
	if err := e1.Start(ctx, v1, "r", St{}); err != nil {
		t.Fatal(err)
	}
	e2 := newEngine(t, st)
	if err := e2.Register(v2); err != nil {
		t.Fatal(err)
	}
	if err := e2.Send(ctx, "r", "new", true, nil); err != nil {
		t.Fatalf("send by the new name: %v", err)
	}
	inst, err := e2.Get(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if inst.Meta.Status != interp.StatusCompleted || inst.Meta.Version != 2 {
		t.Fatalf("status %s version %d", inst.Meta.Status, inst.Meta.Version)
	}
}

// After a deploy that removes a wait, MigrateAll moves the parked instances
// on at once: their setups are torn down and they continue where the
// migration says.
func TestMigrateAll(t *testing.T) {
	type St struct{ Log []string }
	step := func(name string) dsl.Stmt {
		return dsl.Step(name, func(s *St) error { s.Log = append(s.Log, name); return nil })
	}
	v1 := dsl.MustCompile[St]("mig", dsl.S(
		dsl.Wait("old", dsl.On("go", dsl.Signal(func(s *St, _ bool) (bool, error) { return true, nil }))),
		step("after"),
	))
	v2 := dsl.MustCompile[St]("mig", dsl.S(step("after")), dsl.Version(2),
		dsl.Migrate(dsl.Migration{From: 1, Removed: map[string]string{"old": "after"}}))
	ctx := context.Background()
	st := memory.New()
	e1 := newEngine(t, st)
	if err := e1.Register(v1); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := e1.Start(ctx, v1, id, St{}); err != nil {
			t.Fatal(err)
		}
	}
	e2 := newEngine(t, st)
	if err := e2.Register(v2); err != nil {
		t.Fatal(err)
	}
	n, err := e2.MigrateAll(ctx)
	if err != nil || n != 3 {
		t.Fatalf("MigrateAll = %d, %v; want 3", n, err)
	}
	for _, id := range []string{"a", "b", "c"} {
		inst, err := e2.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if inst.Meta.Status != interp.StatusCompleted || inst.Meta.Version != 2 {
			t.Fatalf("%s: %s at version %d", id, inst.Meta.Status, inst.Meta.Version)
		}
	}
	if n, err := e2.MigrateAll(ctx); err != nil || n != 0 {
		t.Fatalf("second MigrateAll = %d, %v; want nothing to do", n, err)
	}

	// The same through Run, with WithMigrateOnRun. While another process
	// holds the migration lock, Run leaves the migration to it.
	if err := e1.Start(ctx, v1, "d", St{}); err != nil {
		t.Fatal(err)
	}
	held, ok, err := st.TryLock(ctx, "weft.migrate-on-run")
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	e4 := newEngine(t, st, engine.WithMigrateOnRun())
	if err := e4.Register(v2); err != nil {
		t.Fatal(err)
	}
	briefly, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	if err := e4.Run(briefly); err != nil {
		t.Fatal(err)
	}
	cancel()
	if inst, err := e4.Get(ctx, "d"); err != nil || inst.Meta.Version != 1 || inst.Meta.Status.Finished() {
		t.Fatalf("d migrated while another process held the migration lock: %+v, %v", inst.Meta, err)
	}
	held.Unlock()
	e3 := newEngine(t, st, engine.WithMigrateOnRun())
	if err := e3.Register(v2); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- e3.Run(runCtx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		inst, err := e3.Get(ctx, "d")
		if err != nil {
			t.Fatal(err)
		}
		if inst.Meta.Status == interp.StatusCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("d not migrated by Run: %s at version %d", inst.Meta.Status, inst.Meta.Version)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
