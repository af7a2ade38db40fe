package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// env is an engine over a memory store with a fake clock.
type env struct {
	t     *testing.T
	ctx   context.Context
	store *memory.Store
	clock *engine.FakeClock
	e     *engine.Engine
}

func newEnv(t *testing.T, defs []*dsl.Definition, opts ...engine.Option) *env {
	t.Helper()
	v := &env{t: t, ctx: t.Context(), store: memory.New(), clock: engine.NewFakeClock(t0)}
	v.e = v.engine(defs, opts...)
	return v
}

// engine returns another engine on the same store and clock (a restart).
func (v *env) engine(defs []*dsl.Definition, opts ...engine.Option) *engine.Engine {
	v.t.Helper()
	e := newEngine(v.t, v.store, append([]engine.Option{engine.WithClock(v.clock)}, opts...)...)
	if err := e.Register(defs...); err != nil {
		v.t.Fatal(err)
	}
	return e
}

func (v *env) start(def *dsl.Definition, id string, input any) {
	v.t.Helper()
	if err := v.e.Start(v.ctx, def, id, input); err != nil {
		v.t.Fatalf("start %s: %v", id, err)
	}
}

func (v *env) drain() {
	v.t.Helper()
	if err := v.e.Drain(v.ctx); err != nil {
		v.t.Fatalf("drain: %v", err)
	}
}

func (v *env) get(id string) engine.Instance {
	v.t.Helper()
	inst, err := v.e.Get(v.ctx, id)
	if err != nil {
		v.t.Fatalf("get %s: %v", id, err)
	}
	return inst
}

func (v *env) wantStatus(id string, want interp.Status) engine.Instance {
	v.t.Helper()
	inst := v.get(id)
	if inst.Meta.Status != want {
		v.t.Fatalf("%s: status %s, want %s (failure %+v, threads %+v)", id, inst.Meta.Status, want, inst.Meta.Failure, inst.Meta.Threads)
	}
	return inst
}

func (v *env) outbox() []storage.Effect {
	v.t.Helper()
	effs, err := v.store.Outbox(v.ctx, 1000)
	if err != nil {
		v.t.Fatal(err)
	}
	return effs
}

func output[O any](t *testing.T, inst engine.Instance) O {
	t.Helper()
	var o O
	if err := inst.DecodeOutput(&o); err != nil {
		t.Fatalf("output of %s: %v", inst.ID, err)
	}
	return o
}

// pending returns the callback of the wait on event.
func pending(t *testing.T, inst engine.Instance, event string) interp.Pending {
	t.Helper()
	for _, th := range inst.Meta.Threads {
		for _, p := range th.Waits {
			if p.Event == event {
				return p
			}
		}
	}
	t.Fatalf("%s: nothing waits for %q: %+v", inst.ID, event, inst.Meta.Threads)
	return interp.Pending{}
}

func wantErr(t *testing.T, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", targets)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("error %q does not match %q", err, target)
		}
	}
}

// The approval workflow: a decision, or a timeout after ten minutes.

type Approval struct {
	User     string
	Approved bool
	Reason   string
}

type Decision struct {
	Approve bool
	Reason  string
}

func decide(s *Approval, d Decision) (string, error) {
	if !d.Approve && d.Reason == "" {
		return "", errors.New("a denial needs a reason")
	}
	s.Approved, s.Reason = d.Approve, d.Reason
	return "noted for " + s.User, nil
}

var approvalWF = dsl.MustCompile[Approval]("approval", dsl.Wait("decision",
	dsl.On("timeout", dsl.After(10*time.Minute), dsl.Return("timed out")),
	dsl.On("decide", dsl.Signal(decide), dsl.ReturnWith(func(s *Approval) string {
		if s.Approved {
			return "approved"
		}
		return "denied: " + s.Reason
	})),
))

// The counter workflow: loops forever waiting for "inc" (or "dec").

type Count struct{ N int }

var counterWF = dsl.MustCompile[Count]("counter", dsl.For("loop",
	dsl.Wait("next",
		dsl.On("inc", dsl.Signal(func(s *Count, by int) (int, error) { s.N += by; return s.N, nil })),
		dsl.On("dec", dsl.Signal(func(s *Count, by int) (int, error) { s.N -= by; return s.N, nil })),
	)))
