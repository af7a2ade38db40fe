// Package memory is an in-memory [storage.Store], for tests and
// single-process use. Nothing survives the process: when it exits, every
// instance and every unacknowledged effect is gone.
//
// The store passes the full conformance suite
// ([github.com/weftflow/weft/storage/storagetest]) and is safe for
// concurrent use: one read-write mutex guards everything, so reads (Load,
// Outbox, DueBefore, List) run in parallel and writes run one at a time
// (a read that merges an ID index's pending writes takes that index's own
// lock for the merge).
//
// # Complexity
//
// With n instances, p pending effects and B a fixed chunk size (512):
//
//   - Load is O(1) plus copying the record.
//   - Create and Commit are O(log n + B + n/B) for the due index plus
//     O(1) amortized for the ID indexes (the index of every ID and the
//     one of the instance's workflow and status, which take additions and
//     removals in O(1) and sort them when read: see idIndex) and per
//     effect, plus copying.
//   - DueBefore is O(log n + k) for k results: the due index holds only
//     instances with a non-zero Due, ordered by (Due, ID), so instances that
//     are not due are never visited.
//   - List is O(log n + k) for k results, plus, on the first read of the
//     ID index after writes, merging the IDs added and removed since the
//     last read: O(log n + B) each when they are few, else
//     O(n + m log m) for m of them.
//   - Find by ID is O(m (log n + k)) for k results and m (workflow,
//     status) pairs the filter admits (one when it names both), plus the
//     same merging; by due time it walks the due index and skips what the
//     filter refuses. Count is O(m) without an ID prefix. Delete is
//     O(log n + B + n/B) plus the dead letters.
//   - Outbox is O(k) for k results; Ack is O(1) amortized per ID in the
//     outbox (see effectLog) and in the claims indexes when effects become
//     ready in the order they were written (see readyIndex), else
//     O(log p + B).
//   - Claim is O(w log w) for w instances with work at its time (it ranks
//     them all); Pending is O(k) for k results; NextWork stops at the first
//     work no earlier than the best found.
//   - With j entries in an instance's journal, ReadJournal is O(log j + k)
//     for k results; appending an entry is O(1) amortized plus copying,
//     and applying a Keep (in the write or by TrimJournal) O(j).
//
// Claims are kept like everything else, in memory and for one process;
// [Store.Share] hands out a second handle on the same data, which the
// conformance suite uses to race two stores.
//
// The store is a [storage.Waker] and a [storage.Locker] for its handles:
// a write with work through any handle wakes the [Store.Wakeups] channels
// of all of them, and [Store.TryLock] locks are shared by all of them, so
// that tests of hosts sharing a store can use both.
package memory

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/internal/locktable"
)

// Store is an in-memory [storage.Store]. Create one with [New]; the zero
// value is not usable.
type Store struct {
	mu     sync.RWMutex
	closed bool

	instances map[string]*storage.Instance // by ID; private copies with normalized Due
	ids       *idIndex                     // every instance ID, for List (idindex.go)
	due       *sortedSet[dueKey]           // instances with a non-zero Due
	byKind    map[kind]*idIndex            // instance IDs by workflow and status, for Find and Count (listing.go)

	seq     uint64                    // position of the last effect appended to the outbox
	pending map[string]*pendingEffect // unacknowledged effects by ID
	outbox  effectLog                 // (which: inOutbox)

	cl *claimState // leases, effect indexes and dead letters (claims.go)

	journals map[string]*journal // by instance ID, for instances with entries (journal.go)

	tombstones map[string]tombstone // deleted instances, by ID (listing.go)

	// Shared with every Share handle, with locks of their own: the
	// Wakeups channels (wakeup.go) and the named locks (locker.go).
	hub   *wakeHub
	locks *locktable.Table
}

// dueChunk is the chunk size of the due index: its entries are 40 bytes
// (a sortedSet of IDs holds 16), so an insert or delete in a chunk of
// maxChunk moved 10 KB on average.
const dueChunk = 128

// dueKey is an entry of the due index: a due time as Unix microseconds
// (stores keep Due at that precision, within the storable range from the
// epoch to the year 10000), which compares as one integer where a
// time.Time took three fields, and moves 24 bytes where it took 40.
type dueKey struct {
	at int64
	id string
}

// keyAt returns the due index's key of instance id due at t.
func keyAt(t time.Time, id string) dueKey { return dueKey{t.UnixMicro(), id} }

// keyAfter returns the key from which a read on after a.At and a.ID
// starts (exclusive). An a.At between two microseconds (a Due the store
// did not return) lies after every key at the earlier one: the read starts
// before the first key at the later one.
func keyAfter(a storage.Due) dueKey {
	k := keyAt(a.At, a.ID)
	if a.At.Nanosecond()%1000 != 0 {
		k = dueKey{k.at + 1, ""} // (IDs are not empty)
	}
	return k
}

// time returns the due time of k.
func (k dueKey) time() time.Time { return time.UnixMicro(k.at).UTC() }

func compareDue(a, b dueKey) int {
	if a.at != b.at {
		return cmp.Compare(a.at, b.at)
	}
	return strings.Compare(a.id, b.id)
}

// pendingEffect is an unacknowledged effect and its place in the outbox.
type pendingEffect struct {
	seq    uint64
	at     [2]int         // index in the outbox's log and the ready index's, or -1 if not in it (effectlog.go)
	next   *pendingEffect // the instance's effects (effectlog.go)
	prev   *pendingEffect
	effect storage.Effect // private copy
}

var _ storage.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	s := &Store{
		instances:  make(map[string]*storage.Instance),
		due:        newSortedSetChunks(compareDue, dueChunk),
		byKind:     make(map[kind]*idIndex),
		pending:    make(map[string]*pendingEffect),
		cl:         newClaimState(),
		journals:   make(map[string]*journal),
		tombstones: make(map[string]tombstone),
		hub:        newWakeHub(),
		locks:      locktable.New(),
	}
	s.ids = newIDIndex(func(id string) bool {
		_, ok := s.instances[id]
		return ok
	})
	return s
}

// Create implements [storage.Store.Create].
func (s *Store) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage: create %q: %w", inst.ID, err)
	}
	if err := inst.Validate(); err != nil {
		return 0, err
	}
	if err := storage.ValidateEffects(inst.ID, effects); err != nil {
		return 0, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("storage: create %q: %w", inst.ID, storage.ErrClosed)
	}
	if _, ok := s.instances[inst.ID]; ok {
		return 0, fmt.Errorf("storage: create %q: instance %w", inst.ID, storage.ErrExists)
	}
	version := uint64(1)
	if t, ok := s.tombstones[inst.ID]; ok {
		if inst.Version != t.version {
			return 0, &storage.DeletedError{ID: inst.ID, Version: t.version, Tombstone: bytes.Clone(t.data)}
		}
		version = t.version + 1
	}
	if err := s.checkEffectIDs("create", inst.ID, effects); err != nil {
		return 0, err
	}
	if err := s.checkJournal("create", inst.ID, inst.Journal); err != nil {
		return 0, err
	}

	stored := clone(inst)
	stored.Version = version
	s.instances[stored.ID] = &stored
	s.ids.add(stored.ID)
	if !stored.Due.IsZero() {
		s.due.insert(keyAt(stored.Due, stored.ID))
	}
	s.kindAdd(kind{stored.Workflow, stored.Status}, stored.ID)
	s.appendEffects(effects)
	s.appendJournal(stored.ID, inst.Journal)
	s.wakeAfter(len(effects), stored.Due)
	return version, nil
}

// Load implements [storage.Store.Load].
func (s *Store) Load(ctx context.Context, id string) (storage.Instance, error) {
	if err := ctx.Err(); err != nil {
		return storage.Instance{}, fmt.Errorf("storage: load %q: %w", id, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return storage.Instance{}, fmt.Errorf("storage: load %q: %w", id, storage.ErrClosed)
	}
	inst, ok := s.instances[id]
	if !ok {
		return storage.Instance{}, fmt.Errorf("storage: load %q: instance %w", id, storage.ErrNotFound)
	}
	return clone(*inst), nil
}

// Commit implements [storage.Store.Commit].
func (s *Store) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	id := c.Instance.ID
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage: commit %q: %w", id, err)
	}
	if err := c.Validate(); err != nil {
		return 0, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("storage: commit %q: %w", id, storage.ErrClosed)
	}
	old, ok := s.instances[id]
	if !ok {
		return 0, fmt.Errorf("storage: commit %q: instance %w", id, storage.ErrNotFound)
	}
	if c.Lease != nil {
		if err := s.cl.fence("commit", *c.Lease); err != nil {
			return 0, err
		}
	}
	if old.Version != c.Expect {
		return 0, fmt.Errorf("storage: commit %q: %w (expected %d, stored %d)",
			id, storage.ErrConflict, c.Expect, old.Version)
	}
	if err := s.checkJournal("commit", id, c.Instance.Journal); err != nil {
		return 0, err
	}
	if err := s.checkEffectIDs("commit", id, c.Effects); err != nil {
		return 0, err
	}

	stored := cloneInto(c.Instance, old.Data)
	stored.Version = old.Version + 1
	if !old.Due.Equal(stored.Due) {
		if !old.Due.IsZero() {
			s.due.delete(keyAt(old.Due, id))
		}
		if !stored.Due.IsZero() {
			s.due.insert(keyAt(stored.Due, id))
		}
	}
	moved := old.Workflow != stored.Workflow || old.Status != stored.Status
	was := kind{old.Workflow, old.Status}
	*old = stored // before the kind indexes, which check membership against the record
	if moved {
		s.kindRemove(was, id)
		s.kindAdd(kind{stored.Workflow, stored.Status}, id)
	}
	s.appendEffects(c.Effects)
	s.appendJournal(id, c.Instance.Journal)
	s.wakeAfter(len(c.Effects), stored.Due)
	if c.Wake {
		s.hub.wake()
	}
	return stored.Version, nil
}

// checkEffectIDs fails with ErrExists if an effect ID is already pending.
// The caller holds s.mu.
func (s *Store) checkEffectIDs(op, id string, effects []storage.Effect) error {
	for _, e := range effects {
		if _, ok := s.pending[e.ID]; ok {
			return fmt.Errorf("storage: %s %q: effect %q %w in the outbox", op, id, e.ID, storage.ErrExists)
		}
		if _, ok := s.cl.dead[e.ID]; ok {
			return fmt.Errorf("storage: %s %q: effect %q %w among the dead letters", op, id, e.ID, storage.ErrExists)
		}
	}
	return nil
}

// appendEffects adds copies of effects to the end of the outbox. The caller
// holds s.mu and has checked the IDs. The copies of one call share two
// allocations (the entries, and their data), since a commit writes one
// or two effects as a rule.
func (s *Store) appendEffects(effects []storage.Effect) {
	if len(effects) == 0 {
		return
	}
	size := 0
	for _, e := range effects {
		size += len(e.Data)
	}
	data := make([]byte, 0, size)
	ps := make([]pendingEffect, len(effects))
	for i, e := range effects {
		s.seq++
		start := len(data)
		data = append(data, e.Data...)
		p := &ps[i]
		p.seq = s.seq
		p.effect = storage.Effect{
			ID:        e.ID,
			Instance:  e.Instance,
			Data:      data[start:len(data):len(data)],
			NotBefore: storage.NormalizeDue(e.NotBefore),
			Seq:       s.seq,
		}
		if e.Data == nil {
			p.effect.Data = nil
		}
		s.pending[e.ID] = p
		s.outbox.append(p)
		s.cl.added(p)
	}
}

// Outbox implements [storage.Store.Outbox].
func (s *Store) Outbox(ctx context.Context, limit int) ([]storage.Effect, error) {
	return s.OutboxAfter(ctx, 0, limit)
}

// OutboxAfter implements [storage.Pages.OutboxAfter].
func (s *Store) OutboxAfter(ctx context.Context, after uint64, limit int) ([]storage.Effect, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: outbox: %w", err)
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("storage: outbox: %w", storage.ErrClosed)
	}
	out := make([]storage.Effect, 0, min(limit, s.outbox.len()))
	for p := range s.outbox.after(after) {
		if len(out) == limit {
			break
		}
		e := p.effect
		e.Data = bytes.Clone(e.Data)
		out = append(out, e)
	}
	return out, nil
}

// Ack implements [storage.Store.Ack].
func (s *Store) Ack(ctx context.Context, ids ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: ack: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("storage: ack: %w", storage.ErrClosed)
	}
	for _, id := range ids {
		if p, ok := s.pending[id]; ok {
			s.removePending(p)
		}
	}
	return nil
}

// DueBefore implements [storage.Store.DueBefore].
func (s *Store) DueBefore(ctx context.Context, t time.Time, limit int) ([]storage.Due, error) {
	return s.DueAfter(ctx, t, storage.Due{}, limit)
}

// DueAfter implements [storage.Pages.DueAfter].
func (s *Store) DueAfter(ctx context.Context, t time.Time, after storage.Due, limit int) ([]storage.Due, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: due before %v: %w", t, err)
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("storage: due before %v: %w", t, storage.ErrClosed)
	}
	from, until := keyAfter(after), t.UnixMicro()
	var out []storage.Due // (not sized by limit: a read often stops at its first entry, not yet due)
	// (A scan, not a range over an iterator, whose closures would go to
	// the heap at every read: the engine reads the due index every pass.)
	s.due.scanFrom(func(k dueKey) bool { return compareDue(k, from) > 0 }, func(k dueKey) bool {
		if len(out) == limit || k.at > until {
			return false
		}
		out = append(out, storage.Due{ID: k.id, At: k.time()})
		return true
	})
	return out, nil
}

// List implements [storage.Store.List].
func (s *Store) List(ctx context.Context, after string, limit int) ([]storage.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: list after %q: %w", after, err)
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("storage: list after %q: %w", after, storage.ErrClosed)
	}
	var out []storage.Instance
	for id := range s.ids.from(func(id string) bool { return id > after }) {
		if len(out) == limit {
			break
		}
		out = append(out, clone(*s.instances[id]))
	}
	return out, nil
}

// Close implements [storage.Store.Close]. It drops every instance,
// effect and journal, closes every [Store.Wakeups] channel and releases every
// [Store.TryLock] lock, of the store and of its [Store.Share] handles.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.hub.closeAll()
	s.locks.Close()
	s.instances, s.ids, s.due, s.pending, s.outbox, s.cl = nil, nil, nil, nil, effectLog{}, nil
	s.journals = nil
	s.byKind = nil
	return nil
}

// clone returns a copy of inst that shares no memory with it, with Due
// normalized and without Journal (kept apart, and never returned).
func clone(inst storage.Instance) storage.Instance {
	inst.Data = bytes.Clone(inst.Data)
	inst.Due = storage.NormalizeDue(inst.Due)
	inst.Journal = nil
	return inst
}

// cloneInto is clone, copying Data into buf, the Data of the record that
// the copy replaces, when it fits and buf is not much larger: the store
// never hands out a record's own Data (every read clones it), so nothing
// else holds buf. Data stays nil when inst's is nil, and empty but not nil
// when inst's is.
func cloneInto(inst storage.Instance, buf []byte) storage.Instance {
	n := len(inst.Data)
	if inst.Data == nil || buf == nil || cap(buf) < n || cap(buf) > 2*n+64 {
		return clone(inst)
	}
	inst.Data = append(buf[:0], inst.Data...)
	inst.Due = storage.NormalizeDue(inst.Due)
	inst.Journal = nil
	return inst
}
