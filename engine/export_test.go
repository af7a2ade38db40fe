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
