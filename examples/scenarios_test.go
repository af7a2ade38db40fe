// Tests that run every example through the pure interpreter along scripted
// scenarios, checking at every transition that the same (state, meta,
// event) gives byte-identical results.
package examples_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/internal/activity"
	"github.com/weftflow/weft/interp"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

type run struct {
	t     *testing.T
	def   *dsl.Definition
	state []byte
	meta  interp.Meta
	now   time.Time
	steps int
}

func (r *run) apply(ev interp.Event) ([]interp.Effect, error) {
	r.t.Helper()
	ev.Time = r.now
	a, errA := interp.Apply(r.def, r.state, r.meta, ev)
	b, errB := interp.Apply(r.def, r.state, r.meta, ev)
	if (errA == nil) != (errB == nil) {
		r.t.Fatalf("nondeterministic error: %v vs %v", errA, errB)
	}
	if errA != nil {
		return nil, errA
	}
	ma, _ := codec.Marshal(a.Meta)
	mb, _ := codec.Marshal(b.Meta)
	if !bytes.Equal(a.State, b.State) || !bytes.Equal(ma, mb) || !reflect.DeepEqual(a.Effects, b.Effects) {
		r.t.Fatalf("transition %d (%s) is not deterministic", r.steps, ev.Kind)
	}
	r.state, r.meta = a.State, a.Meta
	r.steps++
	// Run activities at once, as a host would, feeding results back.
	for _, e := range a.Effects {
		if e.Kind == interp.EffectRunActivity {
			out, err := activity.Run(context.Background(), r.def, e.Path, e.Data)
			cb := interp.Event{Kind: interp.EventCallback, Callback: e.Callback, Payload: out}
			if err != nil {
				cb.Payload, cb.Error = nil, err.Error()
			}
			if e.At.After(r.now) {
				r.now = e.At
			}
			if _, err := r.apply(cb); err != nil {
				r.t.Fatalf("activity result: %v", err)
			}
		}
	}
	return a.Effects, nil
}

func (r *run) send(event string, payload any) {
	r.t.Helper()
	for _, th := range r.meta.Threads {
		for _, p := range th.Waits {
			if p.Event == event {
				b, err := codec.Marshal(payload)
				if err != nil {
					r.t.Fatal(err)
				}
				if _, err := r.apply(interp.Event{Kind: interp.EventCallback, Callback: p.Callback, Payload: b}); err != nil {
					r.t.Fatalf("send %s: %v", event, err)
				}
				return
			}
		}
	}
	r.t.Fatalf("nobody waits for %q: %+v", event, r.meta.Threads)
}

func (r *run) advance(d time.Duration) {
	r.t.Helper()
	r.now = r.now.Add(d)
	if _, err := r.apply(interp.Event{Kind: interp.EventResume}); err != nil {
		r.t.Fatalf("resume: %v", err)
	}
}

func (r *run) output() string {
	r.t.Helper()
	var s string
	if err := codec.Unmarshal(r.meta.Output, &s); err != nil {
		r.t.Fatal(err)
	}
	return s
}

func start(t *testing.T, def *dsl.Definition, input any) *run {
	t.Helper()
	b, err := codec.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{t: t, def: def, state: b, now: t0}
	if _, err := r.apply(interp.Event{Kind: interp.EventStart, Instance: "x"}); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestApprovalScenarios(t *testing.T) {
	req := approval.Request{ID: "r1", User: "ada", Amount: 300}
	t.Run("approved after a reminder", func(t *testing.T) {
		r := start(t, approval.Workflow, req)
		r.advance(5 * time.Minute)
		r.send("decide", approval.Decision{Approve: true})
		if r.meta.Status != interp.StatusCompleted || r.output() != "approved" {
			t.Fatalf("status %s output %q", r.meta.Status, r.output())
		}
		var s approval.Request
		_ = codec.Unmarshal(r.state, &s)
		if !s.Reminded || s.Notified != "to ada: your request r1 is approved" {
			t.Fatalf("state %+v", s)
		}
	})
	t.Run("timed out", func(t *testing.T) {
		r := start(t, approval.Workflow, req)
		r.advance(10 * time.Minute)
		if r.output() != "denied: timed out" {
			t.Fatalf("output %q", r.output())
		}
	})
	t.Run("nothing to approve", func(t *testing.T) {
		r := start(t, approval.Workflow, approval.Request{ID: "r2"})
		if r.output() != "nothing to approve" {
			t.Fatalf("output %q", r.output())
		}
	})
}

func TestPizzaScenarios(t *testing.T) {
	t.Run("delivered", func(t *testing.T) {
		r := start(t, pizza.Workflow, pizza.Order{Customer: "bo"})
		r.send("add", pizza.Add{Item: "margherita"})
		r.send("add", pizza.Add{Item: "diavola"})
		r.send("empty", struct{}{})
		r.send("add", pizza.Add{Item: "funghi"})
		r.send("submit", struct{}{})
		r.send("confirm", pizza.Confirmation{OK: true})
		r.send("cooked", struct{}{})
		r.send("delivered", struct{}{})
		if r.meta.Status != interp.StatusCompleted || r.output() != "delivered 1 items to bo, receipt rcpt-bo-1200" {
			t.Fatalf("status %s output %q failure %+v", r.meta.Status, r.output(), r.meta.Failure)
		}
	})
	t.Run("abandoned", func(t *testing.T) {
		r := start(t, pizza.Workflow, pizza.Order{Customer: "bo"})
		r.send("add", pizza.Add{Item: "margherita"})
		r.advance(24 * time.Hour)
		if r.output() != "abandoned" {
			t.Fatalf("output %q", r.output())
		}
	})
	t.Run("rejected by the manager", func(t *testing.T) {
		r := start(t, pizza.Workflow, pizza.Order{Customer: "bo"})
		r.send("add", pizza.Add{Item: "margherita"})
		r.send("submit", struct{}{})
		r.send("confirm", pizza.Confirmation{OK: false})
		if r.output() != "rejected" {
			t.Fatalf("output %q", r.output())
		}
	})
}
