package engine_test

// The engine's own cost (issue 9): workloads W1, W1 with Call activities,
// W2 and W4 of the performance brief on the memory store, driven by one
// client goroutine while Engine.Run performs the effects. Nothing here
// touches a disk, so what is measured is the engine: load, decode, apply,
// encode, commit to memory, dispatch and acknowledge. The workloads have
// no finish hook and run WithoutEndEffects (as Temporal's test suite they
// are compared with has no end hook: an end is a commit, not an effect);
// W2-finish-hook is W2 with a hook, whose every end is an effect
// performed and acknowledged.
//
//	go test -run '^$' -bench OwnCost -benchtime 5x -count 3 ./engine/

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage/memory"
)

// w1CallDef is W1 with each step an activity (dsl.Call) that returns the
// counter plus one.
var w1CallDef = func() *dsl.Definition {
	var body []dsl.Stmt
	for i := range 10 {
		body = append(body, dsl.Call("call "+strconv.Itoa(i),
			func(_ context.Context, s W1) (int, error) { return s.Counter + 1, nil },
			func(s *W1, v int) { s.Counter = v }))
	}
	body = append(body, dsl.ReturnWith(func(s *W1) int { return s.Counter }))
	return dsl.MustCompile[W1]("w1-call", dsl.S(body...))
}()

// W4 is workload W4: a 24 h timer, then return.
type W4 struct{ Done bool }

var w4Def = dsl.MustCompile[W4]("w4", dsl.Wait("day",
	dsl.On("elapsed", dsl.After(24*time.Hour), dsl.Return(true))))

func BenchmarkOwnCost(b *testing.B) {
	ctx := context.Background()
	b.Run("W1-steps", func(b *testing.B) {
		ownCost(b, w1Def(), 20000, 1, false, nil, func(r *running, id string) error {
			return r.e.Start(ctx, r.def, id, W1{})
		}, nil)
	})
	b.Run("W1-call", func(b *testing.B) {
		ownCost(b, w1CallDef, 5000, 11, false, nil, func(r *running, id string) error {
			return r.e.Start(ctx, r.def, id, W1{})
		}, nil)
	})
	w2Start := func(r *running, id string) error { return r.e.Start(ctx, r.def, id, W2{}) }
	w2Send := func(r *running, id string) error { return r.e.Send(ctx, id, "go", 7, nil) }
	b.Run("W2", func(b *testing.B) { ownCost(b, w2Def, 20000, 2, false, nil, w2Start, w2Send) })
	b.Run("W2-finish-hook", func(b *testing.B) { ownCost(b, w2Def, 20000, 2, true, nil, w2Start, w2Send) })
	b.Run("W4", func(b *testing.B) {
		clock := engine.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		ownCost(b, w4Def, 20000, 2, false, []engine.Option{engine.WithClock(clock)}, func(r *running, id string) error {
			return r.e.Start(ctx, r.def, id, W4{})
		}, func(r *running, id string) error {
			if id == "0" { // once per round: a day passes
				clock.Advance(24 * time.Hour)
			}
			return nil
		})
	})
}

// ownCost runs n workflows of perWF transitions each per iteration: one
// client calls start for each ID in turn, then (if then is set) then for
// each, and the iteration ends when every workflow has ended: with a
// finish hook (hook), when Run has performed every end effect; without,
// at the last transition.
func ownCost(b *testing.B, def *dsl.Definition, n, perWF int, hook bool, opts []engine.Option, start, then func(*running, string) error) {
	b.ReportAllocs()
	var t totals
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		store := benchStore{Store: memory.New()}
		if !hook {
			opts = append(opts[:len(opts):len(opts)], engine.WithoutEndEffects())
		}
		r := runEngineHook(b, store.Store, def, hook, opts...)
		r.def = def
		if hook {
			r.expect(int64(n))
		} else {
			r.expectTransitions(int64(n * perWF))
		}
		t.measure(b, store, r, n, func() {
			for _, id := range ids {
				if err := start(r, id); err != nil {
					b.Fatal(err)
				}
			}
			if then != nil {
				for _, id := range ids {
					if err := then(r, id); err != nil {
						b.Fatal(err)
					}
				}
			}
			r.wait(b)
		})
		store.Close()
	}
	t.report(b)
}

// BenchmarkW1CallDurable is W1 with Call activities on the bolt store
// (fsync on), 300 instances per iteration: what the worker taking the
// next activity itself and acknowledging a chain of them in one Ack costs
// or saves on a durable store.
//
//	go test -run '^$' -bench W1CallDurable -benchtime 3x ./engine/
func BenchmarkW1CallDurable(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	var t totals
	ids := make([]string, 300)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		store := openBolt(b)
		r := runEngine(b, store.Store, w1CallDef)
		r.expect(int64(len(ids)))
		t.measure(b, store, r, len(ids), func() {
			for _, id := range ids {
				if err := r.e.Start(ctx, w1CallDef, id, W1{}); err != nil {
					b.Fatal(err)
				}
			}
			r.wait(b)
		})
		store.Close()
	}
	t.report(b)
}
