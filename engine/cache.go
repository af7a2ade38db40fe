package engine

import (
	"bytes"
	"sync"

	"github.com/weftflow/weft/interp"
)

// Bounds of the record cache: how many instances it holds (as many as
// Temporal's default sticky cache, so that the instances a busy engine
// works on at once stay cached), the bytes of records and states it holds,
// and the largest encoded record it keeps (bigger ones are loaded every
// time).
const (
	cacheEntries = 10_000
	cacheBytes   = 32 << 20
	cacheMaxData = 16 << 10
)

// cost is what an entry counts against cacheBytes.
func (l *loaded) cost() int { return len(l.stored.Data) + len(l.rec.State) + 256 }

// recordCache keeps, per instance, the record this engine committed or
// loaded last, decoded, so that the next event of a busy instance skips the
// store's load and the decoding of record and meta.
//
// Nothing trusts it. A transition that starts from a cached record commits
// with a compare-and-set on the cached version, so a record that another
// engine (or anything else) replaced fails the commit with a conflict and
// the transition reloads. A transition that ends without a commit (the
// event is rejected, say) has not been checked by the store: the engine
// loads the record and keeps the answer only if the stored version and
// bytes are the cached ones (see Engine.fresh). An entry is dropped before
// every commit and put back only after the store confirmed it, so a commit
// whose outcome is unknown leaves nothing cached.
//
// The compare-and-set relies on what storage.Instance.Version promises:
// an instance's version only grows, so a version names one record. A store
// file put back from a copy under a running engine breaks that promise
// (the same version may come back with other bytes); restart engines after
// restoring a store, as after any change to it from outside weft.
//
// Entries are immutable once put: readers get a copy of the loaded value
// whose slices nobody writes. The entry put last is kept apart from the
// map, so that an engine busy with one instance (a simulator's, a test's)
// looks up no map for it. Entries live in structs of their own (a loaded
// is too large for a map to hold in place: it would allocate one per
// insert anyway), recycled through a free list: nothing outside the cache
// points to them, so a put of a busy engine allocates nothing.
type recordCache struct {
	mu    sync.Mutex
	last  *loaded            // the entry put last, or nil
	m     map[string]*loaded // the others
	bytes int                // the cost of the entries in m
	free  []*loaded          // emptied entries, for put to reuse
}

// maxFree bounds the free list of the record cache.
const maxFree = 1024

// get returns the cached record of id.
func (c *recordCache) get(id string) (loaded, bool) {
	var l loaded
	ok := c.getInto(id, &l)
	return l, ok
}

// getInto is get into *l (a loaded is large: the transition's copy of
// the record is the only one made), which it leaves alone on a miss.
func (c *recordCache) getInto(id string, l *loaded) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.last
	if p == nil || p.stored.ID != id {
		if p = c.m[id]; p == nil {
			return false
		}
	}
	*l = *p
	return true
}

// put caches l as the record of id at l.stored.Version. l.stored.ID must be
// id and l.stored.Data the record's encoding, which no one writes to
// afterwards; l.rec.State and l.meta must not be shared with code that may
// write to them.
func (c *recordCache) put(id string, l *loaded) {
	if id == "" || l.stored.ID != id || len(l.stored.Data) > cacheMaxData || l.meta.Status.Finished() {
		c.drop(id) // a finished instance takes no events worth caching for
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.last; prev != nil && prev.stored.ID != id {
		if c.m == nil {
			c.m = make(map[string]*loaded)
		}
		if len(c.m) >= cacheEntries-1 || c.bytes+prev.cost() > cacheBytes { // (starting a range over the map costs, even to break at once)
			for k, old := range c.m { // evict entries, the map's choice
				if len(c.m) < cacheEntries-1 && c.bytes+prev.cost() <= cacheBytes {
					break
				}
				c.bytes -= old.cost()
				delete(c.m, k)
				c.recycle(old)
			}
		}
		c.m[prev.stored.ID] = prev
		c.bytes += prev.cost()
	} else if prev != nil {
		c.recycle(prev) // (an older record of id)
	}
	c.last = nil
	c.remove(id)
	var p *loaded
	if n := len(c.free); n > 0 {
		p = c.free[n-1]
		c.free[n-1] = nil
		c.free = c.free[:n-1]
	} else {
		p = new(loaded)
	}
	*p = *l
	c.last = p
}

// recycle empties an entry taken out of the cache and keeps it for put.
// The caller holds c.mu.
func (c *recordCache) recycle(p *loaded) {
	*p = loaded{} // (so that it holds no record alive)
	if len(c.free) < maxFree {
		c.free = append(c.free, p)
	}
}

// remove deletes id from m. The caller holds c.mu.
func (c *recordCache) remove(id string) {
	if old, ok := c.m[id]; ok {
		c.bytes -= old.cost()
		delete(c.m, id)
		c.recycle(old)
	}
}

// drop forgets the record of id.
func (c *recordCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last != nil && c.last.stored.ID == id {
		c.recycle(c.last)
		c.last = nil
	}
	c.remove(id)
}

// size is the number of records cached.
func (c *recordCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.m)
	if c.last != nil {
		n++
	}
	return n
}

// forget empties the cache.
func (c *recordCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last, c.m, c.bytes, c.free = nil, nil, 0, nil
}

// cloneMeta returns a copy of m that shares no memory with it.
func cloneMeta(m interp.Meta) interp.Meta {
	n := 0
	for _, th := range m.Threads {
		n += len(th.Waits)
	}
	waits := make([]interp.Pending, 0, n)
	if m.Threads != nil {
		threads := make([]interp.Thread, len(m.Threads))
		for i, th := range m.Threads {
			if th.Waits != nil {
				start := len(waits)
				waits = append(waits, th.Waits...)
				th.Waits = waits[start:len(waits):len(waits)]
			}
			threads[i] = th
		}
		m.Threads = threads
	}
	m.Output = bytes.Clone(m.Output)
	if m.Failure != nil {
		f := *m.Failure
		m.Failure = &f
	}
	if m.Recent != nil {
		m.Recent = append([]uint64(nil), m.Recent...)
	}
	if m.Migrated != nil {
		m.Migrated = append([]uint32(nil), m.Migrated...)
	}
	return m
}
