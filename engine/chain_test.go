package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage/memory"
)

// Spread is a workflow whose meta keeps changing shape: threads started
// and joined, then a wait with a timer, all one statement per transition.
type Spread struct {
	A, B int
	Log  []string
}

var spreadWF = dsl.MustCompile[Spread]("spread", dsl.S(
	dsl.Go("left", dsl.While("a", func(s *Spread) bool { return s.A < 4 },
		dsl.Step("inc a", func(s *Spread) error { s.A++; s.Log = append(s.Log, "a"); return nil }))),
	dsl.Go("right", dsl.While("b", func(s *Spread) bool { return s.B < 3 },
		dsl.Step("inc b", func(s *Spread) error { s.B++; s.Log = append(s.Log, "b"); return nil }))),
	dsl.Join("both", "left", "right"),
	dsl.Wait("nap", dsl.On("done", dsl.After(time.Minute))),
	dsl.ReturnWith(func(s *Spread) string { return fmt.Sprint(s.A, s.B, s.Log) }),
), dsl.Budget(1))

// The run loop resumes a due instance several transitions in a row from
// the record it just committed, without loading it again. That must be
// invisible: the records it commits are byte for byte those of resuming
// one transition at a time with a fresh load each, as Engine.Resume does.
func TestChainedResumesMatchSingleResumes(t *testing.T) {
	chained := newEnv(t, []*dsl.Definition{spreadWF})
	single := newEnv(t, []*dsl.Definition{spreadWF})
	chained.start(spreadWF, "s", Spread{})
	single.start(spreadWF, "s", Spread{})
	for range 2 { // run until blocked, then when the timer is due
		chained.drain()
		for {
			before := single.get("s")
			if before.Meta.Status.Finished() {
				break
			}
			if err := single.e.Resume(single.ctx, "s"); err != nil {
				t.Fatal(err)
			}
			if single.get("s").Version == before.Version {
				break
			}
		}
		a, err := chained.store.Load(chained.ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		b, err := single.store.Load(single.ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		if a.Version != b.Version || !bytes.Equal(a.Data, b.Data) || !a.Due.Equal(b.Due) || a.Status != b.Status {
			t.Fatalf("chained: version %d, %s, due %v\nsingle: version %d, %s, due %v",
				a.Version, a.Status, a.Due, b.Version, b.Status, b.Due)
		}
		chained.clock.Advance(time.Minute)
		single.clock.Advance(time.Minute)
	}
	inst := chained.wantStatus("s", interp.StatusCompleted)
	if out := output[string](t, inst); out != "4 3 [a b a b a b a]" || inst.Version < 10 {
		t.Fatalf("output %q at version %d", out, inst.Version)
	}
}

// An instance that is due again after every transition, forever, does not
// keep a caller waiting: the run loop lets go of it when someone else
// wants its lock.
func TestChainedResumesYieldToCallers(t *testing.T) {
	spin := dsl.MustCompile[Count]("spin", dsl.S(
		dsl.Go("spinner", dsl.For("spin", dsl.Step("turn", func(s *Count) error { s.N++; return nil }))),
		dsl.Wait("stop", dsl.On("stop", dsl.Signal(func(s *Count, _ int) (int, error) { return s.N, nil }))),
		dsl.Return("stopped"),
	), dsl.Budget(1))
	m := &counters{}
	e := newEngine(t, memory.New(), engine.WithMetrics(m))
	if err := e.Register(spin); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	if err := e.Start(t.Context(), spin, "s", Count{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return m.transitions.Load() > 100 })
	began := time.Now()
	if err := e.Send(t.Context(), "s", "stop", 1, nil); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > time.Second {
		t.Fatalf("the send waited %v", took)
	}
	waitFor(t, func() bool {
		inst, err := e.Get(t.Context(), "s")
		return err == nil && inst.Meta.Status == interp.StatusCompleted
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if k := engine.LockedInstances(e); k != 0 {
		t.Fatalf("%d instance locks left", k)
	}
}
