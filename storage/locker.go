package storage

import "context"

// Locker is implemented by stores that can hold a named lock across every
// process using the same backing data, so that maintenance (migrating
// instances after a deploy, and later retention) runs in one process at a
// time (Postgres: an advisory lock). Stores used by one process at a time
// implement it with a lock in memory.
type Locker interface {
	// TryLock takes the lock named name if no one holds it and returns a
	// function that releases it (safe to call more than once). If another
	// holder has it, TryLock returns ok false and no error at once. A lock
	// is also released when its holder's process dies or its connection
	// to the store breaks, so a crashed process never holds it for long:
	// [Lock.Lost] says so.
	TryLock(ctx context.Context, name string) (l Lock, ok bool, err error)
}

// Lock is a held [Locker] lock.
type Lock interface {
	// Unlock releases the lock. Calling it again does nothing.
	Unlock()
	// Lost is closed when the lock is no longer held.
	Lost() <-chan struct{}
}
