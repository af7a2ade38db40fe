package engine_test

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// Sends under Run to counters whose wait has a setup and a teardown (each
// send commits a Teardown and the next Setup to the outbox, which Run
// performs) against the same counters with a plain signal. Compare the
// pair in one run:
//
//	go test -run '^$' -bench 'SendUnderRun$' -benchtime 10000x -count 5 ./engine/
//	go test -run '^$' -bench 'SendUnderRunDurable' -benchtime 2000x -count 5 ./engine/
//
// docs/performance.md ("Sends to waits with setup and teardown") has the
// figures.

// tally is a counter handler whose wait needs an outside task.
type tally struct{}

func (tally) Handle(s *Count, by int) (int, error) { s.N += by; return s.N, nil }
func (tally) Setup(s *Count) any                   { return s.N }

var (
	setupCounterWF = dsl.MustCompile[Count]("setup-counter", dsl.For("loop",
		dsl.Wait("next", dsl.On("inc", dsl.Custom[Count, int, int]("tally", tally{})))))
	plainCounterWF = dsl.MustCompile[Count]("plain-counter", dsl.For("loop",
		dsl.Wait("next", dsl.On("inc", dsl.Signal(tally{}.Handle)))))
)

// benchSendUnderRun sends b.N events in all, from clients goroutines each
// sending to its own instance, with Run performing the effects; an op
// ends when its effects have been performed too.
func benchSendUnderRun(b *testing.B, store storage.Store, def *dsl.Definition, clients int) {
	benchSends(b, store, def, clients, false)
}

// benchSends is benchSendUnderRun; with lockstep, each client waits after
// a send until its effects have been performed (yielding, not sleeping),
// so that under GOMAXPROCS=1 every send costs the same instructions.
func benchSends(b *testing.B, store storage.Store, def *dsl.Definition, clients int, lockstep bool) {
	ctx, cancel := context.WithCancel(context.Background())
	var setups, teardowns atomic.Int64
	e := newEngine(b, store)
	if err := e.Register(def); err != nil {
		b.Fatal(err)
	}
	e.Handle("tally", engine.SetupFuncs{
		SetupFunc:    func(context.Context, engine.EffectInfo) error { setups.Add(1); return nil },
		TeardownFunc: func(context.Context, engine.EffectInfo) error { teardowns.Add(1); return nil },
	})
	for c := range clients {
		if err := e.Start(ctx, def, "c"+strconv.Itoa(c), Count{}); err != nil {
			b.Fatal(err)
		}
	}
	ran := make(chan error, 1)
	go func() { ran <- e.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			b.Error(err)
		}
	}()

	b.ReportAllocs()
	var tx0 uint64
	if s, ok := store.(benchStore); ok && s.bolt != nil {
		tx0 = s.bolt.Stats().Transactions
	}
	xcore := coreRoundTrip()
	cpu0 := cpuTime()
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for c := range clients {
		id := "c" + strconv.Itoa(c)
		wg.Go(func() {
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				if err := e.Send(ctx, id, "inc", 1, nil); err != nil {
					b.Error(err)
					return
				}
				for lockstep && def == setupCounterWF && (teardowns.Load() < n || setups.Load() < n+int64(clients)) {
					runtime.Gosched()
				}
			}
		})
	}
	wg.Wait()
	// The effects are part of the work: wait until every setup and
	// teardown committed by the sends has been performed.
	for def == setupCounterWF && (teardowns.Load() < int64(b.N) || setups.Load() < int64(b.N+clients)) {
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	// The machine may be shared: CPU time per op is steadier than wall time.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if xcore > 0 {
		b.ReportMetric(float64(xcore.Nanoseconds()), "xcore-ns") // (see coreRoundTrip)
	}
	if s, ok := store.(benchStore); ok && s.bolt != nil {
		// Write transactions (fsyncs) per send, acknowledgements included.
		b.ReportMetric(float64(s.bolt.Stats().Transactions-tx0)/float64(b.N), "tx/op")
	}
	total := 0
	for c := range clients {
		s, err := engine.Query[Count](ctx, e, "c"+strconv.Itoa(c))
		if err != nil {
			b.Fatal(err)
		}
		total += s.N
	}
	if total != b.N {
		b.Fatalf("counters add up to %d, want %d", total, b.N)
	}
}

// BenchmarkSendUnderRun is one Send per op to a counter waiting on a
// custom event with Setup and Teardown ("setup") or without ("plain"),
// with Run in the background, from 1 and 16 clients.
func BenchmarkSendUnderRun(b *testing.B) {
	for _, clients := range []int{1, 16} {
		for _, c := range []struct {
			name string
			def  *dsl.Definition
		}{{"plain", plainCounterWF}, {"setup", setupCounterWF}} {
			b.Run(c.name+"/clients="+strconv.Itoa(clients), func(b *testing.B) {
				benchSendUnderRun(b, memory.New(), c.def, clients)
			})
		}
	}
}

// BenchmarkSendUnderRunDurable is BenchmarkSendUnderRun on a bbolt file
// with fsync on, where every commit and every acknowledgement of an effect
// is a write transaction (group commit shares fsyncs among concurrent ones).
func BenchmarkSendUnderRunDurable(b *testing.B) {
	for _, clients := range []int{1, 16} {
		for _, c := range []struct {
			name string
			def  *dsl.Definition
		}{{"plain", plainCounterWF}, {"setup", setupCounterWF}} {
			b.Run(c.name+"/clients="+strconv.Itoa(clients), func(b *testing.B) {
				store := openBolt(b)
				defer store.Close()
				benchSendUnderRun(b, store, c.def, clients)
			})
		}
	}
}

// BenchmarkSendUnderRunLockstep is BenchmarkSendUnderRun with one client
// that waits for each send's effects before the next: every send then
// takes the same path, and instruction counts are steady, for comparing
// builds under cachegrind:
//
//	GOMAXPROCS=1 valgrind --tool=cachegrind --cache-sim=no ./engine.test \
//	    -test.run '^$' -test.bench 'SendUnderRunLockstep/setup' -test.benchtime 20000x
func BenchmarkSendUnderRunLockstep(b *testing.B) {
	for _, c := range []struct {
		name string
		def  *dsl.Definition
	}{{"plain", plainCounterWF}, {"setup", setupCounterWF}} {
		b.Run(c.name, func(b *testing.B) { benchSends(b, memory.New(), c.def, 1, true) })
	}
}
