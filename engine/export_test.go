package engine

// LockedInstances reports how many instances have an entry in the
// per-instance lock table, so tests can check that it does not leak.
func LockedInstances(e *Engine) int { return e.cache.locked() }

// ForgetRecords empties the engine's record cache, so that the next
// transition of every instance loads its record from the store, as an
// engine just started does.
func ForgetRecords(e *Engine) { e.cache.forget() }

// CachedRecords reports how many records the engine's record cache holds.
func CachedRecords(e *Engine) int { return e.cache.size() }

// CachedBytes reports what the records the engine's record cache holds
// count against its bound, CacheBytes.
func CachedBytes(e *Engine) int {
	e.cache.mu.Lock()
	defer e.cache.mu.Unlock()
	return e.cache.bytes
}

// CacheBytes is the most the records in the record cache may cost.
const CacheBytes = cacheBytes

// SetupsInFlight reports how many Setups the engine's hot path handed out
// and has not yet recorded as acknowledged: a Teardown committed while its
// Setup is among them is parked behind it.
func SetupsInFlight(e *Engine) int {
	e.hot.mu.Lock()
	defer e.hot.mu.Unlock()
	n := 0
	for _, s := range e.hot.setups {
		if !s.acked {
			n++
		}
	}
	return n
}

// SetHotLimits lowers how many effects e's hot path queues for Run's
// workers and how many Setups it remembers until their Teardown (4,096
// each), before Run: beyond them, effects go to passes over the outbox.
func SetHotLimits(e *Engine, queued, setups int) {
	e.hot.queueLimit, e.hot.setupLimit = queued, setups
}

// SetSweepEvery lowers how many finished jobs make e's workers sweep its
// work table without a pass (4,096), before Run.
func SetSweepEvery(e *Engine, n int) { e.work.sweepAt = int64(n) }

// HotPathOn reports whether Run drives e's hot path: a commit's effects
// are claimed for Run's workers before the commit.
func HotPathOn(e *Engine) bool { return e.hot.running.Load() }

// HotHeld reports the jobs e's hot path holds for Run's workers: queued
// for the run loop, and Teardowns parked behind their Setups.
func HotHeld(e *Engine) (queued, parked int) {
	e.hot.mu.Lock()
	defer e.hot.mu.Unlock()
	for _, s := range e.hot.setups {
		if s.teardown != nil {
			parked++
		}
	}
	return len(e.hot.queue), parked
}

// ArmedTimers reports how many of c's timers wait for the clock to move:
// a test waits for a goroutine to arm its timer before it advances c.
func ArmedTimers(c *FakeClock) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// CmpEffectIDs orders the IDs of one instance's effects as it emitted them.
var CmpEffectIDs = cmpEffectIDs
