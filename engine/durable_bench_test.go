package engine_test

// Workloads W1 and W2 of the team's performance brief, driven through
// Engine.Run on a bbolt file with fsync on and on the memory store. Run
// them with, for example:
//
//	go test -run '^$' -bench 'W1|W2' -benchtime 3x ./engine/
//	go test -run '^$' -bench Parked -benchtime 1x ./engine/
//
// docs/performance-durable.md has the figures and the exact commands.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"github.com/weftflow/weft/storage/memory"
)

// W1 is workload W1: ten steps, step i adds one to a counter; returns it.
type W1 struct{ Counter int }

func w1Def(opts ...dsl.Option) *dsl.Definition {
	var body []dsl.Stmt
	for i := range 10 {
		body = append(body, dsl.Step("step "+strconv.Itoa(i), func(s *W1) error { s.Counter++; return nil }))
	}
	body = append(body, dsl.ReturnWith(func(s *W1) int { return s.Counter }))
	return dsl.MustCompile[W1]("w1", dsl.S(body...), opts...)
}

// W2 is workload W2: wait for one event "go" carrying an int; return it.
type W2 struct{ V int }

var w2Def = dsl.MustCompile[W2]("w2", dsl.Wait("wait",
	dsl.On("go", dsl.Signal(func(s *W2, v int) (int, error) { s.V = v; return v, nil }),
		dsl.ReturnWith(func(s *W2) int { return s.V }))))

// benchStore is a store under test and how to read its write statistics.
type benchStore struct {
	storage.Store
	bolt *bolt.Store // nil for the memory store
	path string
}

func openBolt(b *testing.B) benchStore {
	b.Helper()
	path := filepath.Join(b.TempDir(), "weft.db")
	s, err := bolt.Open(path) // fsync on
	if err != nil {
		b.Fatal(err)
	}
	return benchStore{Store: s, bolt: s, path: path}
}

func openMemory(*testing.B) benchStore { return benchStore{Store: memory.New()} }

// benchMetrics counts transitions for the benchmarks with one atomic add,
// as a production metrics hook does (a counter per label set, found once);
// the tests' counters keep every count in one map under one mutex, which
// all workers contend for: 4% of W1-call's CPU, the test's cost, not the
// engine's.
type benchMetrics struct {
	engine.NopMetrics
	transitions atomic.Int64
	target      atomic.Int64  // transitions after which done is closed (see expectTransitions); 0: none
	done        chan struct{} // the running's
}

func (m *benchMetrics) Transition(string, interp.EventKind) {
	if n := m.transitions.Add(1); n == m.target.Load() {
		close(m.done)
	}
}

// running is an engine driven by Run in the background that signals when
// a number of instances have finished: by its finish hook, or without one
// by the transitions counted.
type running struct {
	e        *engine.Engine
	def      *dsl.Definition // the definition registered, where a benchmark needs it
	m        *benchMetrics
	stop     func()
	finished atomic.Int64
	target   atomic.Int64
	done     chan struct{}
}

func runEngine(b *testing.B, store storage.Store, def *dsl.Definition, opts ...engine.Option) *running {
	b.Helper()
	return runEngineHook(b, store, def, true, opts...)
}

// runEngineHook is runEngine with a finish hook, or if not hook without
// one: the engine then keeps no end effects, and the caller learns that
// the instances ended from the transitions counted (expectTransitions).
func runEngineHook(b *testing.B, store storage.Store, def *dsl.Definition, hook bool, opts ...engine.Option) *running {
	b.Helper()
	r := &running{m: &benchMetrics{}, done: make(chan struct{})}
	r.m.done = r.done
	r.target.Store(-1)
	opts = append([]engine.Option{engine.WithMetrics(r.m)}, opts...)
	if hook {
		opts = append(opts, engine.WithFinish(func(context.Context, engine.EffectInfo) error {
			if r.finished.Add(1) == r.target.Load() {
				close(r.done)
			}
			return nil
		}))
	}
	r.e = newEngine(b, store, opts...)
	if err := r.e.Register(def); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- r.e.Run(ctx) }()
	r.stop = func() {
		cancel()
		if err := <-ran; err != nil {
			b.Error(err)
		}
	}
	return r
}

// expect arms the finish signal for n finished instances in all.
func (r *running) expect(n int64) {
	r.target.Store(n)
	if r.finished.Load() >= n {
		close(r.done)
	}
}

// expectTransitions arms the signal for n transitions in all, for an
// engine without a finish hook: the last transition of the last instance
// ends it.
func (r *running) expectTransitions(n int64) {
	r.m.target.Store(n)
	if r.m.transitions.Load() >= n {
		close(r.done)
	}
}

func (r *running) wait(b *testing.B) {
	select {
	case <-r.done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d instances finished", r.finished.Load())
	}
}

// parallel calls f(i) for i in [0, n) from min(n, clients) goroutines.
func parallel(b *testing.B, n, clients int, f func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, clients) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// totals accumulates the figures of the iterations of a benchmark.
type totals struct {
	elapsed             time.Duration
	workflows           int64
	transitions         int64
	transactions, write uint64
	mallocs             uint64
	cpu                 time.Duration // of the whole process, while measured
	xcore               time.Duration // the sum of coreRoundTrip before each iteration
	probes              int
}

func (t *totals) report(b *testing.B) {
	s := t.elapsed.Seconds()
	b.ReportMetric(float64(t.workflows)/s, "workflows/s")
	b.ReportMetric(float64(t.transitions)/s, "transitions/s")
	b.ReportMetric(float64(t.transitions)/float64(t.workflows), "transitions/wf")
	b.ReportMetric(float64(t.mallocs)/float64(t.transitions), "allocs/transition")
	// CPU per workflow says more than workflows/s on a shared machine.
	b.ReportMetric(float64(t.cpu.Microseconds())/float64(t.workflows), "cpu-µs/wf")
	if t.transactions > 0 {
		b.ReportMetric(float64(t.write)/float64(t.transactions), "commits/fsync")
	}
	if t.xcore > 0 {
		b.ReportMetric(float64(t.xcore.Nanoseconds())/float64(t.probes), "xcore-ns")
	}
}

// measure runs one iteration of a workload: body starts instances and
// delivers events, and returns when all of them have finished. The
// counts are read after r has stopped, so that every transition is in.
func (t *totals) measure(b *testing.B, store benchStore, r *running, n int, body func()) {
	var before, after bolt.Stats
	if store.bolt != nil {
		before = store.bolt.Stats()
	}
	tr0 := r.m.transitions.Load()
	t.xcore += coreRoundTrip()
	t.probes++
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.StartTimer()
	began, cpu := time.Now(), cpuTime()
	body()
	t.elapsed += time.Since(began)
	t.cpu += cpuTime() - cpu
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	if store.bolt != nil {
		after = store.bolt.Stats()
	}
	r.stop()
	t.workflows += int64(n)
	t.transitions += r.m.transitions.Load() - tr0
	t.transactions += after.Transactions - before.Transactions
	t.write += after.Writes - before.Writes
	t.mallocs += ms1.Mallocs - ms0.Mallocs
}

// benchW1 runs W1 with n instances per iteration, all started at once
// (from n goroutines) and driven by Run to completion.
func benchW1(b *testing.B, open func(*testing.B) benchStore, n int, def *dsl.Definition, opts ...engine.Option) {
	b.ReportAllocs()
	var t totals
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		store := open(b)
		r := runEngine(b, store, def, opts...)
		r.expect(int64(n))
		ctx := context.Background()
		t.measure(b, store, r, n, func() {
			parallel(b, n, n, func(i int) error {
				return r.e.Start(ctx, def, "w1-"+strconv.Itoa(i), W1{})
			})
			r.wait(b)
		})
		checkW1(b, r.e, n)
		store.Close()
	}
	t.report(b)
}

func checkW1(b *testing.B, e *engine.Engine, n int) {
	for _, i := range []int{0, n - 1} {
		inst, err := e.Get(context.Background(), "w1-"+strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		var out int
		if err := inst.DecodeOutput(&out); err != nil || out != 10 {
			b.Fatalf("output %d, %v", out, err)
		}
	}
}

// BenchmarkW1Durable is W1 with a checkpoint after every step
// (dsl.Budget(1)) on a bbolt file with fsync on: 1,000 (and 10,000)
// instances at once, with the engine's default workers.
func BenchmarkW1Durable(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) { benchW1(b, openBolt, n, w1Def(dsl.Budget(1))) })
	}
}

// BenchmarkW1DurableWorkers is BenchmarkW1Durable with 1,000 instances and
// other numbers of Run workers: the number of transitions in flight is
// what group commit can share an fsync among.
func BenchmarkW1DurableWorkers(b *testing.B) {
	for _, w := range []int{8, 32, 128, 512} {
		b.Run("workers="+strconv.Itoa(w), func(b *testing.B) {
			benchW1(b, openBolt, 1000, w1Def(dsl.Budget(1)), engine.WithWorkers(w))
		})
	}
}

// BenchmarkW1Memory is W1 on the memory store: with a checkpoint after
// every step, and run until blocked (one transition per workflow).
func BenchmarkW1Memory(b *testing.B) {
	b.Run("checkpoint-every-step", func(b *testing.B) { benchW1(b, openMemory, 1000, w1Def(dsl.Budget(1))) })
	b.Run("until-blocked", func(b *testing.B) { benchW1(b, openMemory, 10000, w1Def()) })
}

// benchW2 starts n W2 instances, waits until all are parked (Start returns
// once the instance is committed at its wait), then sends each its event
// and waits until all have finished: end to end.
func benchW2(b *testing.B, open func(*testing.B) benchStore, n int, opts ...engine.Option) {
	b.ReportAllocs()
	var t totals
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		store := open(b)
		r := runEngine(b, store, w2Def, opts...)
		r.expect(int64(n))
		ctx := context.Background()
		t.measure(b, store, r, n, func() {
			parallel(b, n, n, func(i int) error {
				return r.e.Start(ctx, w2Def, "w2-"+strconv.Itoa(i), W2{})
			})
			parallel(b, n, n, func(i int) error {
				return r.e.Send(ctx, "w2-"+strconv.Itoa(i), "go", i, nil)
			})
			r.wait(b)
		})
		store.Close()
	}
	t.report(b)
}

// BenchmarkW2Durable is W2 on a bbolt file with fsync on.
func BenchmarkW2Durable(b *testing.B) { benchW2(b, openBolt, 1000) }

// BenchmarkW2Memory is W2 on the memory store.
func BenchmarkW2Memory(b *testing.B) { benchW2(b, openMemory, 10000) }

// BenchmarkParked parks n W2 instances (10,000 and 100,000) on a bbolt
// file (fsync on) and reports the file's bytes per instance and the
// process heap per parked instance: HeapInuse and HeapAlloc after GC with
// the engine's Run idle (polling every 10ms), minus the same before the
// instances were started. The engine must keep nothing per parked
// instance, so the heap delta must not grow with n. It then finishes them
// all, as a check. Run it once: -benchtime 1x.
func BenchmarkParked(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				parked(b, n)
			}
		})
	}
}

func parked(b *testing.B, n int) {
	store := openBolt(b)
	r := runEngine(b, store, w2Def, engine.WithPollInterval(10*time.Millisecond))
	ctx := context.Background()
	idle := func() runtime.MemStats {
		time.Sleep(100 * time.Millisecond) // ten polls: Run scans the due index and the outbox
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms
	}
	ms0 := idle()
	began := time.Now()
	parallel(b, n, 1000, func(i int) error {
		return r.e.Start(ctx, w2Def, fmt.Sprintf("w2-%06d", i), W2{})
	})
	took := time.Since(began)
	ms1 := idle()
	fi, err := os.Stat(store.path)
	if err != nil {
		b.Fatal(err)
	}
	locked := engine.LockedInstances(r.e)

	r.expect(int64(n))
	parallel(b, n, 1000, func(i int) error {
		return r.e.Send(ctx, fmt.Sprintf("w2-%06d", i), "go", i, nil)
	})
	r.wait(b)
	r.stop()
	store.Close()

	delta := func(a, b uint64) float64 { return float64(b) - float64(a) }
	b.ReportMetric(float64(n)/took.Seconds(), "starts/s")
	b.ReportMetric(float64(fi.Size())/float64(n), "file-bytes/instance")
	b.ReportMetric(delta(ms0.HeapInuse, ms1.HeapInuse)/float64(n), "heapinuse-bytes/parked")
	b.ReportMetric(delta(ms0.HeapAlloc, ms1.HeapAlloc)/float64(n), "heapalloc-bytes/parked")
	b.ReportMetric(delta(ms0.HeapInuse, ms1.HeapInuse)/1024, "heapinuse-delta-KiB")
	b.ReportMetric(float64(locked), "lock-entries")
}

// BenchmarkW1Sequential is W1 without checkpoints (one transition per
// workflow) on a bbolt file with fsync on, started by one sequential
// client while Run performs the finish effects: it reports the bbolt write
// transactions per workflow, which the finish effects' acknowledgements
// should not add to (issue 9: at most 1.1).
func BenchmarkW1Sequential(b *testing.B) {
	def := w1Def()
	b.ReportAllocs()
	const n = 500
	var txs uint64
	var elapsed time.Duration
	for range b.N {
		b.StopTimer()
		store := openBolt(b)
		r := runEngine(b, store.Store, def)
		r.expect(n)
		ctx := context.Background()
		before := store.bolt.Stats()
		b.StartTimer()
		began := time.Now()
		for i := range n {
			if err := r.e.Start(ctx, def, "w1-"+strconv.Itoa(i), W1{}); err != nil {
				b.Fatal(err)
			}
		}
		r.wait(b)
		elapsed += time.Since(began)
		b.StopTimer()
		r.stop()
		txs += store.bolt.Stats().Transactions - before.Transactions
		store.Close()
	}
	b.ReportMetric(float64(txs)/float64(b.N*n), "tx/wf")
	b.ReportMetric(float64(b.N*n)/elapsed.Seconds(), "workflows/s")
}
