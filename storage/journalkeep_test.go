package storage_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/weftflow/weft/storage"
)

var t0 = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

// journal builds entries with Seq from, from+1, ..., Time t0 plus Seq
// seconds, and a Base on the given Seqs.
func journal(from, to uint64, bases ...uint64) []storage.JournalEntry {
	var out []storage.JournalEntry
	for seq := from; seq <= to; seq++ {
		e := storage.JournalEntry{Seq: seq, Time: t0.Add(time.Duration(seq) * time.Second)}
		for _, b := range bases {
			if b == seq {
				e.Base = []byte("base")
			}
		}
		out = append(out, e)
	}
	return out
}

func cut(keep storage.JournalKeep, es []storage.JournalEntry) int {
	return keep.Cut(len(es), func(i int) (time.Time, bool) { return es[i].Time, es[i].Start() })
}

// literalCut is JournalKeep's rule as its documentation states it: the
// latest starting point that has only unwanted entries before it.
func literalCut(keep storage.JournalKeep, es []storage.JournalEntry) int {
	n := len(es)
	wanted := func(i int) bool {
		return i == n-1 || i >= n-keep.Last || (!keep.Since.IsZero() && !es[i].Time.Before(keep.Since))
	}
	best := 0
	for p := range es {
		ok := es[p].Start()
		for i := range p {
			ok = ok && !wanted(i)
		}
		if ok {
			best = p
		}
	}
	return best
}

func TestJournalKeepCut(t *testing.T) {
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	for _, c := range []struct {
		keep    storage.JournalKeep
		entries []storage.JournalEntry
		want    int
	}{
		{storage.JournalKeep{}, nil, 0},
		{storage.JournalKeep{}, journal(1, 1), 0},
		{storage.JournalKeep{}, journal(1, 6), 0},
		{storage.JournalKeep{}, journal(1, 6, 5), 4},
		{storage.JournalKeep{}, journal(1, 6, 6), 5},
		{storage.JournalKeep{Last: 2}, journal(1, 6, 3, 5), 4},
		{storage.JournalKeep{Last: 3}, journal(1, 6, 3, 5), 2},
		{storage.JournalKeep{Last: 6}, journal(1, 6, 3, 5), 0},
		{storage.JournalKeep{Since: sec(4)}, journal(1, 6, 3, 5), 2},
		{storage.JournalKeep{Since: sec(4).Add(time.Nanosecond)}, journal(1, 6, 3, 5), 4},
		{storage.JournalKeep{Last: 1, Since: sec(3)}, journal(1, 6, 3, 5), 2},
		{storage.JournalKeep{}, journal(5, 9), 0},
		{storage.JournalKeep{Last: 1}, journal(5, 9, 8), 3},
	} {
		if got := cut(c.keep, c.entries); got != c.want {
			t.Errorf("Cut(%+v) of %d entries = %d, want %d", c.keep, len(c.entries), got, c.want)
		}
	}
}

// TestJournalKeepCutProperty compares Cut with the rule as documented,
// on random journals whose times need not follow their order.
func TestJournalKeepCutProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		first := rapid.Uint64Range(1, 3).Draw(t, "first seq")
		n := rapid.IntRange(0, 12).Draw(t, "entries")
		es := make([]storage.JournalEntry, n)
		for i := range es {
			es[i] = storage.JournalEntry{Seq: first + uint64(i), Time: t0.Add(time.Duration(rapid.IntRange(0, 15).Draw(t, "time")) * time.Second)}
			if rapid.IntRange(0, 3).Draw(t, "base") == 0 {
				es[i].Base = []byte{1}
			}
		}
		keep := storage.JournalKeep{Last: rapid.IntRange(0, 14).Draw(t, "last")}
		if rapid.Bool().Draw(t, "since") {
			keep.Since = t0.Add(time.Duration(rapid.IntRange(0, 16).Draw(t, "since")) * time.Second)
		}
		if got, want := cut(keep, es), literalCut(keep, es); got != want {
			t.Fatalf("Cut(%+v) = %d, the documented rule says %d", keep, got, want)
		}
	})
}

func TestJournalValidate(t *testing.T) {
	ok := storage.JournalEntry{Seq: 1, Time: t0}
	for _, c := range []struct {
		name string
		w    storage.JournalWrite
		bad  bool
	}{
		{"valid", storage.JournalWrite{Entry: ok}, false},
		{"zero time", storage.JournalWrite{Entry: storage.JournalEntry{Seq: 3}}, false},
		{"largest seq", storage.JournalWrite{Entry: storage.JournalEntry{Seq: storage.MaxJournalSeq}}, false},
		{"keep", storage.JournalWrite{Entry: ok, Keep: &storage.JournalKeep{Last: 3, Since: t0}}, false},
		{"seq 0", storage.JournalWrite{Entry: storage.JournalEntry{Seq: 0}}, true},
		{"seq too large", storage.JournalWrite{Entry: storage.JournalEntry{Seq: storage.MaxJournalSeq + 1}}, true},
		{"time before the epoch", storage.JournalWrite{Entry: storage.JournalEntry{Seq: 1, Time: time.Unix(-1, 0)}}, true},
		{"time in the year 10000", storage.JournalWrite{Entry: storage.JournalEntry{Seq: 1, Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}, true},
		{"negative last", storage.JournalWrite{Entry: ok, Keep: &storage.JournalKeep{Last: -1}}, true},
		{"since out of range", storage.JournalWrite{Entry: ok, Keep: &storage.JournalKeep{Since: time.Unix(-1, 0)}}, true},
	} {
		err := storage.Instance{ID: "a", Journal: &c.w}.Validate()
		if c.bad != errors.Is(err, storage.ErrInvalid) || (!c.bad && err != nil) {
			t.Errorf("%s: Instance.Validate = %v, want invalid: %v", c.name, err, c.bad)
		}
		if c.bad {
			if err := (storage.Commit{Instance: storage.Instance{ID: "a", Journal: &c.w}}).Validate(); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("%s: Commit.Validate = %v, want ErrInvalid", c.name, err)
			}
		}
	}
}

// Cut says how many of a journal's oldest entries a JournalKeep removes:
// here Seq 1 to 6, one a second, with a Base on entries 3 and 5.
func ExampleJournalKeep_Cut() {
	starts := map[int]bool{0: true, 2: true, 4: true} // Seq 1, and the bases
	entry := func(i int) (time.Time, bool) { return t0.Add(time.Duration(i) * time.Second), starts[i] }
	for _, c := range []struct {
		name string
		keep storage.JournalKeep
	}{
		{"the newest", storage.JournalKeep{}},
		{"the last 3", storage.JournalKeep{Last: 3}},
		{"the last 6", storage.JournalKeep{Last: 6}},
		{"those of the last 2.5 seconds", storage.JournalKeep{Since: t0.Add(2500 * time.Millisecond)}},
	} {
		fmt.Printf("keep %s: remove %d\n", c.name, c.keep.Cut(6, entry))
	}
	// Output:
	// keep the newest: remove 4
	// keep the last 3: remove 2
	// keep the last 6: remove 0
	// keep those of the last 2.5 seconds: remove 2
}
