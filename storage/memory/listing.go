package memory

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/weftflow/weft/storage"
)

// kind is an instance's workflow and status: Find and Count read the IDs
// of one kind from Store.byKind instead of every instance.
type kind struct{ workflow, status string }

// kindAdd indexes the instance id under k, its kind in s.instances now.
// The caller holds s.mu.
func (s *Store) kindAdd(k kind, id string) {
	set := s.byKind[k]
	if set == nil {
		set = newIDIndex(func(id string) bool {
			inst := s.instances[id]
			return inst != nil && inst.Workflow == k.workflow && inst.Status == k.status
		})
		s.byKind[k] = set
	}
	set.add(id)
}

// kindRemove unindexes the instance id from k, which is no longer its kind
// in s.instances (or it is gone). The caller holds s.mu.
func (s *Store) kindRemove(k kind, id string) {
	if set := s.byKind[k]; set != nil {
		set.remove(id)
		if set.len() == 0 {
			delete(s.byKind, k)
		}
	}
}

// kinds returns the ID sets of the kinds f admits. The caller holds s.mu.
func (s *Store) kinds(f storage.Filter) []*idIndex {
	if f.Workflow != "" && f.Status != "" {
		if set := s.byKind[kind{f.Workflow, f.Status}]; set != nil {
			return []*idIndex{set}
		}
		return nil
	}
	var out []*idIndex
	for k, set := range s.byKind {
		if (f.Workflow == "" || k.workflow == f.Workflow) && (f.Status == "" || k.status == f.Status) {
			out = append(out, set)
		}
	}
	return out
}

// appendIDsFrom appends to out up to n IDs of set that come after c and
// start with prefix, in order.
func appendIDsFrom(out []string, set *idIndex, c storage.Cursor, prefix string, n int) []string {
	k := 0
	set.scanFrom(func(id string) bool { return (!c.Set || id > c.ID) && id >= prefix }, func(id string) bool {
		if k == n || !strings.HasPrefix(id, prefix) {
			return false
		}
		out = append(out, id)
		k++
		return true
	})
	return out
}

// countPrefix returns how many IDs of set start with prefix.
func countPrefix(set *idIndex, prefix string) int {
	n := 0
	set.scanFrom(func(id string) bool { return id >= prefix }, func(id string) bool {
		if !strings.HasPrefix(id, prefix) {
			return false
		}
		n++
		return true
	})
	return n
}

// Find implements [storage.Listing.Find]. By ID, it reads at most
// q.Limit+1 IDs from each (workflow, status) index the filter admits, so a
// page costs O(k (log n + q.Limit)) for k such indexes (one when both are
// given). By due time it walks the due index from the cursor and skips
// instances the filter refuses.
func (s *Store) Find(ctx context.Context, q storage.Query) (storage.Page, error) {
	if err := ctx.Err(); err != nil {
		return storage.Page{}, fmt.Errorf("storage: find: %w", err)
	}
	c, err := q.Validate()
	if err != nil {
		return storage.Page{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return storage.Page{}, fmt.Errorf("storage: find: %w", storage.ErrClosed)
	}
	var ids []string
	if q.Order == storage.ByDue {
		s.due.scanFrom(func(k dueKey) bool { return c.Before(storage.ByDue, k.time(), k.id) }, func(k dueKey) bool {
			if len(ids) > q.Limit {
				return false
			}
			if q.Filter.Matches(*s.instances[k.id]) {
				ids = append(ids, k.id)
			}
			return true
		})
	} else {
		sets := []*idIndex{s.ids}
		if q.Workflow != "" || q.Status != "" {
			sets = s.kinds(q.Filter)
		}
		for _, set := range sets {
			ids = appendIDsFrom(ids, set, c, q.IDPrefix, q.Limit+1)
		}
		if len(sets) > 1 {
			slices.Sort(ids)
		}
		ids = ids[:min(len(ids), q.Limit+1)]
	}
	var p storage.Page
	if len(ids) > 0 {
		p.Instances = make([]storage.Instance, 0, min(len(ids), q.Limit))
	}
	for i, id := range ids {
		if i == q.Limit {
			p.Next = storage.NextCursor(q.Order, p.Instances[i-1])
			break
		}
		p.Instances = append(p.Instances, clone(*s.instances[id]))
	}
	return p, nil
}

// Count implements [storage.Listing.Count]. Without an IDPrefix it costs
// O(k) for the k (workflow, status) indexes the filter admits; with one it
// also reads the matching IDs.
func (s *Store) Count(ctx context.Context, f storage.Filter) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: count: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("storage: count: %w", storage.ErrClosed)
	}
	out := map[string]int{}
	for k, set := range s.byKind {
		if (f.Workflow != "" && k.workflow != f.Workflow) || (f.Status != "" && k.status != f.Status) {
			continue
		}
		n := set.len()
		if f.IDPrefix != "" {
			n = countPrefix(set, f.IDPrefix)
		}
		if n > 0 {
			out[k.status] += n
		}
	}
	return out, nil
}

// Delete implements [storage.Retention.Delete]. It costs O(log n) plus
// O(d) for d dead letters in the store.
//
// The store keeps a tombstone per deleted ID (see [storage.DeletedError]):
// its version and a copy of the host's bytes.
func (s *Store) Delete(ctx context.Context, id string, expect uint64, tombstone []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: delete %q: %w", id, err)
	}
	if err := storage.ValidateID(id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("storage: delete %q: %w", id, storage.ErrClosed)
	}
	inst, ok := s.instances[id]
	if !ok {
		return fmt.Errorf("storage: delete %q: instance %w", id, storage.ErrNotFound)
	}
	if inst.Version != expect {
		return fmt.Errorf("storage: delete %q: %w (expected %d, stored %d)", id, storage.ErrConflict, expect, inst.Version)
	}
	if first := s.cl.byInstance[id]; first != nil {
		n := 0
		for range listed(first) {
			n++
		}
		return fmt.Errorf("storage: delete %q: %w: %d in the outbox", id, storage.ErrHasEffects, n)
	}
	for _, p := range s.cl.dead {
		if p.effect.Instance == id {
			return fmt.Errorf("storage: delete %q: %w: effect %q among the dead letters", id, storage.ErrHasEffects, p.effect.ID)
		}
	}
	delete(s.instances, id)
	s.ids.remove(id)
	if !inst.Due.IsZero() {
		s.due.delete(keyAt(inst.Due, id))
	}
	s.kindRemove(kind{inst.Workflow, inst.Status}, id)
	delete(s.journals, id) // the journal goes with its instance
	s.tombstones[id] = tombstoneOf(inst.Version, tombstone)
	if r := s.cl.leases[id]; r != nil {
		r.held = false // the token stays, so that a new instance with this ID gets greater ones
	}
	return nil
}

// tombstone is what Delete keeps of a deleted instance.
type tombstone struct {
	version uint64
	data    []byte
}

func tombstoneOf(version uint64, data []byte) tombstone {
	return tombstone{version: version, data: bytes.Clone(data)}
}
