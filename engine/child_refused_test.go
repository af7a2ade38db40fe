package engine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// A child the engine cannot start for good is a failure the parent
// handles, "not started" and why, and no child instance is left behind:
// its ID too long for the store, its input over the payload limit, its
// first state over the state limit.
func TestChildNotStartable(t *testing.T) {
	const limit = 1 << 10
	long := strings.Repeat("x", engine.MaxIDLen+1)
	for _, c := range []struct {
		name   string
		opts   []engine.Option
		id     string // the child's ID rule's answer; "" keeps the default
		size   int    // the length of the child's input's Item
		reason string // in the parent's Problem
	}{
		{"ID too long", nil, long, 3, "invalid instance ID"},
		{"input over the payload limit", []engine.Option{engine.WithMaxPayload(limit)}, "", 2 * limit, "child input too large"},
		{"state over the state limit", []engine.Option{engine.WithMaxState(limit), engine.WithMaxPayload(4 * limit)}, "", 2 * limit, "state too large"},
	} {
		t.Run(c.name, func(t *testing.T) {
			child := dsl.Child("pick", pickWF, func(s *Order) Pick { return Pick{Item: strings.Repeat(s.Item, c.size)} }, keepPick)
			if c.id != "" {
				child = child.ID(func(*Order) string { return c.id })
			}
			parent := dsl.MustCompile[Order]("order-"+strings.ReplaceAll(c.name, " ", "-"), dsl.S(child,
				dsl.ReturnWith(func(s *Order) Order { return *s })))
			st := memory.New()
			e := newEngine(t, st, c.opts...)
			if err := e.Register(append(parent.Children(), parent)...); err != nil {
				t.Fatal(err)
			}
			if err := e.Start(t.Context(), parent, "o1", Order{Item: "y"}); err != nil {
				t.Fatal(err)
			}
			mustDrain(t, e)
			o := awaitOrder(t, e, "o1")
			if !strings.HasPrefix(o.Problem, "failed: not started: ") || !strings.Contains(o.Problem, c.reason) || o.Packed != "" {
				t.Fatalf("the parent's problem %q, want the child not started for %q", o.Problem, c.reason)
			}
			if _, err := st.Load(t.Context(), pickOfO1); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("a child that could not start left an instance: %v", err)
			}
			if left, err := st.Outbox(t.Context(), 10); err != nil || len(left) != 0 {
				t.Fatalf("outbox: %v, %v", left, err)
			}
		})
	}
}

// Tidy is a child with a cleanup section that waits: canceled, it stays
// canceling until "done".
type Tidy struct{ Done bool }

var tidyWF = dsl.MustCompile[Tidy]("tidy", dsl.Wait("work", dsl.On("finish", dsl.Signal(func(*Tidy, bool) (bool, error) { return true, nil }))),
	dsl.OnCancel(dsl.Wait("cleanup", dsl.On("done", dsl.Signal(func(s *Tidy, _ bool) (bool, error) { s.Done = true; return true, nil })))))

// A parent whose child is already canceling (canceled on its own) is
// canceled: ending the child by the cancel policy finds it canceling and
// leaves its cleanup to finish, and the parent's end-child effect is
// performed, not retried.
func TestChildAlreadyCanceling(t *testing.T) {
	parent := dsl.MustCompile[Order]("tidy-parent", dsl.S(
		dsl.Child("tidy", tidyWF, func(*Order) Tidy { return Tidy{} }, func(*Order, bool, error) error { return nil }),
		dsl.ReturnWith(func(s *Order) Order { return *s })))
	st := memory.New()
	e := newEngine(t, st)
	if err := e.Register(append(parent.Children(), parent)...); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := e.Start(ctx, parent, "p", Order{}); err != nil {
		t.Fatal(err)
	}
	mustDrain(t, e)
	kid := interp.DefaultChildID("p", "tidy", 1)
	if err := e.Cancel(ctx, kid); err != nil {
		t.Fatal(err)
	}
	if got := status(t, e, kid); got != interp.StatusCanceling {
		t.Fatalf("child %s, want canceling", got)
	}
	if err := e.Cancel(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	mustDrain(t, e)
	if got := status(t, e, "p"); got != interp.StatusCanceled {
		t.Fatalf("parent %s", got)
	}
	if left, err := st.Outbox(ctx, 10); err != nil || len(left) != 0 {
		t.Fatalf("outbox after the drain: %v, %v (the end-child effect is not done)", left, err)
	}
	if err := e.Send(ctx, kid, "done", true, nil); err != nil {
		t.Fatal(err)
	}
	mustDrain(t, e)
	if got := status(t, e, kid); got != interp.StatusCanceled {
		t.Fatalf("child %s after its cleanup, want canceled", got)
	}
}
