package inspector_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/inspector"
	"github.com/weftflow/weft/internal/enginetest"
	"github.com/weftflow/weft/journal"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// t0 is the fixture's start time.
var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// countingStore counts the instances List hands out, to check that a
// page reads a bounded part of the store.
type countingStore struct {
	storage.Store
	listed atomic.Int64
}

func (s *countingStore) List(ctx context.Context, after string, limit int) ([]storage.Instance, error) {
	out, err := s.Store.List(ctx, after, limit)
	s.listed.Add(int64(len(out)))
	return out, err
}

func (s *countingStore) Find(ctx context.Context, q storage.Query) (storage.Page, error) {
	p, err := s.Store.Find(ctx, q)
	s.listed.Add(int64(len(p.Instances)))
	return p, err
}

// fixture is an engine over a memory store holding instances of the demo
// workflows in every state.
type fixture struct {
	e     *engine.Engine
	store *countingStore
	clock *engine.FakeClock
}

// errFlaky is what the manager's setup answers for the user "flaky", so
// that its effect is dead-lettered.
var errFlaky = errors.New("the manager's inbox is down")

// newFixture makes n pizza orders and n/2 approval requests:
// order-0000.. in turn shopping (with an item), waiting for the manager,
// cooking, delivered, and lost by the courier (failed); req-0000.. waiting
// for a decision, one of them (req-flaky) with its setup dead-lettered.
func newFixture(t testing.TB, n int) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{store: &countingStore{Store: memory.New()}, clock: engine.NewFakeClock(t0)}
	f.e = enginetest.New(t, f.store, engine.WithClock(f.clock), engine.WithMaxAttempts(1),
		engine.WithJournal("pizza", journal.Policy{}))
	if err := f.e.Register(pizza.Workflow, approval.Workflow); err != nil {
		t.Fatal(err)
	}
	f.e.Handle("confirm-order", engine.SetupFuncs{})
	f.e.Handle("ask-manager", engine.SetupFuncs{SetupFunc: func(ctx context.Context, info engine.EffectInfo) error {
		var ask map[string]any
		if err := info.Decode(&ask); err == nil && ask["user"] == "flaky" {
			return errFlaky
		}
		return nil
	}})
	send := func(id, event string, payload any) {
		t.Helper()
		if err := f.e.Send(ctx, id, event, payload, nil); err != nil {
			t.Fatalf("%s %s: %v", id, event, err)
		}
	}
	for i := range n {
		id := fmt.Sprintf("order-%04d", i)
		if err := f.e.Start(ctx, pizza.Workflow, id, pizza.Order{Customer: fmt.Sprintf("c%d", i)}); err != nil {
			t.Fatal(err)
		}
		stage := i % 5
		if stage == 0 {
			continue
		}
		send(id, "add", pizza.Add{Item: "margherita"})
		if stage == 1 {
			continue
		}
		send(id, "submit", struct{}{})
		if stage == 2 {
			continue
		}
		send(id, "confirm", pizza.Confirmation{OK: true})
		if err := f.e.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		send(id, "cooked", struct{}{})
		if stage == 4 {
			continue // the courier loses it: its timer runs out below
		}
		send(id, "delivered", struct{}{})
	}
	if err := f.e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	// The courier loses the stage-4 orders: their 2-hour timer fires. The
	// other timers (the cart's 24 h, the manager's 1 h) are moved on too,
	// so instances made after this are the fresh ones.
	f.clock.Advance(90 * time.Minute)
	if err := f.e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(40 * time.Minute)
	if err := f.e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range n / 2 {
		id := fmt.Sprintf("req-%04d", i)
		if err := f.e.Start(ctx, approval.Workflow, id, approval.Request{ID: id, User: "ada", Amount: 10 + i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.e.Start(ctx, approval.Workflow, "req-flaky", approval.Request{ID: "req-flaky", User: "flaky", Amount: 5}); err != nil {
		t.Fatal(err)
	}
	if err := f.e.Drain(ctx); err != nil && !errors.Is(err, errFlaky) {
		t.Fatal(err)
	}
	if dead, err := f.store.DeadLetters(ctx, "", 10); err != nil || len(dead) != 1 {
		t.Fatalf("want one dead letter, got %v (%v)", dead, err)
	}
	return f
}

// serve starts an httptest server with the inspector mounted under
// /inspect/, as a host would.
func (f *fixture) serve(t testing.TB, opts ...inspector.Option) *httptest.Server {
	t.Helper()
	opts = append([]inspector.Option{inspector.WithLogger(slog.New(slog.DiscardHandler)), inspector.WithClock(f.clock.Now), inspector.WithLocation(time.UTC), inspector.WithUpgrades(pizza.WorkflowV2)}, opts...)
	h, err := inspector.New(f.e, opts...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/inspect/", http.StripPrefix("/inspect", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}
