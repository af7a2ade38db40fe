package storagetest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
	"github.com/weftflow/weft/storage/storagetest"
)

// The suite must fail a store that loses the tombstones Delete leaves,
// always or only when reopened. As in faulty_test.go, each faulty store
// runs the suite in a child process.

const envTombstoneFault = "WEFT_STORAGETEST_TOMBSTONE_FAULT"

// A tombstoneFault says which tombstones a forgetful store loses.
type tombstoneFault string

const (
	noTombstones       tombstoneFault = "no tombstones"  // a Create ignores every tombstone
	tombstonesOnReopen tombstoneFault = "lost on reopen" // tombstones left before the last reopen are gone
)

// forgetful is a reopenable memory store whose Create, over a tombstone
// its fault says is lost, creates the instance as if there were none
// (the versions still continue: the loss shows in the errors).
type forgetful struct {
	*handle
	fault  tombstoneFault
	buried *buriedSet // shared by the stores over the same data
}

// buriedSet is the IDs deleted since the last reopen.
type buriedSet struct {
	mu     sync.Mutex
	recent map[string]bool
}

func (f *forgetful) Delete(ctx context.Context, id string, expect uint64, tombstone []byte) error {
	// Marked first: a Create racing the Delete may meet the tombstone as
	// soon as the store writes it (a Delete that fails leaves none, and
	// the mark then changes nothing).
	f.buried.mu.Lock()
	f.buried.recent[id] = true
	f.buried.mu.Unlock()
	return f.handle.Store.Delete(ctx, id, expect, tombstone)
}

func (f *forgetful) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	v, err := f.handle.Create(ctx, inst, effects)
	var de *storage.DeletedError
	if !errors.As(err, &de) {
		return v, err
	}
	f.buried.mu.Lock()
	lost := f.fault == noTombstones || !f.buried.recent[inst.ID]
	f.buried.mu.Unlock()
	if !lost {
		return v, err
	}
	inst.Version = de.Version
	return f.handle.Create(ctx, inst, effects)
}

// runTombstoneSuite runs the conformance suite on forgetful stores.
func runTombstoneSuite(t *testing.T, f tombstoneFault) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return &forgetful{handle: newHandle(memory.New()), fault: f, buried: &buriedSet{recent: map[string]bool{}}}
	}, storagetest.WithReopen(func(t *testing.T, s storage.Store) storage.Store {
		old := s.(*forgetful)
		old.Close()
		old.buried.mu.Lock()
		clear(old.buried.recent)
		old.buried.mu.Unlock()
		return &forgetful{handle: newHandle(old.handle.mem), fault: old.fault, buried: old.buried}
	}))
}

// TestTombstoneFaultChild runs the suite on a forgetful store. It does
// nothing unless TestSuiteFailsForgottenTombstones runs it in a child
// process.
func TestTombstoneFaultChild(t *testing.T) {
	f := tombstoneFault(os.Getenv(envTombstoneFault))
	if f == "" {
		t.Skip("run in a child process by TestSuiteFailsForgottenTombstones")
	}
	runTombstoneSuite(t, f)
}

// TestSuiteFailsForgottenTombstones runs the suite on stores that lose
// tombstones, always or when reopened, and checks that the sections that
// check tombstones fail each, naming the tombstone.
func TestSuiteFailsForgottenTombstones(t *testing.T) {
	for _, tc := range []struct {
		fault tombstoneFault
		must  []string // subtests that must fail
		may   []string // others that may
	}{
		{noTombstones, []string{"Tombstone", "TombstoneRace"}, []string{"Model"}},
		{tombstonesOnReopen, []string{"Tombstone"}, []string{"Model"}},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			t.Parallel()
			got, out := failedInChild(t, "TestTombstoneFaultChild", "^TestTombstoneFaultChild$/^(Delete|Tombstone|TombstoneRace|Model)$",
				envTombstoneFault, string(tc.fault), "-rapid.checks=100")
			wantFailed(t, got, tc.must, tc.may)
			if !bytes.Contains(out, []byte("tombstone")) {
				t.Errorf("no failure names the tombstone:\n%s", out)
			}
		})
	}
}
