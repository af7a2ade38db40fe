package engine

import (
	"context"
	"slices"
)

// The instance locks serialise transitions of one instance inside the
// process, so that concurrent callers queue instead of losing
// compare-and-set races. They live in the record cache's slots (cache.go),
// under the cache's mutex: a lock that is free is taken with no more
// than that, and a caller that must wait gets a channel of its own, closed
// when the lock is handed to it. A slot's lock entry is
// reference-counted, and the slot is removed when it holds neither a lock
// nor a record, so the map holds only instances someone is working on or
// that have a record cached.

// lock waits for the instance's lock or for ctx to end. The caller
// releases it with unlock(id, il), and may use il for the cache's Held
// methods until then.
func (c *recordCache) lock(ctx context.Context, id string) (il *slot, err error) {
	c.mu.Lock()
	il = c.m[id]
	if il == nil {
		il = c.slot()
		if c.m == nil {
			c.m = make(map[string]*slot)
		}
		c.m[id] = il
	}
	il.refs++
	if !il.locked { // not held: no need to watch ctx
		il.locked = true
		c.mu.Unlock()
		return il, nil
	}
	w := make(chan struct{})
	il.waiters = append(il.waiters, w)
	c.mu.Unlock()

	select {
	case <-w:
		return il, nil // handed over by unlock
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(il.waiters, w); i >= 0 {
		il.waiters = slices.Delete(il.waiters, i, i+1)
	} else {
		c.handOn(il) // handed over meanwhile: it goes to the next
	}
	il.refs--
	c.release(id, il)
	return nil, ctx.Err()
}

// unlock releases the lock of instance id that lock returned.
func (c *recordCache) unlock(id string, il *slot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handOn(il)
	il.refs--
	c.release(id, il)
}

// handOn hands the lock of il, which its caller holds, to the first
// waiter, or frees it. The caller holds c.mu.
func (c *recordCache) handOn(il *slot) {
	if len(il.waiters) == 0 {
		il.locked = false
		return
	}
	close(il.waiters[0])
	il.waiters = slices.Delete(il.waiters, 0, 1)
}

// contended reports whether someone besides the holder wants the lock of
// instance id.
func (c *recordCache) contended(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	il := c.m[id]
	return il != nil && il.refs > 1
}

// locked is the number of instances with a lock entry (for tests of the refcount).
func (c *recordCache) locked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.m {
		if p.refs > 0 {
			n++
		}
	}
	return n
}
