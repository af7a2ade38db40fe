package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
)

// lostWait bounds how long the Locker tests wait for a Lost channel that
// must close: a store may notice a lost lock in the background.
const lostWait = 10 * time.Second

// mustTryLock takes name through lk and fails t unless it got it.
func mustTryLock(t *testing.T, what string, lk storage.Locker, name string) storage.Lock {
	t.Helper()
	l, ok, err := lk.TryLock(context.Background(), name)
	if err != nil || !ok || l == nil {
		t.Fatalf("%s: TryLock(%q) = %v, %v, %v; want a lock", what, name, l, ok, err)
	}
	return l
}

// wantRefused fails t unless TryLock of name through lk says at once that
// another holder has it.
func wantRefused(t *testing.T, what string, lk storage.Locker, name string) {
	t.Helper()
	l, ok, err := lk.TryLock(context.Background(), name)
	if err != nil || ok {
		if ok && l != nil {
			l.Unlock()
		}
		t.Fatalf("%s: TryLock(%q) = ok %v, err %v; want ok false and no error (held elsewhere)", what, name, ok, err)
	}
}

// wantLost fails t unless l's Lost channel closes (within lostWait, which
// only bounds a broken store).
func wantLost(t *testing.T, what string, l storage.Lock) {
	t.Helper()
	select {
	case <-l.Lost():
	case <-time.After(lostWait):
		t.Fatalf("%s: Lost not closed after %v", what, lostWait)
	}
}

// wantHeld fails t if l's Lost channel is closed.
func wantHeld(t *testing.T, what string, l storage.Lock) {
	t.Helper()
	select {
	case <-l.Lost():
		t.Fatalf("%s: Lost is closed, the lock should be held", what)
	default:
	}
}

// testLocker checks [storage.Locker]: one holder at a time per name, across
// the two stores of WithShared if the adapter gave it (else two callers of
// one store), Unlock idempotent and closing Lost, names independent.
func testLocker(t *testing.T, open opener) {
	s := open.fresh(t)
	first := optional[storage.Locker](t, s)
	second := first
	if open.share != nil {
		second = optional[storage.Locker](t, open.second(t, s))
	}

	l1 := mustTryLock(t, "first holder", first, "maintenance")
	wantRefused(t, "second holder while the first holds it", second, "maintenance")
	wantRefused(t, "first store again while it holds it", first, "maintenance")
	other := mustTryLock(t, "another name", second, "retention")
	wantHeld(t, "first holder, after the refusals", l1)

	l1.Unlock()
	wantLost(t, "first holder after Unlock", l1)
	l1.Unlock() // must do nothing

	l2 := mustTryLock(t, "second holder after Unlock", second, "maintenance")
	wantRefused(t, "first holder while the second holds it", first, "maintenance")
	wantHeld(t, "second holder after the first's second Unlock", l2)
	l2.Unlock()
	wantLost(t, "second holder after Unlock", l2)
	other.Unlock()
	wantLost(t, "other name after Unlock", other)
	mustTryLock(t, "first store after both unlocked", first, "maintenance").Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := first.TryLock(ctx, "maintenance"); err == nil {
		t.Errorf("TryLock with a canceled context succeeded")
	}
}

// testLockerClose checks that closing a store releases its locks: Lost
// closes, and the other store (with WithShared) gets the lock.
func testLockerClose(t *testing.T, open opener) {
	s := open.fresh(t)
	first := optional[storage.Locker](t, s)
	holder, holderLocker := s, first
	if open.share != nil {
		holder = open.second(t, s)
		holderLocker = optional[storage.Locker](t, holder)
	}
	l := mustTryLock(t, "holder", holderLocker, "maintenance")
	if err := holder.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wantLost(t, "lock of a closed store", l)
	l.Unlock() // after Close, still safe
	if _, _, err := holderLocker.TryLock(context.Background(), "maintenance"); err == nil {
		t.Errorf("TryLock on a closed store succeeded")
	}
	if open.share != nil {
		mustTryLock(t, "other store after the holder closed", first, "maintenance").Unlock()
	}
}
