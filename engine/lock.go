package engine

import "context"

// The instance locks serialise transitions of one instance inside the
// process, so that concurrent callers queue instead of losing
// compare-and-set races. They live in the record cache's slots (cache.go):
// a slot's lock entry is reference-counted, and the slot is removed when
// it holds neither a lock nor a record, so the map holds only instances
// someone is working on or that have a record cached.

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
	c.mu.Unlock()

	select {
	case il.held <- struct{}{}: // not held: no need to watch ctx
		return il, nil
	default:
	}
	select {
	case il.held <- struct{}{}:
		return il, nil
	case <-ctx.Done():
		c.unref(id, il)
		return nil, ctx.Err()
	}
}

// unlock releases the lock of instance id that lock returned.
func (c *recordCache) unlock(id string, il *slot) {
	<-il.held
	c.unref(id, il)
}

func (c *recordCache) unref(id string, il *slot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	il.refs--
	c.release(id, il)
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
