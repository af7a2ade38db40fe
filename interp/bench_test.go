package interp_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

type w1 struct{ Counter int }

// tenSteps is workload W1: ten steps, each adding one; returns the counter.
func tenSteps(opts ...dsl.Option) *dsl.Definition {
	var body []dsl.Stmt
	for i := range 10 {
		body = append(body, dsl.Step(fmt.Sprint("step ", i), func(s *w1) error { s.Counter++; return nil }))
	}
	body = append(body, dsl.ReturnWith(func(s *w1) int { return s.Counter }))
	return dsl.MustCompile[w1]("w1", dsl.S(body...), opts...)
}

// BenchmarkSequentialCheckpointEveryStep runs W1 with a budget of one step
// per transition, as a host that persists after every step does: each
// transition decodes the meta, applies, and encodes the new meta (the state
// is decoded and encoded by Apply itself).
func BenchmarkSequentialCheckpointEveryStep(b *testing.B) {
	def := tenSteps(dsl.Budget(1))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	transitions := 0
	var meta interp.Meta
	for b.Loop() {
		r, err := interp.Apply(def, nil, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: now, Instance: "w"})
		if err != nil {
			b.Fatal(err)
		}
		state := r.State
		metaBytes := interp.EncodeMeta(r.Meta)
		transitions++
		for {
			var err error
			if meta, err = interp.DecodeMeta(metaBytes); err != nil {
				b.Fatal(err)
			}
			if meta.Status != interp.StatusRunning {
				break
			}
			r, err = interp.Apply(def, state, meta, interp.Event{Kind: interp.EventResume, Time: now})
			if err != nil {
				b.Fatal(err)
			}
			state = r.State
			metaBytes = interp.EncodeMeta(r.Meta)
			transitions++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(transitions), "ns/step")
	b.ReportMetric(float64(transitions)/float64(b.N), "transitions/op")
}

// BenchmarkSequentialUntilBlocked runs W1 in one transition.
func BenchmarkSequentialUntilBlocked(b *testing.B) {
	def := tenSteps()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		r, err := interp.Apply(def, nil, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: now, Instance: "w"})
		if err != nil || r.Meta.Status != interp.StatusCompleted {
			b.Fatal(err, r.Meta.Status)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "workflows/s")
}

// BenchmarkResumeAfterK is workload W3: an instance that has looped K times
// over a wait; the cost of the next tick must not depend on K.
func BenchmarkResumeAfterK(b *testing.B) {
	type w3 struct{ Ticks int }
	def := dsl.MustCompile[w3]("w3", dsl.For("loop",
		dsl.Wait("tick", dsl.On("tick", dsl.Signal(func(s *w3, _ struct{}) (int, error) { s.Ticks++; return s.Ticks, nil })))))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tick, _ := codec.Marshal(struct{}{})
	for _, k := range []int{10, 1000, 100000} {
		b.Run(fmt.Sprint("K=", k), func(b *testing.B) {
			r, err := interp.Apply(def, nil, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: now, Instance: "w"})
			if err != nil {
				b.Fatal(err)
			}
			for range k {
				cb := r.Meta.Threads[0].Waits[0].Callback
				if r, err = interp.Apply(def, r.State, r.Meta, interp.Event{Kind: interp.EventCallback, Time: now, Callback: cb, Payload: tick}); err != nil {
					b.Fatal(err)
				}
			}
			state, metaBytes := r.State, interp.EncodeMeta(r.Meta)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				meta, err := interp.DecodeMeta(metaBytes)
				if err != nil {
					b.Fatal(err)
				}
				cb := meta.Threads[0].Waits[0].Callback
				r, err := interp.Apply(def, state, meta, interp.Event{Kind: interp.EventCallback, Time: now, Callback: cb, Payload: tick})
				if err != nil {
					b.Fatal(err)
				}
				_ = interp.EncodeMeta(r.Meta)
			}
		})
	}
}

// BenchmarkCallbackWithLiveThreads answers one worker's timer in an
// instance with n live threads (fanOut's workers and main): the cost of
// loading, resolving (the position rule and thread identity) and writing
// back every thread, per transition.
func BenchmarkCallbackWithLiveThreads(b *testing.B) {
	for _, n := range []int{4, 5, 32, 200} {
		b.Run(fmt.Sprint("threads=", n+1), func(b *testing.B) {
			def := fanOut("spawn")
			init, err := codec.Marshal(fan{N: n})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			r, err := interp.Apply(def, init, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: now, Instance: "w"})
			if err != nil {
				b.Fatal(err)
			}
			var cb uint64
			for _, th := range r.Meta.Threads {
				for _, p := range th.Waits {
					if th.ID == "worker[0]" && p.Kind == interp.Timer {
						cb = p.Callback
					}
				}
			}
			ev := interp.Event{Kind: interp.EventCallback, Callback: cb, Time: now.Add(time.Hour)}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := interp.Apply(def, r.State, r.Meta, ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkResumeNotDue refuses a Resume that finds nothing due in an
// instance parked on a timer, as a host polling early does: the refusal
// needs only the meta.
func BenchmarkResumeNotDue(b *testing.B) {
	type w4 struct {
		Items []string
		Note  string
	}
	def := dsl.MustCompile[w4]("w4", dsl.S(
		dsl.Step("fill", func(s *w4) error { s.Items, s.Note = []string{"a", "b", "c", "d"}, "filled"; return nil }),
		dsl.Wait("later", dsl.On("tick", dsl.After(time.Hour))),
	))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r, err := interp.Apply(def, nil, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: now, Instance: "w"})
	if err != nil {
		b.Fatal(err)
	}
	early := interp.Event{Kind: interp.EventResume, Time: now.Add(time.Minute)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := interp.Apply(def, r.State, r.Meta, early); !errors.Is(err, interp.ErrNotDue) {
			b.Fatalf("early Resume: %v, want ErrNotDue", err)
		}
	}
}
