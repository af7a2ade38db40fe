package simulate_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/examples/quickstart"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
	"pgregory.net/rapid"
)

// watchedStore counts what the list and gc actions do with the store:
// listings, pages read with a cursor, counts, and deletions of the
// simulated instance (its ID is "sim").
type watchedStore struct {
	storage.Store
	mu                              sync.Mutex
	finds, paged, counts, deletes   int
	byDue, byStatus, byPrefix, byWS int
}

func (s *watchedStore) Find(ctx context.Context, q storage.Query) (storage.Page, error) {
	s.mu.Lock()
	s.finds++
	if q.After != "" {
		s.paged++
	}
	switch {
	case q.Order == storage.ByDue:
		s.byDue++
	case q.Workflow != "" && q.Status != "":
		s.byWS++
	case q.Status != "":
		s.byStatus++
	case q.IDPrefix != "":
		s.byPrefix++
	}
	s.mu.Unlock()
	return s.Store.Find(ctx, q)
}

func (s *watchedStore) Count(ctx context.Context, f storage.Filter) (map[string]int, error) {
	s.mu.Lock()
	s.counts++
	s.mu.Unlock()
	return s.Store.Count(ctx, f)
}

func (s *watchedStore) Delete(ctx context.Context, id string, expect uint64, tombstone []byte) error {
	err := s.Store.Delete(ctx, id, expect, tombstone)
	if err == nil && id == "sim" {
		s.mu.Lock()
		s.deletes++
		s.mu.Unlock()
	}
	return err
}

// The list and gc actions run in a Check: every kind of listing, pages
// read with a cursor, counts, and GCs that delete the simulated instance
// (so that the retention checks are not vacuous), with every invariant
// holding on the memory store.
func TestListAndGCActions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(t *testing.T, store func(storage.Store) storage.Store)
	}{
		{"quickstart", func(t *testing.T, store func(storage.Store) storage.Store) {
			simulate.Check(t, quickstart.Workflow, simulate.Options[quickstart.Approval]{Store: store})
		}},
		{"pizza", func(t *testing.T, store func(storage.Store) storage.Store) {
			opts := pizzaOptions()
			opts.Store = store
			simulate.Check(t, pizza.Workflow, opts)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stores []*watchedStore
			var mu sync.Mutex
			tc.check(t, func(s storage.Store) storage.Store {
				w := &watchedStore{Store: s}
				mu.Lock()
				stores = append(stores, w)
				mu.Unlock()
				return w
			})
			var sum watchedStore
			for _, w := range stores {
				sum.finds += w.finds
				sum.paged += w.paged
				sum.counts += w.counts
				sum.deletes += w.deletes
				sum.byDue += w.byDue
				sum.byStatus += w.byStatus
				sum.byPrefix += w.byPrefix
				sum.byWS += w.byWS
			}
			t.Logf("%d stores (runs and replays): %d finds (%d by due, %d by status, %d by workflow and status, %d by prefix), %d pages after a cursor, %d counts, %d deletions",
				len(stores), sum.finds, sum.byDue, sum.byStatus, sum.byWS, sum.byPrefix, sum.paged, sum.counts, sum.deletes)
			for what, n := range map[string]int{"listing by due time": sum.byDue, "listing by status": sum.byStatus,
				"listing by workflow and status": sum.byWS, "listing by ID prefix": sum.byPrefix,
				"page read with a cursor": sum.paged, "count": sum.counts, "deletion by a GC": sum.deletes} {
				if n == 0 {
					t.Errorf("no %s in the runs", what)
				}
			}
		})
	}
}

// refusingDelete is a store whose Delete always says the instance still
// has effects: GC would keep finished instances forever.
type refusingDelete struct{ storage.Store }

func (r refusingDelete) Delete(ctx context.Context, id string, expect uint64, tombstone []byte) error {
	if _, err := r.Store.Load(ctx, id); err != nil {
		return err
	}
	return errors.Join(storage.ErrHasEffects, errors.New("planted: refuses every delete"))
}

// A GC that keeps an expired instance with no effect left breaks
// InvRetention.
func TestGCThatNeverDeletesIsCaught(t *testing.T) {
	report := expectFailure(t, func(tb rapid.TB) {
		simulate.Check(tb, quickstart.Workflow, simulate.Options[quickstart.Approval]{
			Store: func(s storage.Store) storage.Store { return refusingDelete{s} },
		})
	})
	mustContain(t, report, "invariant broken: "+simulate.InvRetention, "GC kept the instance")
}
