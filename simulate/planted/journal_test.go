package planted_test

import (
	"context"
	"sync"
	"testing"

	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
)

// journalOutsideCommit is a storage adapter that does not keep the
// journal in the commit: every third commit's entry is lost while the
// record has the transition, as with a journal written apart from the
// records and lost in a crash between the two.
type journalOutsideCommit struct {
	storage.Store
	mu sync.Mutex
	n  int
}

func (j *journalOutsideCommit) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	j.mu.Lock()
	j.n++
	drop := j.n%3 == 0
	j.mu.Unlock()
	if drop {
		c.Instance.Journal = nil // the bug
	}
	return j.Store.Commit(ctx, c)
}

func TestAdapterLosesJournalEntries(t *testing.T) {
	wantCaught(t, simulate.InvJournal, func(tb *simulate.Recorder) {
		simulate.Check(tb, askWF, simulate.Options[request]{
			Store: func(s storage.Store) storage.Store { return &journalOutsideCommit{Store: s} },
		})
	})
}
