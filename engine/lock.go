package engine

import (
	"context"
	"sync"
)

// instanceLocks serialises transitions of one instance inside the process,
// so that concurrent callers queue instead of losing compare-and-set races.
// Entries are reference-counted and removed when unused, so the map holds
// only instances someone is working on.
type instanceLocks struct {
	mu   sync.Mutex
	m    map[string]*instanceLock
	free []*instanceLock // unused entries, kept for reuse (an entry per transition is garbage otherwise)
}

// maxFreeLocks bounds instanceLocks.free.
const maxFreeLocks = 32

type instanceLock struct {
	held chan struct{} // a one-slot semaphore, so waiting can observe ctx
	refs int
}

// lock waits for the instance's lock or for ctx to end. The caller
// releases it with unlock(id, il).
func (l *instanceLocks) lock(ctx context.Context, id string) (il *instanceLock, err error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*instanceLock{}
	}
	il = l.m[id]
	if il == nil {
		if n := len(l.free); n > 0 {
			il, l.free = l.free[n-1], l.free[:n-1]
		} else {
			il = &instanceLock{held: make(chan struct{}, 1)}
		}
		l.m[id] = il
	}
	il.refs++
	l.mu.Unlock()

	select {
	case il.held <- struct{}{}: // not held: no need to watch ctx
		return il, nil
	default:
	}
	select {
	case il.held <- struct{}{}:
		return il, nil
	case <-ctx.Done():
		l.release(id, il)
		return nil, ctx.Err()
	}
}

// unlock releases the lock of instance id that lock returned.
func (l *instanceLocks) unlock(id string, il *instanceLock) {
	<-il.held
	l.release(id, il)
}

func (l *instanceLocks) release(id string, il *instanceLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if il.refs--; il.refs == 0 {
		delete(l.m, id)
		if len(l.free) < maxFreeLocks { // nobody refers to il now, and its semaphore is empty
			l.free = append(l.free, il)
		}
	}
}

// contended reports whether someone besides the holder wants the lock of
// instance id.
func (l *instanceLocks) contended(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	il := l.m[id]
	return il != nil && il.refs > 1
}

// size is the number of instances with a lock entry (for tests of the refcount).
func (l *instanceLocks) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
