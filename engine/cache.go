package engine

import (
	"bytes"
	"sync"
	"unsafe"

	"github.com/weftflow/weft/interp"
)

// Bounds of the record cache: the memory its entries hold (cost counts
// what each keeps alive), and the largest encoded record it keeps (bigger
// ones are loaded every time). An entry of a small parked workflow costs
// about a kilobyte, so the cache holds some 30,000 of them: a busy engine
// keeps the instances it works on at once. (It was bounded at 10,000
// entries, as Temporal's sticky cache, whose entries are whole workflow
// executions; with 20,000 instances in flight half the events loaded and
// decoded their record.)
const (
	cacheBytes   = 32 << 20
	cacheMaxData = 16 << 10
)

// Sizes that cost counts per entry: its slot, its map entry (key header,
// pointer and the map's control bytes, with room for the map's growth),
// the decoded meta's threads and waits, and what the allocator rounds up
// per allocation.
const (
	slotCost    = int(unsafe.Sizeof(slot{}))
	mapCost     = 64
	threadCost  = int(unsafe.Sizeof(interp.Thread{})) + 32 // and its ID and path
	pendingCost = int(unsafe.Sizeof(interp.Pending{}))
	allocCost   = 16
)

// cost is what an entry counts against cacheBytes: at least the memory
// the cached record keeps alive (the record's bytes, its state when it is
// apart from them, the decoded meta) and its slot. It depends only on l,
// which is immutable once cached, so a put and its clear count the same.
func (l *loaded) cost() int {
	// Five allocations besides the slot: the ID, the record, the state,
	// the threads and the recent callbacks; and one per thread's waits.
	n := slotCost + mapCost + len(l.stored.ID) + cap(l.stored.Data) + len(l.rec.State) +
		cap(l.meta.Threads)*threadCost + cap(l.meta.Recent)*8 + 5*allocCost
	for i := range l.meta.Threads {
		n += cap(l.meta.Threads[i].Waits)*pendingCost + allocCost
	}
	return n
}

// recordCache keeps, per instance, the record this engine committed or
// loaded last, decoded, so that the next event of a busy instance skips the
// store's load and the decoding of record and meta. It also holds the
// instance locks (lock.go): both are kept per instance in one map of
// slots, so that a transition finds its instance once, when it takes the
// lock, and reads, drops and puts the cached record through the slot.
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
// whose slices nobody writes. Slots are structs of their own (a loaded is
// too large for a map to hold in place: it would allocate one per insert
// anyway), recycled through a bounded free list once they hold neither a
// record nor a lock: nothing outside the cache keeps a slot but the holder
// of its lock, so a busy engine allocates none.
type recordCache struct {
	mu    sync.Mutex
	m     map[string]*slot // by instance ID: the instances with a record cached or a lock entry
	n     int              // the slots holding a record
	bytes int              // the cost of the records held
	free  []*slot          // emptied slots, for reuse
}

// slot is an instance's entry in the recordCache: its lock and its cached
// record. The cache's mutex guards it.
type slot struct {
	locked  bool            // the instance's lock is held (lock.go)
	waiters []chan struct{} // callers waiting for the lock, first come first
	refs    int             // holders and waiters of the lock
	has     bool            // rec is the cached record
	rec     loaded
}

// maxFree bounds the free list of the record cache.
const maxFree = 1024

// getHeld is get into *l (a loaded is large: the transition's copy of
// the record is the only one made) for the holder of the instance's lock
// il. It leaves *l alone on a miss.
func (c *recordCache) getHeld(il *slot, l *loaded) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.copyOut(il, l)
}

func (c *recordCache) copyOut(p *slot, l *loaded) bool {
	if p == nil || !p.has {
		return false
	}
	*l = p.rec
	return true
}

// put caches l as the record of id at l.stored.Version. l.stored.ID must be
// id and l.stored.Data the record's encoding, which no one writes to
// afterwards; l.rec.State and l.meta must not be shared with code that may
// write to them.
func (c *recordCache) put(id string, l *loaded) {
	c.putHeld(nil, id, l)
}

// putHeld is put for the holder of the instance's lock il, or for anyone
// if il is nil.
func (c *recordCache) putHeld(il *slot, id string, l *loaded) {
	if id == "" || l.stored.ID != id || len(l.stored.Data) > cacheMaxData || l.meta.Status.Finished() {
		c.dropHeld(il, id) // a finished instance takes no events worth caching for
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := il
	if p == nil {
		if p = c.m[id]; p == nil {
			p = c.slot()
			if c.m == nil {
				c.m = make(map[string]*slot)
			}
			c.m[id] = p
		}
	}
	c.clear(p)
	p.rec, p.has = *l, true
	c.n++
	c.bytes += p.rec.cost()
	if c.bytes > cacheBytes { // (starting a range over the map costs, even to break at once)
		for k, old := range c.m { // evict entries, the map's choice
			if c.bytes <= cacheBytes {
				break
			}
			if old != p && old.has {
				c.clear(old)
				c.release(k, old)
			}
		}
	}
}

// slot returns an empty slot. The caller holds c.mu.
func (c *recordCache) slot() *slot {
	if n := len(c.free); n > 0 {
		p := c.free[n-1]
		c.free[n-1] = nil
		c.free = c.free[:n-1]
		return p
	}
	return new(slot)
}

// clear empties the record of slot p. The caller holds c.mu.
func (c *recordCache) clear(p *slot) {
	if p.has {
		c.n--
		c.bytes -= p.rec.cost()
		p.rec, p.has = loaded{}, false // (so that it holds no record alive)
	}
}

// release removes slot p of id from the map and keeps it for reuse if it
// holds neither a record nor a lock. The caller holds c.mu.
func (c *recordCache) release(id string, p *slot) {
	if p.has || p.refs > 0 {
		return
	}
	delete(c.m, id)
	if len(c.free) < maxFree { // nobody refers to p now, nor waits for its lock
		c.free = append(c.free, p)
	}
}

// drop forgets the record of id.
func (c *recordCache) drop(id string) { c.dropHeld(nil, id) }

// dropHeld is drop for the holder of the instance's lock il, or for
// anyone if il is nil.
func (c *recordCache) dropHeld(il *slot, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := il
	if p == nil {
		if p = c.m[id]; p == nil {
			return
		}
	}
	c.clear(p)
	c.release(id, p)
}

// size is the number of records cached.
func (c *recordCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// forget empties the cache (the locks stay).
func (c *recordCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, p := range c.m {
		c.clear(p)
		c.release(id, p)
	}
	c.free = nil
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
