package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage/memory"
)

// The runner decides the attempts: its result is delivered, its error is
// a failed attempt, and a panic in it is a failed attempt too, not a
// crash. The Call's function runs only when the runner calls run, in the
// runner's context, which carries the effect's ID.
func TestActivityRunner(t *testing.T) {
	cases := []struct {
		name   string
		run    engine.ActivityRunner
		status interp.Status
		want   string // the output, or a part of the failure
		calls  int    // of the Call's function
	}{
		{"result", func(ctx context.Context, info engine.EffectInfo, _ func(context.Context) ([]byte, error)) ([]byte, error) {
			if info.Kind != interp.EffectRunActivity || info.Path != "charge" || engine.EffectID(ctx) != info.ID {
				return nil, errors.New("unexpected call")
			}
			return codec.Marshal("stubbed " + info.ID)
		}, interp.StatusCompleted, "stubbed p/1/0", 0},
		{"error", func(context.Context, engine.EffectInfo, func(context.Context) ([]byte, error)) ([]byte, error) {
			return nil, errors.New("simulated failure")
		}, interp.StatusFailed, "simulated failure", 0},
		{"panic", func(context.Context, engine.EffectInfo, func(context.Context) ([]byte, error)) ([]byte, error) {
			panic("boom")
		}, interp.StatusFailed, "boom", 0},
		{"wrap", func(ctx context.Context, info engine.EffectInfo, run func(context.Context) ([]byte, error)) ([]byte, error) {
			if info.Attempt == 1 {
				return nil, errors.New("first attempt refused")
			}
			return run(ctx)
		}, interp.StatusCompleted, "receipt-$", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &charges{}
			wf := paymentWF(c, 2, 0)
			clock := engine.NewFakeClock(t0)
			e := newEngine(t, memory.New(), engine.WithClock(clock), engine.WithActivityRunner(tc.run))
			if err := e.Register(wf); err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if err := e.Start(ctx, wf, "p", Payment{Amount: 1}); err != nil {
				t.Fatal(err)
			}
			for range 3 { // the attempts, one second apart
				if err := e.Drain(ctx); err != nil {
					t.Fatal(err)
				}
				clock.Advance(time.Minute)
			}
			inst, err := e.Get(ctx, "p")
			if err != nil {
				t.Fatal(err)
			}
			if inst.Meta.Status != tc.status {
				t.Fatalf("status %s, want %s (%+v)", inst.Meta.Status, tc.status, inst.Meta.Failure)
			}
			switch tc.status {
			case interp.StatusCompleted:
				var out string
				if err := inst.DecodeOutput(&out); err != nil || out != tc.want {
					t.Fatalf("output %q, %v; want %q", out, err, tc.want)
				}
			default:
				if inst.Meta.Failure == nil || !strings.Contains(inst.Meta.Failure.Message, tc.want) {
					t.Fatalf("failure %+v, want it to mention %q", inst.Meta.Failure, tc.want)
				}
			}
			if ids := c.calls(); len(ids) != tc.calls || (tc.calls > 0 && ids[0] != "p/2/0") {
				t.Fatalf("the Call's own function ran %d times (effect IDs %q), want %d", len(ids), ids, tc.calls)
			}
		})
	}
}

func TestActivityRunnerNil(t *testing.T) {
	_, err := engine.New(memory.New(), engine.WithActivityRunner(nil))
	if !errors.Is(err, engine.ErrInvalidOption) || !strings.Contains(err.Error(), "WithActivityRunner") {
		t.Fatalf("err %v, want an invalid WithActivityRunner", err)
	}
}

// Without the pause, a transition that lost a race still reloads and
// commits: two engines on one store, each with a stale cached record.
func TestWithoutConflictPause(t *testing.T) {
	m := memory.New()
	wf := dsl.MustCompile[Payment]("count", dsl.For("loop", dsl.Wait("tick",
		dsl.On("tick", dsl.Signal(func(s *Payment, n int) (int, error) { s.Amount += n; return s.Amount, nil })))))
	var es [2]*engine.Engine
	for i := range es {
		es[i] = newEngine(t, m, engine.WithoutConflictPause())
		if err := es[i].Register(wf); err != nil {
			t.Fatal(err)
		}
	}
	ctx := t.Context()
	if err := es[0].Start(ctx, wf, "c", Payment{}); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if err := es[i%2].Send(ctx, "c", "tick", 1, nil); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	inst, err := es[0].Get(ctx, "c")
	if err != nil || inst.Version != 7 {
		t.Fatalf("version %d, %v; want 7", inst.Version, err)
	}
}
