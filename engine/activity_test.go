package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
)

type Payment struct {
	Amount  int
	Receipt string
}

// charges records the activity's calls.
type charges struct {
	mu    sync.Mutex
	ids   []string // effect IDs seen, one per call
	fails int      // fail this many calls first
	block bool     // wait for the context to end
}

func (c *charges) charge(ctx context.Context, p Payment) (string, error) {
	c.mu.Lock()
	c.ids = append(c.ids, engine.EffectID(ctx))
	n, fails, block := len(c.ids), c.fails, c.block
	c.mu.Unlock()
	if block {
		<-ctx.Done()
		return "", ctx.Err()
	}
	if n <= fails {
		return "", errors.New("card declined")
	}
	return "receipt-" + strings.Repeat("$", p.Amount), nil
}

func (c *charges) calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ids...)
}

func paymentWF(c *charges, attempts int, timeout time.Duration) *dsl.Definition {
	return dsl.MustCompile[Payment]("payment", dsl.S(
		dsl.Call("charge", c.charge, func(s *Payment, r string) { s.Receipt = r }).
			Retry(dsl.RetryPolicy{MaxAttempts: attempts, Initial: time.Second}).
			Timeout(timeout),
		dsl.ReturnWith(func(s *Payment) string { return s.Receipt }),
	))
}

func TestActivity(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		c := &charges{}
		wf := paymentWF(c, 3, 0)
		v := newEnv(t, []*dsl.Definition{wf})
		v.start(wf, "p", Payment{Amount: 3})
		v.wantStatus("p", interp.StatusRunning)
		v.drain()
		inst := v.wantStatus("p", interp.StatusCompleted)
		if got := output[string](t, inst); got != "receipt-$$$" {
			t.Fatalf("output %q", got)
		}
		if ids := c.calls(); len(ids) != 1 || ids[0] != "p/1/0" {
			t.Fatalf("effect IDs seen by the activity: %q", ids)
		}
		if n := len(v.outbox()); n != 0 {
			t.Fatalf("%d effects left", n)
		}
	})

	t.Run("failure, retry, success", func(t *testing.T) {
		c := &charges{fails: 1}
		wf := paymentWF(c, 3, 0)
		v := newEnv(t, []*dsl.Definition{wf})
		v.start(wf, "p", Payment{Amount: 1})
		v.drain()
		if n := len(c.calls()); n != 1 {
			t.Fatalf("%d calls", n)
		}
		inst := v.wantStatus("p", interp.StatusRunning)
		if p := pending(t, inst, ""); p.Attempt != 2 || !p.At.Equal(t0.Add(time.Second)) {
			t.Fatalf("second attempt %+v", p)
		}
		v.drain() // not before its time
		if n := len(c.calls()); n != 1 {
			t.Fatalf("the retry ran early: %d calls", n)
		}
		v.clock.Advance(time.Second)
		v.drain()
		if got := output[string](t, v.wantStatus("p", interp.StatusCompleted)); got != "receipt-$" {
			t.Fatalf("output %q", got)
		}
		if ids := c.calls(); len(ids) != 2 || ids[0] == ids[1] {
			t.Fatalf("each attempt is its own effect: %q", ids)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		c := &charges{block: true}
		wf := paymentWF(c, 1, 20*time.Millisecond)
		v := newEnv(t, []*dsl.Definition{wf})
		v.start(wf, "p", Payment{Amount: 1})
		v.drain()
		f := v.wantStatus("p", interp.StatusFailed).Meta.Failure
		if f == nil || f.Path != "charge" || !strings.Contains(f.Message, "attempt 1 timed out after 20ms") {
			t.Fatalf("failure %+v", f)
		}
	})

	t.Run("attempts run out", func(t *testing.T) {
		c := &charges{fails: 100}
		wf := paymentWF(c, 2, 0)
		v := newEnv(t, []*dsl.Definition{wf})
		v.start(wf, "p", Payment{Amount: 1})
		v.drain()
		v.clock.Advance(time.Second)
		v.drain()
		f := v.wantStatus("p", interp.StatusFailed).Meta.Failure
		if n := len(c.calls()); n != 2 || f == nil || f.Message != "activity failed after 2 attempts: card declined" {
			t.Fatalf("%d calls, failure %+v", n, f)
		}
		if n := len(v.outbox()); n != 0 {
			t.Fatalf("%d effects left", n)
		}
	})

	t.Run("not run once unwanted", func(t *testing.T) {
		c := &charges{fails: 1}
		wf := paymentWF(c, 3, 0)
		v := newEnv(t, []*dsl.Definition{wf})
		v.start(wf, "p", Payment{Amount: 1})
		v.drain() // attempt 1 fails; attempt 2 is due in 1s
		if err := v.e.Cancel(v.ctx, "p"); err != nil {
			t.Fatal(err)
		}
		v.clock.Advance(time.Minute)
		v.drain()
		v.wantStatus("p", interp.StatusCanceled)
		if n := len(c.calls()); n != 1 {
			t.Fatalf("a canceled attempt ran: %d calls", n)
		}
		if n := len(v.outbox()); n != 0 {
			t.Fatalf("%d effects left", n)
		}
	})
}

// An attempt cut short by the engine stopping is not a failed attempt: it
// runs again, with the same effect ID, after a restart.
func TestActivityAbandonedOnStopRunsAgain(t *testing.T) {
	c := &charges{block: true}
	wf := paymentWF(c, 1, 0)
	v := newEnv(t, []*dsl.Definition{wf})
	v.start(wf, "p", Payment{Amount: 2})

	ctx, cancel := context.WithCancel(v.ctx)
	done := make(chan error)
	go func() { done <- v.e.Run(ctx) }()
	waitFor(t, func() bool { return len(c.calls()) == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	v.wantStatus("p", interp.StatusRunning)

	c.mu.Lock()
	c.block = false
	c.mu.Unlock()
	restarted := v.engine([]*dsl.Definition{wf})
	if err := restarted.Drain(v.ctx); err != nil {
		t.Fatal(err)
	}
	v.wantStatus("p", interp.StatusCompleted)
	if ids := c.calls(); len(ids) != 2 || ids[0] != ids[1] {
		t.Fatalf("effect IDs %q, want the same twice", ids)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(time.Millisecond)
	}
}

// A running attempt whose result is no longer wanted (the instance is
// canceled) is stopped by the CancelActivity effect: its context ends,
// with context.Canceled as its error and its cause, a context derived from
// it ends too, the effect ID stays readable, and what it returns is not
// delivered.
func TestActivityStoppedWhenUnwanted(t *testing.T) {
	type seen struct {
		id            string
		err, cause    error
		derivedClosed bool
	}
	started := make(chan struct{})
	got := make(chan seen, 1)
	wf := dsl.MustCompile[Payment]("stoppable", dsl.S(
		dsl.Call("charge", func(ctx context.Context, p Payment) (string, error) {
			derived, cancel := context.WithTimeout(ctx, time.Hour)
			defer cancel()
			close(started)
			<-ctx.Done()
			s := seen{id: engine.EffectID(ctx), err: ctx.Err(), cause: context.Cause(ctx)}
			select {
			case <-derived.Done():
				s.derivedClosed = true
			case <-time.After(10 * time.Second):
			}
			got <- s
			return "too late", nil
		}, func(s *Payment, r string) { s.Receipt = r }),
		dsl.ReturnWith(func(s *Payment) string { return s.Receipt }),
	))
	v := newEnv(t, []*dsl.Definition{wf})
	v.start(wf, "p", Payment{Amount: 1})
	ctx, stop := context.WithCancel(v.ctx)
	done := make(chan error)
	go func() { done <- v.e.Run(ctx) }()
	<-started
	if err := v.e.Cancel(v.ctx, "p"); err != nil {
		t.Fatal(err)
	}
	var s seen
	select {
	case s = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the attempt was not stopped")
	}
	if !errors.Is(s.err, context.Canceled) || !errors.Is(s.cause, context.Canceled) || !s.derivedClosed || !strings.HasPrefix(s.id, "p/") {
		t.Fatalf("the stopped attempt saw %+v", s)
	}
	waitFor(t, func() bool { return len(v.outbox()) == 0 })
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if inst := v.wantStatus("p", interp.StatusCanceled); inst.Meta.Output != nil {
		t.Fatalf("output %q", inst.Meta.Output)
	}
}

// An attempt that succeeds as the engine stops (it ignores its context's
// end, or finished just then) has its result delivered: the activity is
// not run again after the restart.
func TestActivityFinishedAsRunStopsIsDelivered(t *testing.T) {
	var calls atomic.Int32
	started := make(chan struct{}, 1)
	wf := dsl.MustCompile[Payment]("payment", dsl.S(
		dsl.Call("charge", func(ctx context.Context, p Payment) (string, error) {
			if calls.Add(1) == 1 {
				started <- struct{}{}
				<-ctx.Done() // the stop lands while the charge goes through
			}
			return "receipt", nil
		}, func(s *Payment, r string) { s.Receipt = r }),
		dsl.ReturnWith(func(s *Payment) string { return s.Receipt }),
	))
	v := newEnv(t, []*dsl.Definition{wf})
	v.start(wf, "p", Payment{Amount: 1})
	ctx, cancel := context.WithCancel(v.ctx)
	done := make(chan error)
	go func() { done <- v.e.Run(ctx) }()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := v.engine([]*dsl.Definition{wf}).Drain(v.ctx); err != nil {
		t.Fatal(err)
	}
	if got := output[string](t, v.wantStatus("p", interp.StatusCompleted)); got != "receipt" || calls.Load() != 1 {
		t.Fatalf("output %q after %d calls, want the first call's receipt", got, calls.Load())
	}
}
