package storagetest_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
	"github.com/weftflow/weft/storage/storagetest"
)

// The suite must fail a store whose due index is wrong only on reopening,
// which no test inside one process sees unless the suite reopens stores.
// These tests plant such stores and check that the suite fails them, naming
// the due index. A failing suite fails the test running it, so each faulty
// store runs the suite in a child process (this test binary again, with
// envFault naming the fault), and the parent checks how the child failed.

const envFault = "WEFT_STORAGETEST_FAULT"

// handle is a reopenable store kept in memory: a view of a memory.Store
// that Close ends without dropping the data, so that a new handle on the
// same memory.Store is a reopened store.
type handle struct {
	storage.Store               // a Share handle of mem: closing it releases its locks
	mem           *memory.Store // the shared data
	closed        atomic.Bool
}

func newHandle(m *memory.Store) *handle { return &handle{Store: m.Share(), mem: m} }

func (h *handle) TryLock(ctx context.Context, name string) (storage.Lock, bool, error) {
	if err := h.check("lock"); err != nil {
		return nil, false, err
	}
	return h.Store.(storage.Locker).TryLock(ctx, name)
}

func (h *handle) check(op string) error {
	if h.closed.Load() {
		return fmt.Errorf("storage: %s: %w", op, storage.ErrClosed)
	}
	return nil
}

func (h *handle) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	if err := h.check("create"); err != nil {
		return 0, err
	}
	return h.Store.Create(ctx, inst, effects)
}

func (h *handle) Load(ctx context.Context, id string) (storage.Instance, error) {
	if err := h.check("load"); err != nil {
		return storage.Instance{}, err
	}
	return h.Store.Load(ctx, id)
}

func (h *handle) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	if err := h.check("commit"); err != nil {
		return 0, err
	}
	return h.Store.Commit(ctx, c)
}

func (h *handle) Outbox(ctx context.Context, limit int) ([]storage.Effect, error) {
	if err := h.check("outbox"); err != nil {
		return nil, err
	}
	return h.Store.Outbox(ctx, limit)
}

func (h *handle) Ack(ctx context.Context, ids ...string) error {
	if err := h.check("ack"); err != nil {
		return err
	}
	return h.Store.Ack(ctx, ids...)
}

func (h *handle) DueBefore(ctx context.Context, t time.Time, limit int) ([]storage.Due, error) {
	if err := h.check("due before"); err != nil {
		return nil, err
	}
	return h.Store.DueBefore(ctx, t, limit)
}

func (h *handle) List(ctx context.Context, after string, limit int) ([]storage.Instance, error) {
	if err := h.check("list"); err != nil {
		return nil, err
	}
	return h.Store.List(ctx, after, limit)
}

func (h *handle) Close() error {
	h.closed.Store(true)
	return h.Store.Close() // the data stays in mem
}

// A fault says which due entries a lossyDue store loses.
type fault string

const (
	noFault      fault = ""
	dropOnReopen fault = "drop on reopen" // every entry, at every reopen
	dropOnCrash  fault = "drop on crash"  // entries written since the last reopen, which is a crash
	dropAlways   fault = "drop always"    // entries of Create (only Commit indexes)
)

// lossyDue is a handle whose due index loses entries as its fault says:
// DueBefore hides lost entries (until a later write re-indexes the
// instance), while the records keep their Due.
type lossyDue struct {
	*handle
	fault fault
	lost  *lostSet // shared by the stores over the same data
}

// lostSet is the instances whose due entry is lost, and those whose entry
// was written since the last reopen.
type lostSet struct {
	mu     sync.Mutex
	lost   map[string]bool
	recent map[string]bool
}

func (l *lossyDue) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	v, err := l.handle.Create(ctx, inst, effects)
	if err == nil {
		l.wrote(inst.ID, l.fault == dropAlways && !inst.Due.IsZero())
	}
	return v, err
}

func (l *lossyDue) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	v, err := l.handle.Commit(ctx, c)
	if err == nil {
		l.wrote(c.Instance.ID, false)
	}
	return v, err
}

func (l *lossyDue) wrote(id string, lose bool) {
	l.lost.mu.Lock()
	defer l.lost.mu.Unlock()
	l.lost.lost[id] = lose
	l.lost.recent[id] = true
}

func (l *lossyDue) DueBefore(ctx context.Context, t time.Time, limit int) ([]storage.Due, error) {
	l.lost.mu.Lock()
	defer l.lost.mu.Unlock()
	ask := limit
	if n := len(l.lost.lost); limit > 0 && limit <= math.MaxInt-n {
		ask += n // room for the entries hidden below
	}
	due, err := l.handle.DueBefore(ctx, t, ask)
	if err != nil {
		return nil, err
	}
	due = slices.DeleteFunc(due, func(d storage.Due) bool { return l.lost.lost[d.ID] })
	return due[:min(len(due), limit)], nil
}

// reopen closes l and opens a new lossyDue over the same data, losing
// entries as the fault says.
func (l *lossyDue) reopen() *lossyDue {
	l.Close()
	l.lost.mu.Lock()
	defer l.lost.mu.Unlock()
	switch l.fault {
	case dropOnReopen:
		all, _ := l.handle.mem.DueBefore(context.Background(), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1<<30)
		for _, d := range all {
			l.lost.lost[d.ID] = true
		}
	case dropOnCrash:
		for id := range l.lost.recent {
			l.lost.lost[id] = true
		}
	}
	clear(l.lost.recent)
	return &lossyDue{handle: newHandle(l.handle.mem), fault: l.fault, lost: l.lost}
}

// runSuite runs the conformance suite on lossyDue stores with fault f.
func runSuite(t *testing.T, f fault) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return &lossyDue{
			handle: newHandle(memory.New()),
			fault:  f,
			lost:   &lostSet{lost: map[string]bool{}, recent: map[string]bool{}},
		}
	}, storagetest.WithReopen(func(t *testing.T, s storage.Store) storage.Store {
		return s.(*lossyDue).reopen()
	}))
}

// TestReopenableMemoryConforms is the control: the same stores without a
// fault pass the suite, reopening included, so that the failures below come
// from the faults alone.
func TestReopenableMemoryConforms(t *testing.T) {
	runSuite(t, noFault)
}

// TestFaultChild runs the suite on a faulty store. It does nothing unless
// TestSuiteFailsLossyDueIndex runs it in a child process.
func TestFaultChild(t *testing.T) {
	f := fault(os.Getenv(envFault))
	if f == noFault {
		t.Skip("run in a child process by TestSuiteFailsLossyDueIndex")
	}
	runSuite(t, f)
}

// TestSuiteFailsLossyDueIndex runs the suite on stores whose due index
// loses entries, on every reopen, on a crash, or always, and checks that
// the suite fails each, in the subtests that check the due index, with
// messages that name it.
func TestSuiteFailsLossyDueIndex(t *testing.T) {
	for _, tc := range []struct {
		fault fault
		must  []string // subtests that must fail
		may   []string // others that may
	}{
		{dropOnReopen, []string{"DueAfterReopen", "Reopen", "Model"}, nil},
		{dropOnCrash, []string{"DueAfterReopen", "Reopen", "Model"}, nil},
		{dropAlways, []string{"DueIndex", "DueLimit", "DueAfterReopen", "Model"}, []string{"Boundaries", "IDsAreBytes", "Reopen", "NoAliasing", "ContextCanceled", "Delete"}},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			t.Parallel()
			got, out := failedInChild(t, "TestFaultChild", "^TestFaultChild$", envFault, string(tc.fault), "-rapid.checks=50")
			wantFailed(t, got, tc.must, tc.may)
			if !bytes.Contains(out, []byte("due index")) {
				t.Errorf("no failure names the due index:\n%s", out)
			}
		})
	}
}
