package storagetest_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
	"github.com/weftflow/weft/storage/storagetest"
)

// The journal sections must fail stores that get the journal wrong in
// ways a quick test could miss. As in faulty_test.go, each faulty store
// runs the suite in a child process.

const envJournalFault = "WEFT_STORAGETEST_JOURNAL_FAULT"

// A journalFault says what a faultyJournal store gets wrong.
type journalFault string

const (
	dropOnCommit  journalFault = "drop on commit"  // Commit writes the record but not its entry
	keepOneFewer  journalFault = "keep one fewer"  // Keep.Last counted off by one
	appendOnError journalFault = "append on error" // a Commit that fails still appends its entry
)

// faultyJournal is a memory store with a journal fault.
type faultyJournal struct {
	storage.Store // a memory.Store or a Share handle of one
	fault         journalFault
}

func (f *faultyJournal) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	switch j := c.Instance.Journal; {
	case j == nil:
	case f.fault == dropOnCommit:
		c.Instance.Journal = nil
	case f.fault == keepOneFewer && j.Keep != nil:
		w := *j
		w.Keep = fewer(*j.Keep)
		c.Instance.Journal = &w
	}
	v, err := f.Store.Commit(ctx, c)
	if err != nil && f.fault == appendOnError && c.Instance.Journal != nil {
		// Append it by a commit of its own, as a store writing the
		// journal outside the record's transaction might.
		if cur, lerr := f.Store.Load(ctx, c.Instance.ID); lerr == nil {
			cur.Journal = c.Instance.Journal
			f.Store.Commit(ctx, storage.Commit{Instance: cur, Expect: cur.Version})
		}
	}
	return v, err
}

func (f *faultyJournal) TrimJournal(ctx context.Context, id string, keep storage.JournalKeep) (int, error) {
	if f.fault == keepOneFewer {
		keep = *fewer(keep)
	}
	return f.Store.TrimJournal(ctx, id, keep)
}

// fewer is keep wanting one entry fewer by Last.
func fewer(keep storage.JournalKeep) *storage.JournalKeep {
	if keep.Last > 0 {
		keep.Last--
	}
	return &keep
}

// runJournalSuite runs the conformance suite on faultyJournal stores.
func runJournalSuite(t *testing.T, f journalFault) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return &faultyJournal{Store: memory.New(), fault: f}
	}, storagetest.WithShared(func(t *testing.T, first storage.Store) storage.Store {
		fj := first.(*faultyJournal)
		return &faultyJournal{Store: fj.Store.(*memory.Store).Share(), fault: fj.fault}
	}))
}

// TestJournalFaultChild runs the suite on a faulty store. It does nothing
// unless TestSuiteFailsFaultyJournal runs it in a child process.
func TestJournalFaultChild(t *testing.T) {
	f := journalFault(os.Getenv(envJournalFault))
	if f == "" {
		t.Skip("run in a child process by TestSuiteFailsFaultyJournal")
	}
	runJournalSuite(t, f)
}

// TestSuiteFailsFaultyJournal runs the journal sections of the suite on
// stores that drop the entry of a Commit, trim one entry too many, or
// append the entry of a failed Commit, and checks that the sections fail
// each.
func TestSuiteFailsFaultyJournal(t *testing.T) {
	for _, tc := range []struct {
		fault journalFault
		must  []string // subtests that must fail
		may   []string // others that may
	}{
		{dropOnCommit, []string{"JournalAppend", "JournalFailedWrites", "JournalSeq", "JournalRead", "JournalKeep", "JournalModel"},
			[]string{"JournalBig", "JournalIDsAreBytes", "JournalReopen", "JournalShared"}},
		{keepOneFewer, []string{"JournalKeep", "JournalModel"}, []string{"JournalBig"}},
		{appendOnError, []string{"JournalFailedWrites", "JournalModel"}, []string{"JournalSeq", "JournalShared", "JournalReopen"}},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			t.Parallel()
			got, out := failedInChild(t, "TestJournalFaultChild", "^TestJournalFaultChild$/^Journal", envJournalFault, string(tc.fault), "-rapid.checks=50")
			wantFailed(t, got, tc.must, tc.may)
			if !bytes.Contains(out, []byte("journal")) {
				t.Errorf("no failure names the journal:\n%s", out)
			}
		})
	}
}
