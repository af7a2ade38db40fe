// Package locktable is a table of named locks in memory, the
// [storage.Locker] of the stores used by one process (storage/memory,
// storage/bolt).
package locktable

import (
	"sync"

	"github.com/weftflow/weft/storage"
)

// Table holds named locks. Its methods are safe for concurrent use; the
// zero value is not usable, create one with [New].
type Table struct {
	mu     sync.Mutex
	closed bool
	held   map[string]*lock
}

// New returns an empty table.
func New() *Table { return &Table{held: make(map[string]*lock)} }

// lock is a held lock of a Table.
type lock struct {
	t     *Table
	name  string
	owner any
	once  sync.Once
	lost  chan struct{}
}

var _ storage.Lock = (*lock)(nil)

// Unlock implements [storage.Lock.Unlock].
func (l *lock) Unlock() {
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	l.release()
}

// release drops l from its table and closes Lost, once. The caller holds
// l.t.mu.
func (l *lock) release() {
	l.once.Do(func() {
		if l.t.held[l.name] == l {
			delete(l.t.held, l.name)
		}
		close(l.lost)
	})
}

// Lost implements [storage.Lock.Lost].
func (l *lock) Lost() <-chan struct{} { return l.lost }

// TryLock takes name for owner (any comparable value naming the holder, for
// ReleaseOwner) if no one holds it. It reports ok false if another lock
// holds name, and open false, with no lock, once the table is closed.
func (t *Table) TryLock(name string, owner any) (l storage.Lock, ok, open bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, false, false
	}
	if _, held := t.held[name]; held {
		return nil, false, true
	}
	nl := &lock{t: t, name: name, owner: owner, lost: make(chan struct{})}
	t.held[name] = nl
	return nl, true, true
}

// ReleaseOwner releases every lock owner holds, as the death of its
// process would: their Lost channels close.
func (t *Table) ReleaseOwner(owner any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.held {
		if l.owner == owner {
			l.release()
		}
	}
}

// Close releases every lock and makes TryLock fail from then on.
func (t *Table) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for _, l := range t.held {
		l.release()
	}
}
