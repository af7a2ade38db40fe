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
//		}, storagetest.WithReopen(func(t *testing.T, s storage.Store) storage.Store {
//			path := s.(*mystore.Store).Path()
//			s.Close()
//			s, err := mystore.Open(path)
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		}))
//	}
//
// The suite checks only what the storage package documents: the results of
// every method, the errors it returns (with [errors.Is]), atomicity of failed
// writes, outbox and due-index ordering, pagination, copying, context
// cancellation, Close, behaviour under concurrent use, and, with a
// randomized state-machine test (pgregory.net/rapid), agreement with a simple
// model over long sequences of operations.
//
// Adapters of durable stores should pass [WithReopen], so that the suite
// also checks that what a store holds survives closing and reopening it:
// in particular the due index, which a store keeps apart from its records
// and which can go wrong only on disk (lost on a crash, not rebuilt, rebuilt
// from stale data) while every check in one process passes.
//
// The claims tests ([storage.Claims]) check that only instances with work
// are claimed, that an instance has one live lease at a time, expiry and
// takeover, that fence tokens only grow (across reopening too), that every
// fenced write with a stale lease fails with [storage.ErrFenced] and writes
// nothing, retry state, NotBefore, dead letters and NextWork, and that
// effects written and acknowledged before anything read the claims are
// what the first reader (Claim, Pending, NextWork or Delete) sees, for a
// store that builds its claims indexes only when first read. Adapters that
// can open their data twice (a database server) should pass [WithShared]:
// the suite then races two stores on the same data for the same work. Tests
// that set the time skip stores whose own clock decides
// ([storage.Clocked]).
//
// The listing tests ([storage.Listing], [storage.Retention]) check Find
// and Count against List for every combination of filters, both orders
// and several page sizes, with byte IDs, workflows and statuses holding
// NUL and 0xff, over a thousand instances, and while statuses change
// between pages; Delete's conditions (version, effects in the outbox or
// dead letters), its precedence of errors, a race with Commit, that a
// re-created ID's leases fence the deleted instance's, and the tombstone
// Delete leaves: a Create of the ID must name it ([storage.DeletedError]),
// versions continue, a second deletion replaces it, it survives
// reopening, and a Create racing a Delete of its ID sees the instance or
// the tombstone.
//
// Stores that implement [storage.Locker] are checked for it too: one holder
// of a name at a time (across the two stores of [WithShared] when given),
// Unlock idempotent, Lost closed by Unlock and by closing the store.
// Stores that implement [storage.AckReleaser] are checked for it: the
// acknowledgement and the release together, fenced as AckLeased and Release
// are (also across the two stores of WithShared). Stores that implement
// [storage.PendingWithDead] are checked for it: Pending's effects, fenced,
// and no dead letters reported while the store has none.
//
// It performs a few thousand writes. Adapters whose durable writes are slow
// may relax syncing in the store they open for the suite. The rapid flags
// (-rapid.checks, -rapid.steps, -rapid.seed) tune the state-machine test.
package storagetest

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/weftflow/weft/storage"
)

// Run runs the conformance suite against the stores open returns, each test
// as a subtest of t, configured by opts.
//
// open must return a new, empty store, independent of every other store it
// returned, and arrange with t.Cleanup for its resources to be released. The
// suite calls open many times (hundreds, in the state-machine test, all with
// the t of that test) and closes stores itself when it is done with them, so
// Close will usually be called twice, as the contract allows. Subtests run
// one after another, never in parallel, but a subtest may use its store from
// many goroutines.
func Run(t *testing.T, open func(t *testing.T) storage.Store, opts ...Option) {
	t.Helper()
	o := opener{open: open}
	for _, opt := range opts {
		opt(&o)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, o)
		})
	}
}

// An Option configures [Run].
type Option func(*opener)

// WithReopen lets the suite reopen stores. reopen must close s (cleanly, or
// as a crash of the process would leave it: the adapter chooses) and return
// a store over the same data, arranging with t.Cleanup for it to be
// released. s is always a store that open or reopen returned.
//
// With it, the suite checks that everything a store holds, and its due
// index in particular, is the same after reopening, and the state-machine
// test reopens stores at random moments. Without it, those tests check the
// same things without reopening.
func WithReopen(reopen func(t *testing.T, s storage.Store) storage.Store) Option {
	return func(o *opener) { o.reopen = reopen }
}

// WithShared lets the suite open a second store over the data of a first,
// as a second process opens the same database. share must return a new
// store, open on the same data as first (which open returned), and arrange
// with t.Cleanup for it to be released; closing either must leave the
// other usable until the test ends.
//
// With it, the suite checks claims across the two stores: they race for
// the same work, and each sees the other's leases and fenced writes. An
// adapter that cannot open its data twice (bbolt locks its file) omits it
// and those tests are skipped.
func WithShared(share func(t *testing.T, first storage.Store) storage.Store) Option {
	return func(o *opener) { o.share = share }
}

// opener opens stores for a test.
type opener struct {
	open   func(t *testing.T) storage.Store
	reopen func(t *testing.T, s storage.Store) storage.Store // nil if the adapter gave none
	share  func(t *testing.T, first storage.Store) storage.Store
}

// again reopens s if the adapter can, and otherwise returns s.
func (o opener) again(t *testing.T, s storage.Store) storage.Store {
	t.Helper()
	if o.reopen == nil {
		return s
	}
	r := o.reopen(t, s)
	if r == nil {
		t.Fatal("reopen returned a nil store")
	}
	return r
}

// forCheck opens a store for one check of a rapid property run by t, and
// closes it when the check ends.
func (o opener) forCheck(t *testing.T, rt *rapid.T) storage.Store {
	s := o.open(t)
	rt.Cleanup(func() {
		if err := s.Close(); err != nil {
			rt.Errorf("Close: %v", err)
		}
	})
	return s
}

// fresh opens a store, checks that it is empty, and closes it when t ends.
func (o opener) fresh(t *testing.T) storage.Store {
	t.Helper()
	s := o.open(t)
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
	{"DueAfterReopen", testDueAfterReopen},
	{"Pages", testPages},
	{"Reopen", testReopen},
	{"List", testList},
	{"Find", testFind},
	{"FindBytes", testFindBytes},
	{"FindMany", testFindMany},
	{"FindWhileChanging", testFindWhileChanging},
	{"FindInvalid", testFindInvalid},
	{"Delete", testDelete},
	{"DeleteRace", testDeleteRace},
	{"Tombstone", testTombstone},
	{"TombstoneRace", testTombstoneRace},
	{"NoAliasing", testNoAliasing},
	{"ContextCanceled", testContextCanceled},
	{"ClaimOnlyWork", testClaimOnlyWork},
	{"ClaimOrderAndLimit", testClaimOrderAndLimit},
	{"ClaimExclusive", testClaimExclusive},
	{"LeaseExpiry", testLeaseExpiry},
	{"TokensGrow", testTokensGrow},
	{"Fenced", testFenced},
	{"FencedCommitErrors", testFencedCommitErrors},
	{"RetryState", testRetryState},
	{"NotBefore", testNotBefore},
	{"DeadLetters", testDeadLetters},
	{"ReleaseBatch", testReleaseBatch},
	{"AckRelease", testAckRelease},
	{"PendingWithDead", testPendingWithDead},
	{"NextWork", testNextWork},
	{"ClaimsInvalid", testClaimsInvalid},
	{"ClaimsAfterReopen", testClaimsAfterReopen},
	{"ClaimsReadLate", testClaimsReadLate},
	{"ConcurrentClaims", testConcurrentClaims},
	{"SharedClaims", testSharedClaims},
	{"SharedTakeover", testSharedTakeover},
	{"Locker", testLocker},
	{"LockerClose", testLockerClose},
	{"Close", testClose},
	{"ConcurrentSameVersion", testConcurrentSameVersion},
	{"ConcurrentRetryLoops", testConcurrentRetryLoops},
	{"ConcurrentInstances", testConcurrentInstances},
	{"ConcurrentOutbox", testConcurrentOutbox},
	{"Model", testModel},
	{"JournalAppend", testJournalAppend},
	{"JournalFailedWrites", testJournalFailedWrites},
	{"JournalSeq", testJournalSeq},
	{"JournalRead", testJournalRead},
	{"JournalKeep", testJournalKeep},
	{"JournalModel", testJournalModel},
	{"JournalBig", testJournalBig},
	{"JournalIDsAreBytes", testJournalIDsAreBytes},
	{"JournalReopen", testJournalReopen},
	{"JournalShared", testJournalShared},
	{"JournalDeleted", testJournalDeleted},
}
