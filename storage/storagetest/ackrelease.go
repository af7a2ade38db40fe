package storagetest

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
)

// optional returns s as the optional interface I of the storage
// package, skipping t if s does not implement it.
func optional[I any](t *testing.T, s storage.Store) I {
	t.Helper()
	i, ok := s.(I)
	if !ok {
		t.Skipf("the store does not implement %s", reflect.TypeFor[I]())
	}
	return i
}

// testAckRelease checks [storage.AckReleaser]: AckLeased and Release in
// one write, fenced as each of them is (a stale or forged lease changes
// nothing), touching only the leased instance's effects.
func testAckRelease(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	ar := optional[storage.AckReleaser](t, s)
	ctx := context.Background()
	old, cur := leasedPair(t, s)
	forged := cur
	forged.Token++
	before := snapshot(t, s)
	for _, l := range []storage.Lease{old, forged} {
		wantErr(t, "AckRelease with a stale lease", ar.AckRelease(ctx, l, "a/1"), storage.ErrFenced, `"a"`)
		wantErr(t, "AckRelease of nothing with a stale lease", ar.AckRelease(ctx, l), storage.ErrFenced, `"a"`)
		unchanged(t, s, before, "a fenced AckRelease")
	}
	// The current lease still holds after the refused calls.
	if got := mustPending(t, s, cur); len(got) != 2 {
		t.Fatalf("Pending(current) = %v, want a/1 and a/2", outboxIDs(got))
	}
	// Only the instance's own effects go; unknown IDs are ignored.
	if err := ar.AckRelease(ctx, cur, "a/1", "b/1", "unknown"); err != nil {
		t.Fatalf("AckRelease: %v", err)
	}
	if got := outboxIDs(mustOutbox(t, s, all)); !slices.Equal(got, []string{"a/2", "b/1"}) {
		t.Fatalf("outbox after AckRelease(a/1, b/1) = %v", got)
	}
	// The lease was released with the acknowledgement.
	wantErr(t, "AckLeased after AckRelease", s.AckLeased(ctx, cur, "a/2"), storage.ErrFenced, `"a"`)
	wantErr(t, "Release after AckRelease", s.Release(ctx, cur), storage.ErrFenced, `"a"`)
	wantErr(t, "second AckRelease", ar.AckRelease(ctx, cur, "a/2"), storage.ErrFenced, `"a"`)
	next := mustAcquire(t, s, "a", claimReq("next", now(), time.Hour, 0))
	if next.Token <= cur.Token {
		t.Fatalf("token %d after AckRelease of token %d", next.Token, cur.Token)
	}
	// Without IDs it only releases.
	before = snapshot(t, s)
	if err := ar.AckRelease(ctx, next); err != nil {
		t.Fatalf("AckRelease without IDs: %v", err)
	}
	unchanged(t, s, before, "AckRelease without IDs")
	wantErr(t, "Release after AckRelease without IDs", s.Release(ctx, next), storage.ErrFenced, `"a"`)

	t.Run("Shared", func(t *testing.T) {
		// A lease taken over in another store fences AckRelease.
		s2 := claimsOf(t, open.second(t, s))
		l1 := mustAcquire(t, s, "a", claimReq("p1", now(), time.Hour, 0))
		if err := s.Release(ctx, l1); err != nil {
			t.Fatalf("Release: %v", err)
		}
		l2 := mustAcquire(t, s2, "a", claimReq("p2", now(), time.Hour, 0))
		before := snapshot(t, s2)
		wantErr(t, "AckRelease in the first store with its old lease", ar.AckRelease(ctx, l1, "a/2"), storage.ErrFenced, `"a"`)
		unchanged(t, s2, before, "a fenced AckRelease in the first store")
		if err := optional[storage.AckReleaser](t, s2).AckRelease(ctx, l2, "a/2"); err != nil {
			t.Fatalf("AckRelease in the second store: %v", err)
		}
		if got := outboxIDs(mustOutbox(t, s, all)); !slices.Equal(got, []string{"b/1"}) {
			t.Fatalf("the first store's outbox after AckRelease in the second = %v", got)
		}
		mustAcquire(t, s, "a", claimReq("p1", now(), time.Hour, 0))
	})
}

// testPendingWithDead checks [storage.PendingWithDead]: Pending's effects,
// fenced as Pending is, and no dead letters reported while there are
// none, then reported for an instance that has one.
func testPendingWithDead(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	pd := optional[storage.PendingWithDead](t, s)
	ctx := context.Background()
	old, l := leasedPair(t, s)
	check := func(what string, wantIDs []string, wantDead bool) {
		t.Helper()
		got, dead, err := pd.PendingWithDead(ctx, l, 10)
		if err != nil {
			t.Fatalf("%s: PendingWithDead: %v", what, err)
		}
		if d := diff(mustPending(t, s, l), got); d != "" {
			t.Fatalf("%s: PendingWithDead's effects differ from Pending's (-Pending +PendingWithDead):\n%s", what, d)
		}
		if ids := outboxIDs(got); !slices.Equal(ids, wantIDs) {
			t.Fatalf("%s: PendingWithDead = %v, want %v", what, ids, wantIDs)
		}
		if dead != wantDead {
			t.Fatalf("%s: PendingWithDead says dead letters %v, want %v", what, dead, wantDead)
		}
	}
	check("no dead letters", []string{"a/1", "a/2"}, false)
	if got, _, err := pd.PendingWithDead(ctx, l, 1); err != nil || !slices.Equal(outboxIDs(got), []string{"a/1"}) {
		t.Fatalf("PendingWithDead(limit 1) = %v, %v", outboxIDs(got), err)
	}
	_, _, err := pd.PendingWithDead(ctx, old, 10)
	wantErr(t, "PendingWithDead with a stale lease", err, storage.ErrFenced, `"a"`)
	if err := s.DeadLetter(ctx, l, "a/1", storage.RetryState{Attempts: 1, NotBefore: farFuture, LastError: "gave up"}); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	check("a dead letter", []string{"a/2"}, true)
	if _, err := s.Requeue(ctx, "a/1"); err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	check("the dead letter requeued", []string{"a/2", "a/1"}, false)
}

// leasedPair creates instance a with effects a/1 and a/2 and instance b
// with b/1, and returns a superseded lease of a and its current one.
func leasedPair(t *testing.T, s storage.Store) (old, cur storage.Lease) {
	t.Helper()
	mustCreate(t, s, storage.Instance{ID: "a"}, effects("a", "a/1", "a/2")...)
	mustCreate(t, s, storage.Instance{ID: "b"}, effects("b", "b/1")...)
	return stale(t, s, "a")
}
