package planted_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
)

// forgetfulIndex is a storage adapter whose due index is not durable: a
// crash loses every entry in it (as an index kept in a separate file that
// is not synced with the records would), until the instance's next commit
// writes its entry again. Records and Instance.Due survive.
type forgetfulIndex struct {
	storage.Store
	mu   sync.Mutex
	lost map[string]bool
}

func (f *forgetfulIndex) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	v, err := f.Store.Commit(ctx, c)
	if err == nil {
		f.mu.Lock()
		delete(f.lost, c.Instance.ID)
		f.mu.Unlock()
	}
	return v, err
}

func (f *forgetfulIndex) DueBefore(ctx context.Context, t time.Time, limit int) ([]storage.Due, error) {
	due, err := f.Store.DueBefore(ctx, t, limit)
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.DeleteFunc(due, func(d storage.Due) bool { return f.lost[d.ID] }), err
}

func (f *forgetfulIndex) Crash() {
	due, _ := f.Store.DueBefore(context.Background(), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1000)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range due {
		f.lost[d.ID] = true // the bug
	}
}

func TestAdapterLosesDueEntriesOnCrash(t *testing.T) {
	wantCaught(t, simulate.InvDueIndex, func(tb *simulate.Recorder) {
		simulate.Check(tb, askWF, simulate.Options[request]{
			Store: func(s storage.Store) storage.Store { return &forgetfulIndex{Store: s, lost: map[string]bool{}} },
		})
	})
}

// noIndex is a storage adapter that never writes the due index: it drops
// Instance.Due on every write, so no timer would ever fire in production.
type noIndex struct{ storage.Store }

func (n noIndex) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	inst.Due = time.Time{} // the bug
	return n.Store.Create(ctx, inst, effects)
}

func (n noIndex) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	c.Instance.Due = time.Time{} // the bug
	return n.Store.Commit(ctx, c)
}

func TestAdapterDropsDueEntries(t *testing.T) {
	wantCaught(t, simulate.InvDueIndex, func(tb *simulate.Recorder) {
		simulate.Check(tb, askWF, simulate.Options[request]{
			Store: func(s storage.Store) storage.Store { return noIndex{s} },
		})
	})
}
