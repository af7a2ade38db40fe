package engine_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// A loop that never blocks yields after every step (Budget(1)); Drain keeps
// resuming it until it ends.
func TestDrainResumesBudgetYields(t *testing.T) {
	wf := dsl.MustCompile[Count]("busy", dsl.S(
		dsl.While("count", func(s *Count) bool { return s.N < 25 },
			dsl.Step("add", func(s *Count) error { s.N++; return nil })),
		dsl.ReturnWith(func(s *Count) int { return s.N }),
	), dsl.Budget(1))
	v := newEnv(t, []*dsl.Definition{wf})
	v.start(wf, "b", Count{})
	if inst := v.get("b"); inst.Meta.Status != interp.StatusRunning || !inst.Meta.Due.Equal(t0) {
		t.Fatalf("after start: %s, due %v", inst.Meta.Status, inst.Meta.Due)
	}
	v.drain()
	inst := v.wantStatus("b", interp.StatusCompleted)
	if got := output[int](t, inst); got != 25 || inst.Version < 25 {
		t.Fatalf("output %d at version %d", got, inst.Version)
	}
}

// Records and effects that do not decode are reported and left alone; they
// do not make Drain spin.
func TestCorruptDataIsReported(t *testing.T) {
	var logs bytes.Buffer
	v := newEnv(t, []*dsl.Definition{approvalWF},
		engine.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		engine.WithRetryBackoff(time.Minute, time.Hour))
	if _, err := v.store.Create(v.ctx, storage.Instance{ID: "bad", Due: t0, Data: []byte{0xff}},
		[]storage.Effect{{ID: "bad/1/0", Instance: "bad", Data: []byte("not cbor")}}); err != nil {
		t.Fatal(err)
	}
	_, err := v.e.Get(v.ctx, "bad")
	wantErr(t, err, codec.ErrCorrupt)
	_, err = v.e.List(v.ctx, "", 10)
	wantErr(t, err, codec.ErrCorrupt)
	wantErr(t, v.e.Resume(v.ctx, "bad"), codec.ErrCorrupt)

	err = v.e.Drain(v.ctx)
	wantErr(t, err, codec.ErrCorrupt)
	if !strings.Contains(err.Error(), `effect "bad/1/0"`) || !strings.Contains(logs.String(), "job failed") {
		t.Fatalf("drain error %v; logs %s", err, logs.String())
	}
	if n := len(v.outbox()); n != 1 {
		t.Fatalf("%d effects in the outbox", n)
	}
	v.clock.Advance(59 * time.Second) // the backoff is a minute
	v.drain()
	v.clock.Advance(time.Second)
	wantErr(t, v.e.Drain(v.ctx), codec.ErrCorrupt)
}

// An activity result the definition refuses (here its store function
// panics) counts as a failed attempt, so the Call's retry policy ends it.
func TestRejectedActivityResultIsAFailedAttempt(t *testing.T) {
	calls := 0
	wf := dsl.MustCompile[Payment]("payment", dsl.Call("charge",
		func(context.Context, Payment) (string, error) { calls++; return "r", nil },
		func(*Payment, string) { panic("cannot store") }).
		Retry(dsl.RetryPolicy{MaxAttempts: 2, Initial: time.Second}))
	v := newEnv(t, []*dsl.Definition{wf})
	v.start(wf, "p", Payment{})
	v.drain()
	v.clock.Advance(time.Second)
	v.drain()
	f := v.wantStatus("p", interp.StatusFailed).Meta.Failure
	if calls != 2 || f == nil || !strings.Contains(f.Message, "result rejected") || !strings.Contains(f.Message, "cannot store") {
		t.Fatalf("%d calls, failure %+v", calls, f)
	}
}
