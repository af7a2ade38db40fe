package storagetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
)

// dueBook is what a test committed: the Due of every instance, normalised,
// and the version to commit on top of.
type dueBook struct {
	due     map[string]time.Time
	version map[string]uint64
}

func newDueBook() *dueBook {
	return &dueBook{due: map[string]time.Time{}, version: map[string]uint64{}}
}

// write creates id or commits to it with the given Due.
func (b *dueBook) write(t *testing.T, s storage.Store, id string, due time.Time) {
	t.Helper()
	inst := storage.Instance{ID: id, Due: due, Data: []byte(fmt.Sprintf("v%d", b.version[id]+1))}
	if v, ok := b.version[id]; ok {
		mustCommit(t, s, v, inst)
	} else {
		mustCreate(t, s, inst)
	}
	b.version[id]++
	b.due[id] = storage.NormalizeDue(due)
}

// want returns the entries of the due index at or before before, in order.
func (b *dueBook) want(before time.Time) []storage.Due {
	var out []storage.Due
	for id, at := range b.due {
		if !at.IsZero() && !at.After(before) {
			out = append(out, storage.Due{ID: id, At: at})
		}
	}
	slices.SortFunc(out, func(x, y storage.Due) int {
		if c := x.At.Compare(y.At); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out
}

// check compares s with what was committed: Load gives every instance's
// Due, and the due index gives every instance with a Due, at its time,
// whatever time the query is for (every due time, just before each, and
// the far future).
func (b *dueBook) check(t *testing.T, s storage.Store, when string) {
	t.Helper()
	ids := make([]string, 0, len(b.due))
	for id := range b.due {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if got, want := mustLoad(t, s, id).Due, b.due[id]; !got.Equal(want) {
			t.Errorf("%s: Instance.Due of %q = %v, committed %v", when, id, got, want)
		}
	}
	if d := diff(b.want(farFuture), mustDue(t, s, farFuture, all)); d != "" {
		t.Fatalf("%s: the due index does not hold what was committed: DueBefore(far future) (-committed +got):\n%s", when, d)
	}
	times := map[time.Time]bool{}
	for _, at := range b.due {
		if !at.IsZero() {
			times[at] = true
		}
	}
	bad := 0
	for at := range times {
		for _, before := range []time.Time{at, at.Add(-time.Microsecond)} {
			if d := diff(b.want(before), mustDue(t, s, before, all)); d != "" && bad < 5 {
				bad++
				t.Errorf("%s: the due index is wrong at %v: DueBefore (-committed +got):\n%s", when, before, d)
			}
		}
	}
}

// testDueAfterReopen commits instances with due times, moves, clears and
// sets them, and checks after every reopen that the due index returns each
// instance at the time committed and that Load agrees.
func testDueAfterReopen(t *testing.T, open opener) {
	s := open.fresh(t)
	b := newDueBook()
	sec := func(n int) time.Time { return at(time.Duration(n) * time.Second) }

	// Enough instances that a store keeping its index in pages needs
	// several, with ties, sub-microsecond times, extremes and no Due.
	const n = 300
	for i := range n {
		id := fmt.Sprintf("i%03d", (i*37)%n)
		var due time.Time
		switch i % 6 {
		case 0: // never due
		case 1:
			due = sec(i % 17) // ties
		case 2:
			due = sec(i).Add(777 * time.Nanosecond) // truncated
		case 3:
			due = time.Unix(0, 0).Add(time.Duration(i) * time.Microsecond) // near the epoch
		case 4:
			due = time.Date(9000, time.January, 1, 0, 0, i, 0, time.UTC) // far ahead
		default:
			due = sec(-i).In(time.FixedZone("UTC-5", -5*3600))
		}
		b.write(t, s, id, due)
	}
	s = open.again(t, s)
	b.check(t, s, "after creating and reopening")

	// Move some earlier and some later, clear some, set some from zero,
	// keep some while changing the data.
	for i := range n {
		id := fmt.Sprintf("i%03d", i)
		old := b.due[id]
		switch i % 5 {
		case 0:
			b.write(t, s, id, time.Time{})
		case 1:
			b.write(t, s, id, sec(1000+i))
		case 2:
			b.write(t, s, id, sec(-1000-i))
		case 3:
			b.write(t, s, id, old)
		}
	}
	s = open.again(t, s)
	b.check(t, s, "after moving due times and reopening")

	// Reopening with no change in between changes nothing.
	s = open.again(t, s)
	b.check(t, s, "after reopening twice")

	// Clear everything: the index must be empty, not hold stale entries.
	for id := range b.due {
		b.write(t, s, id, time.Time{})
	}
	s = open.again(t, s)
	b.check(t, s, "after clearing every due time and reopening")
}

// testReopen checks that a reopened store holds exactly what the store
// held: records, versions, the outbox in order, the due index; and that it
// goes on from there (versions, outbox order, effect IDs).
func testReopen(t *testing.T, open opener) {
	if open.reopen == nil {
		t.Skip("the adapter gave no reopen hook (storagetest.WithReopen)")
	}
	s := open.fresh(t)
	mustCreate(t, s, storage.Instance{ID: "a", Workflow: "w", Status: "running", Due: at(time.Second), Data: []byte("a1")},
		effects("a", "a/1", "a/2")...)
	mustCreate(t, s, storage.Instance{ID: "b", Data: []byte{}}, effects("b", "b/1")...)
	mustCommit(t, s, 1, storage.Instance{ID: "a", Workflow: "w", Status: "waiting", Due: at(time.Minute), Data: []byte("a2")},
		effects("a", "a/3")...)
	mustAck(t, s, "a/2")
	before := snapshot(t, s)

	s = open.again(t, s)
	if d := diff(before, snapshot(t, s)); d != "" {
		t.Fatalf("after reopening (-before +after):\n%s", d)
	}
	// Versions go on, an acknowledged ID may be used again, new effects
	// come after the old ones, a pending ID is still taken.
	mustCommit(t, s, 2, storage.Instance{ID: "a", Data: []byte("a3")}, effects("a", "a/2")...)
	wantErr(t, "Commit with an effect ID pending before the reopen",
		func() error {
			_, err := s.Commit(t.Context(), storage.Commit{Instance: storage.Instance{ID: "b"}, Expect: 1, Effects: effects("b", "b/1")})
			return err
		}(), storage.ErrExists, "b/1")
	if d := diff([]string{"a/1", "b/1", "a/3", "a/2"}, outboxIDs(mustOutbox(t, s, all))); d != "" {
		t.Errorf("outbox after reopening and committing (-want +got):\n%s", d)
	}
	if got := mustLoad(t, s, "a"); got.Version != 3 || !got.Due.IsZero() {
		t.Errorf("Load(a) after reopening and committing = version %d, Due %v; want 3, no Due", got.Version, got.Due)
	}
}
