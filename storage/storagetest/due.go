package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
)

func testDueIndex(t *testing.T, open opener) {
	s := open.fresh(t)
	if got := mustDue(t, s, farFuture, 10); len(got) != 0 {
		t.Fatalf("DueBefore in an empty store = %v", got)
	}

	sec := func(n int) time.Time { return at(time.Duration(n) * time.Second) }
	mustCreate(t, s, storage.Instance{ID: "a", Due: sec(10)})
	mustCreate(t, s, storage.Instance{ID: "d", Due: sec(5)})
	mustCreate(t, s, storage.Instance{ID: "c"}) // never due
	mustCreate(t, s, storage.Instance{ID: "b", Due: sec(5)})
	mustCreate(t, s, storage.Instance{ID: "e", Due: sec(20)})
	mustCreate(t, s, storage.Instance{ID: "f", Due: sec(2).Add(999 * time.Nanosecond)}) // kept as sec(2)

	check := func(when string, before time.Time, limit int, want ...storage.Due) {
		t.Helper()
		if d := diff(want, mustDue(t, s, before, limit)); d != "" {
			t.Errorf("due index %s: DueBefore(%v, %d) (-want +got):\n%s", when, before, limit, d)
		}
	}
	a, b, c, d, e, f := "a", "b", "c", "d", "e", "f"
	due := func(id string, n int) storage.Due { return storage.Due{ID: id, At: sec(n)} }

	check("before anything is due", sec(1), all)
	check("just before a due time", sec(2).Add(-time.Microsecond), all)
	check("at a truncated due time", sec(2), all, due(f, 2))
	check("at a tie", sec(5), all, due(f, 2), due(b, 5), due(d, 5))
	check("between due times", sec(7), all, due(f, 2), due(b, 5), due(d, 5))
	check("in another time zone", sec(5).In(time.FixedZone("UTC-7", -7*3600)), all, due(f, 2), due(b, 5), due(d, 5))
	check("with nanoseconds", sec(10).Add(time.Nanosecond), all, due(f, 2), due(b, 5), due(d, 5), due(a, 10))
	check("everything", farFuture, all, due(f, 2), due(b, 5), due(d, 5), due(a, 10), due(e, 20))
	check("limit 1", farFuture, 1, due(f, 2))
	check("limit inside a tie", farFuture, 2, due(f, 2), due(b, 5))
	check("limit after a tie", sec(10), 3, due(f, 2), due(b, 5), due(d, 5))
	check("zero time", time.Time{}, all)
	if got := mustLoad(t, s, f).Due; !got.Equal(sec(2)) {
		t.Errorf("Load(f).Due = %v, want %v", got, sec(2))
	}

	// Move earlier, move later, clear, set from zero, keep.
	mustCommit(t, s, 1, storage.Instance{ID: a, Due: sec(1)})
	check("after moving a earlier", farFuture, all, due(a, 1), due(f, 2), due(b, 5), due(d, 5), due(e, 20))
	mustCommit(t, s, 1, storage.Instance{ID: b, Due: sec(30)})
	check("after moving b later", farFuture, all, due(a, 1), due(f, 2), due(d, 5), due(e, 20), due(b, 30))
	mustCommit(t, s, 1, storage.Instance{ID: d})
	check("after clearing d", farFuture, all, due(a, 1), due(f, 2), due(e, 20), due(b, 30))
	mustCommit(t, s, 1, storage.Instance{ID: c, Due: sec(20)})
	check("after setting c", farFuture, all, due(a, 1), due(f, 2), due(c, 20), due(e, 20), due(b, 30))
	mustCommit(t, s, 2, storage.Instance{ID: a, Due: sec(1), Data: []byte("same due")})
	check("after keeping a's due", farFuture, all, due(a, 1), due(f, 2), due(c, 20), due(e, 20), due(b, 30))
	mustCommit(t, s, 1, storage.Instance{ID: f, Due: sec(2).Add(500 * time.Nanosecond)})
	check("after moving f within a microsecond", farFuture, all, due(a, 1), due(f, 2), due(c, 20), due(e, 20), due(b, 30))
	check("after the changes, up to 20s", sec(20), all, due(a, 1), due(f, 2), due(c, 20), due(e, 20))
	for _, id := range []string{a, b, c, d, e, f} {
		inst := mustLoad(t, s, id)
		mustCommit(t, s, inst.Version, storage.Instance{ID: id})
	}
	check("after clearing everything", farFuture, all)
}

func testDueLimit(t *testing.T, open opener) {
	s := open.fresh(t)
	const n = 40
	var want []storage.Due
	for i := range n {
		id := fmt.Sprintf("i%02d", (i*17)%n) // creation order differs from ID order
		inst := storage.Instance{ID: id}
		if i%4 != 0 {
			inst.Due = at(time.Duration(i%7) * time.Minute)
			want = append(want, storage.Due{ID: id, At: inst.Due})
		}
		mustCreate(t, s, inst)
	}
	slices.SortFunc(want, func(x, y storage.Due) int {
		if c := x.At.Compare(y.At); c != 0 {
			return c
		}
		return cmpString(x.ID, y.ID)
	})
	for _, limit := range []int{1, 2, 5, 13, len(want), len(want) + 1} {
		if d := diff(want[:min(limit, len(want))], mustDue(t, s, farFuture, limit)); d != "" {
			t.Errorf("due index: DueBefore(far future, %d) (-want +got):\n%s", limit, d)
		}
	}
	cut := at(3 * time.Minute)
	var upTo []storage.Due
	for _, d := range want {
		if !d.At.After(cut) {
			upTo = append(upTo, d)
		}
	}
	for _, limit := range []int{1, 4, len(upTo), all} {
		if d := diff(upTo[:min(limit, len(upTo))], mustDue(t, s, cut, limit)); d != "" {
			t.Errorf("due index: DueBefore(+3m, %d) (-want +got):\n%s", limit, d)
		}
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
