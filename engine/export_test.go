package engine

// LockedInstances reports how many instances have an entry in the
// per-instance lock table, so tests can check that it does not leak.
func LockedInstances(e *Engine) int { return e.locks.size() }
