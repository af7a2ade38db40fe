// Package storagetest is the conformance suite for [storage.Store] adapters.
//
// Every adapter runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store {
//			s, err := mystore.Open(filepath.Join(t.TempDir(), "weft.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite checks only what the storage package documents: the results of
// every method, the errors it returns (with [errors.Is]), atomicity of failed
// writes, outbox and due-index ordering, pagination, copying, context
// cancellation, Close, behaviour under concurrent use, and, with a
// randomized state-machine test (pgregory.net/rapid), agreement with a simple
// model over long sequences of operations.
//
// It performs a few thousand writes. Adapters whose durable writes are slow
// may relax syncing in the store they open for the suite. The rapid flags
// (-rapid.checks, -rapid.steps, -rapid.seed) tune the state-machine test.
package storagetest

import (
	"testing"

	"github.com/weftflow/weft/storage"
)

// Run runs the conformance suite against the stores open returns, each test
// as a subtest of t.
//
// open must return a new, empty store, independent of every other store it
// returned, and arrange with t.Cleanup for its resources to be released. The
// suite calls open many times (hundreds, in the state-machine test, all with
// the t of that test) and closes stores itself when it is done with them, so
// Close will usually be called twice, as the contract allows. Subtests run
// one after another, never in parallel, but a subtest may use its store from
// many goroutines.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, opener(open))
		})
	}
}

// opener opens stores for a test.
type opener func(t *testing.T) storage.Store

// fresh opens a store, checks that it is empty, and closes it when t ends.
func (open opener) fresh(t *testing.T) storage.Store {
	t.Helper()
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if got := snapshot(t, s); !got.empty() {
		t.Fatalf("open returned a store that is not empty: %+v", got)
	}
	return s
}

// tests lists the suite, in the order it runs.
var tests = []struct {
	name string
	run  func(t *testing.T, open opener)
}{
	{"CreateLoad", testCreateLoad},
	{"CreateDuplicate", testCreateDuplicate},
	{"LoadMissing", testLoadMissing},
	{"CommitIncrementsVersion", testCommitIncrementsVersion},
	{"CommitStale", testCommitStale},
	{"CommitMissing", testCommitMissing},
	{"InvalidInput", testInvalidInput},
	{"Boundaries", testBoundaries},
	{"IDsAreBytes", testIDsAreBytes},
	{"OutboxOrder", testOutboxOrder},
	{"Ack", testAck},
	{"DuplicateEffectID", testDuplicateEffectID},
	{"ConflictBeforeExists", testConflictBeforeExists},
	{"DueIndex", testDueIndex},
	{"DueLimit", testDueLimit},
	{"List", testList},
	{"NoAliasing", testNoAliasing},
	{"ContextCanceled", testContextCanceled},
	{"Close", testClose},
	{"ConcurrentSameVersion", testConcurrentSameVersion},
	{"ConcurrentRetryLoops", testConcurrentRetryLoops},
	{"ConcurrentInstances", testConcurrentInstances},
	{"ConcurrentOutbox", testConcurrentOutbox},
	{"Model", testModel},
}
