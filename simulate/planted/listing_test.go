package planted_test

import (
	"context"
	"errors"
	"flag"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
)

// closeWF ends on the event that answers its question (an Apply, so its
// end and the teardown of its setup wait in the outbox until a host
// dispatches them) or on a timeout.
var closeWF = dsl.MustCompile[request]("close", dsl.S(
	dsl.Wait("question",
		dsl.On("answer", dsl.Custom[request, string, string]("ask", asker{})),
		dsl.On("expire", dsl.After(time.Hour)),
	),
))

// staleStatus is a storage adapter whose listing index is written when an
// instance is created and never updated: Find and Count keep every
// instance under the status it was created with (as an index updated
// only on insert would), whatever its commits made of it.
type staleStatus struct {
	storage.Store
	mu      sync.Mutex
	created map[string]string // ID -> status at Create
}

func (s *staleStatus) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	v, err := s.Store.Create(ctx, inst, effects)
	if err == nil {
		s.mu.Lock()
		s.created[inst.ID] = inst.Status
		s.mu.Unlock()
	}
	return v, err
}

func (s *staleStatus) indexed(inst storage.Instance) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.created[inst.ID]; ok {
		return st // the bug: the status of the instance's Create
	}
	return inst.Status
}

// Find reads the instances without the status filter and applies it to
// the stale index.
func (s *staleStatus) Find(ctx context.Context, q storage.Query) (storage.Page, error) {
	status := q.Status
	q.Status = ""
	p, err := s.Store.Find(ctx, q)
	if err != nil || status == "" {
		return p, err
	}
	kept := p.Instances[:0]
	for _, inst := range p.Instances {
		if s.indexed(inst) == status {
			kept = append(kept, inst)
		}
	}
	p.Instances = kept
	return p, nil
}

// Count counts by the stale index.
func (s *staleStatus) Count(ctx context.Context, f storage.Filter) (map[string]int, error) {
	status := f.Status
	f.Status = ""
	counts := map[string]int{}
	q := storage.Query{Filter: f, Limit: 100}
	for {
		p, err := s.Store.Find(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, inst := range p.Instances {
			if st := s.indexed(inst); status == "" || st == status {
				counts[st]++
			}
		}
		if p.Next == "" {
			return counts, nil
		}
		q.After = p.Next
	}
}

func TestAdapterListsUnderAStaleStatus(t *testing.T) {
	adapterCaught(t, simulate.InvListing, func(s storage.Store) storage.Store { return &staleStatus{Store: s, created: map[string]string{}} })
}

// cascadingDelete is a storage adapter whose Delete does not refuse an
// instance with effects left: it deletes them with it (acknowledges its
// outbox entries and forgets its dead letters), as a delete that cascades
// to the outbox would, losing effects never performed.
type cascadingDelete struct{ storage.Store }

func (c cascadingDelete) Delete(ctx context.Context, id string, expect uint64, tombstone []byte) error {
	out, err := c.Store.Outbox(ctx, 1000)
	if err != nil {
		return err
	}
	var ids []string
	for _, e := range out {
		if e.Instance == id {
			ids = append(ids, e.ID) // the bug
		}
	}
	if err := c.Store.Ack(ctx, ids...); err != nil {
		return err
	}
	return c.Store.Delete(ctx, id, expect, tombstone)
}

func TestAdapterDeletesAnInstanceWithEffectsLeft(t *testing.T) {
	adapterCaught(t, simulate.InvRetention, func(s storage.Store) storage.Store { return cascadingDelete{s} })
}

// forgetfulTombstones is a storage adapter that keeps no tombstones: a
// Create of a deleted instance's ID goes ahead as for an ID never used,
// and an instance started again with the ID would repeat the deleted
// one's effect IDs.
type forgetfulTombstones struct{ storage.Store }

func (f forgetfulTombstones) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	v, err := f.Store.Create(ctx, inst, effects)
	var de *storage.DeletedError
	if errors.As(err, &de) { // the bug: as if there were none
		inst.Version = de.Version
		return f.Store.Create(ctx, inst, effects)
	}
	return v, err
}

func TestAdapterForgetsTombstones(t *testing.T) {
	adapterCaught(t, simulate.InvRetention, func(s storage.Store) storage.Store { return forgetfulTombstones{s} })
}

// lastStanding is a storage adapter that refuses to delete the store's
// last instance (as a delete that also drops an index emptied by it, and
// fails when there is none, would). No run meets the bug: the gc action
// puts the listing's other instances in the run's store, a running one
// among them. The replay's store holds the simulated instance alone, so
// only the replay of a GC (an input the run's steps record) finds it.
type lastStanding struct{ storage.Store }

func (l lastStanding) Delete(ctx context.Context, id string, expect uint64, tombstone []byte) error {
	counts, err := l.Store.Count(ctx, storage.Filter{})
	if err != nil {
		return err
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	if n <= 1 {
		return errors.New("planted: the store's last instance cannot be deleted")
	}
	return l.Store.Delete(ctx, id, expect, tombstone)
}

func TestAdapterCannotDeleteTheLastInstance(t *testing.T) {
	adapterCaught(t, simulate.InvReplay, func(s storage.Store) storage.Store { return lastStanding{s} })
}

// The correct adapter passes the same checks.
func TestListingAndRetentionPassOnTheMemoryStore(t *testing.T) {
	forSeeds(t, func(t *testing.T) {
		simulate.Check(t, closeWF, simulate.Options[request]{})
	})
}

// adapterCaught checks, in each of forSeeds' seeds, that the simulator
// catches the storage adapter wrap under closeWF with invariant inv.
func adapterCaught(t *testing.T, inv string, wrap func(storage.Store) storage.Store) {
	forSeeds(t, func(t *testing.T) {
		wantCaught(t, inv, func(tb *simulate.Recorder) {
			simulate.Check(tb, closeWF, simulate.Options[request]{Store: wrap})
		})
	})
}

// forSeeds runs test once for each of a handful of rapid seeds: a planted
// bug must be found whichever the seed.
func forSeeds(t *testing.T, test func(t *testing.T)) {
	old := flag.Lookup("rapid.seed").Value.String()
	t.Cleanup(func() {
		if err := flag.Set("rapid.seed", old); err != nil {
			t.Fatal(err)
		}
	})
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		if err := flag.Set("rapid.seed", strconv.FormatUint(seed, 10)); err != nil {
			t.Fatal(err)
		}
		t.Run("seed "+strconv.FormatUint(seed, 10), test)
	}
}
