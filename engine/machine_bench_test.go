package engine_test

import (
	"runtime"
	"sync/atomic"
	"time"
)

// coreRoundTrip measures how long one core takes to see a write of
// another and answer it: two goroutines, each on its own thread, take
// turns adding to one atomic counter, so that its cache line goes from
// core to core and back. It returns the time of one round trip, or 0 with
// GOMAXPROCS 1.
//
// On the 2-core virtual machines these benchmarks run on, it swings
// between about 140 and 460 ns from one minute to the next, and the
// engine's throughput with workers on both cores swings with it: W4 and
// W1 with Call activities did twice the workflows per second in the fast
// phase (docs/performance.md, "One machine, two speeds"). The engine's
// benchmarks report it (xcore-ns), so that a figure says which phase it
// was taken in.
func coreRoundTrip() time.Duration {
	if runtime.GOMAXPROCS(0) < 2 {
		return 0
	}
	const n = 20000
	var v atomic.Int64
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := int64(0); i < n; i++ {
			for v.Load() != 2*i+1 {
			}
			v.Add(1)
		}
		close(done)
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	began := time.Now()
	for i := int64(0); i < n; i++ {
		v.Add(1)
		for v.Load() != 2*i+2 {
		}
	}
	took := time.Since(began)
	<-done
	return took / n
}
