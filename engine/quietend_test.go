package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage/memory"
)

// approvalHandler is a custom event with a setup (and so a teardown).
type approvalHandler struct{}

func (approvalHandler) Handle(s *Count, n int) (int, error) { s.N += n; return s.N, nil }
func (approvalHandler) Setup(s *Count) any                  { return s.N }

// An instance's finishing effect goes to Run's workers at once only when
// the instance cannot have a setup or teardown in the outbox. Here v1
// waits with a setup; v2 has no setup anywhere, and its migration removes
// the wait, so the transition that migrates the instance commits the
// teardown and the finish together. The finish must still wait for the
// teardown (which is slow here): the instance's migration history, not
// only its current definition, decides.
func TestFinishWaitsForTeardownAfterMigration(t *testing.T) {
	ctx := context.Background()
	v1 := dsl.MustCompile[Count]("approve", dsl.S(
		dsl.Wait("w", dsl.On("ok", dsl.Custom[Count, int, int]("approval", approvalHandler{}))),
		dsl.Step("end", func(*Count) error { return nil })))
	v2 := dsl.MustCompile[Count]("approve", dsl.S(
		dsl.Step("end", func(*Count) error { return nil })),
		dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Removed: map[string]string{"w": "end"}}))

	store := memory.New()
	var mu sync.Mutex
	var order []string
	record := func(what string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, what)
	}
	finished := make(chan struct{})
	opts := []engine.Option{
		engine.WithFinish(func(context.Context, engine.EffectInfo) error {
			record("finish")
			close(finished)
			return nil
		}),
	}
	handler := engine.SetupFuncs{
		SetupFunc: func(context.Context, engine.EffectInfo) error { record("setup"); return nil },
		TeardownFunc: func(context.Context, engine.EffectInfo) error {
			time.Sleep(50 * time.Millisecond) // a hot finish would overtake it
			record("teardown")
			return nil
		},
	}
	e1 := newEngine(t, store, opts...)
	e1.Handle("approval", handler)
	if err := e1.Register(v1); err != nil {
		t.Fatal(err)
	}
	if err := e1.Start(ctx, v1, "a", Count{}); err != nil {
		t.Fatal(err)
	}
	if err := e1.Drain(ctx); err != nil {
		t.Fatal(err)
	}

	e2 := newEngine(t, store, opts...)
	e2.Handle("approval", handler)
	if err := e2.Register(v2); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error)
	go func() { ran <- e2.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(20 * time.Millisecond) // Run is up, so the hot path is on
	if err := e2.Resume(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("the instance did not finish")
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"setup", "teardown", "finish"}
	if len(order) != len(want) || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] {
		t.Fatalf("order %v, want %v", order, want)
	}
}
