package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/weftflow/weft/storage"
)

// Journal tests ([storage.Journal]): entries appended by Create and Commit
// in the same write, never by a failed one; Seq only grows; ReadJournal's
// range and limit; trimming by the rule of [storage.JournalKeep], checked
// against a model of it; big payloads, byte IDs, reopening and a second
// store over the same data.

// entry returns a journal entry with Seq seq, Time at(seq seconds) and
// Data "d<seq>".
func entry(seq uint64) storage.JournalEntry {
	return storage.JournalEntry{Seq: seq, Time: at(time.Duration(seq) * time.Second), Data: fmt.Appendf(nil, "d%d", seq)}
}

// withBase returns e with a Base.
func withBase(e storage.JournalEntry) storage.JournalEntry {
	e.Base = fmt.Appendf(nil, "base before %d", e.Seq)
	return e
}

// write returns a JournalWrite of e with keep.
func write(e storage.JournalEntry, keep *storage.JournalKeep) *storage.JournalWrite {
	return &storage.JournalWrite{Entry: e, Keep: keep}
}

// storedEntries returns entries as a store keeps them: Time normalized.
func storedEntries(es ...storage.JournalEntry) []storage.JournalEntry {
	out := make([]storage.JournalEntry, len(es))
	for i, e := range es {
		e.Time = storage.NormalizeDue(e.Time)
		out[i] = e
	}
	return out
}

func mustReadJournal(t tb, s storage.Store, id string, from uint64, limit int) []storage.JournalEntry {
	t.Helper()
	got, err := s.ReadJournal(context.Background(), id, from, limit)
	if err != nil {
		t.Fatalf("ReadJournal(%q, %d, %d): %v", id, from, limit, err)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("ReadJournal(%q, %d, %d): entry %d has Seq %d after %d: entries must come in ascending Seq order",
				id, from, limit, i, got[i].Seq, got[i-1].Seq)
		}
	}
	return got
}

// journalOf reads the whole journal of instance id.
func journalOf(t tb, s storage.Store, id string) []storage.JournalEntry {
	t.Helper()
	return mustReadJournal(t, s, id, 0, 0)
}

func mustTrimJournal(t tb, s storage.Store, id string, keep storage.JournalKeep) int {
	t.Helper()
	n, err := s.TrimJournal(context.Background(), id, keep)
	if err != nil {
		t.Fatalf("TrimJournal(%q, %+v): %v", id, keep, err)
	}
	return n
}

// seqs returns the Seq of every entry.
func seqs(es []storage.JournalEntry) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

// wantJournal fails t unless instance id's journal holds want.
func wantJournal(t tb, s storage.Store, id, when string, want []storage.JournalEntry) {
	t.Helper()
	if d := diff(want, journalOf(t, s, id)); d != "" {
		t.Errorf("%s: journal of %q (-want +got):\n%s", when, id, d)
	}
}

// journals reads the journal of every instance id.
func journals(t tb, s storage.Store, ids ...string) map[string][]storage.JournalEntry {
	t.Helper()
	out := make(map[string][]storage.JournalEntry, len(ids))
	for _, id := range ids {
		out[id] = journalOf(t, s, id)
	}
	return out
}

// journalCalls returns one call of each journal method, for the Close and
// context tests.
func journalCalls(s storage.Store) []opCase {
	return []opCase{
		{"Commit with a journal entry", func(ctx context.Context) error {
			_, err := s.Commit(ctx, storage.Commit{
				Instance: storage.Instance{ID: "a", Data: []byte("changed"), Journal: write(entry(2), &storage.JournalKeep{})},
				Expect:   1,
			})
			return err
		}},
		{"ReadJournal", func(ctx context.Context) error {
			_, err := s.ReadJournal(ctx, "a", 0, 10)
			return err
		}},
		{"TrimJournal", func(ctx context.Context) error {
			_, err := s.TrimJournal(ctx, "a", storage.JournalKeep{})
			return err
		}},
	}
}

// testJournalAppend: Create and Commit append their entry, Time kept at
// microsecond precision in UTC; a write without one appends nothing; Load
// and List never return Instance.Journal; entries are copied in and out.
func testJournalAppend(t *testing.T, open opener) {
	s := open.fresh(t)
	e1 := storage.JournalEntry{Seq: 1, Time: at(1500 * time.Nanosecond).In(time.FixedZone("UTC+3", 3*3600)), Data: []byte("started")}
	inst := storage.Instance{ID: "a", Workflow: "w", Data: []byte("a1"), Journal: write(e1, nil)}
	mustCreate(t, s, inst)
	want := storedEntries(e1)
	want[0].Data = []byte("started")
	e1.Data[0] = 'X' // the store copied it
	wantJournal(t, s, "a", "after Create", want)
	if got := want[0].Time; got.Location() != time.UTC || got.Nanosecond() != 1000 {
		t.Fatalf("test bug: normalized time %v", got)
	}
	if got := journalOf(t, s, "a"); len(got) == 1 && got[0].Time.Location() != time.UTC {
		t.Errorf("journal entry Time %v is not in UTC", got[0].Time)
	}

	// A write without a journal entry appends nothing.
	mustCommit(t, s, 1, storage.Instance{ID: "a", Data: []byte("a2")})
	wantJournal(t, s, "a", "after a Commit without a journal entry", want)

	// Gaps are allowed; a Base is kept with its entry.
	e4 := withBase(entry(4))
	mustCommit(t, s, 2, storage.Instance{ID: "a", Data: []byte("a3"), Journal: write(e4, nil)}, effects("a", "a/1")...)
	e5 := entry(5)
	e5.Data = nil // an entry may be empty
	mustCommit(t, s, 3, storage.Instance{ID: "a", Data: []byte("a4"), Journal: write(e5, nil)})
	want = append(want, storedEntries(e4, e5)...)
	wantJournal(t, s, "a", "after two Commits with journal entries", want)

	// The journal is not part of the record.
	got := mustLoad(t, s, "a")
	if got.Journal != nil {
		t.Errorf("Load returned Instance.Journal %+v, want nil", got.Journal)
	}
	if got.Version != 4 || string(got.Data) != "a4" {
		t.Errorf("Load = version %d, data %q; want 4, a4", got.Version, got.Data)
	}
	for _, inst := range mustList(t, s, "", all) {
		if inst.Journal != nil {
			t.Errorf("List returned Instance.Journal %+v for %q, want nil", inst.Journal, inst.ID)
		}
	}

	// Results are copies.
	read := journalOf(t, s, "a")
	for _, e := range read {
		for i := range e.Data {
			e.Data[i] = 'Z'
		}
		for i := range e.Base {
			e.Base[i] = 'Z'
		}
	}
	wantJournal(t, s, "a", "after changing the bytes ReadJournal returned", want)

	// Instances without a journal, and missing ones, have an empty one.
	mustCreate(t, s, storage.Instance{ID: "b"})
	for _, id := range []string{"b", "missing", "a\x00"} {
		if got := journalOf(t, s, id); len(got) != 0 {
			t.Errorf("ReadJournal(%q) = %d entries, want none", id, len(got))
		}
		if n := mustTrimJournal(t, s, id, storage.JournalKeep{}); n != 0 {
			t.Errorf("TrimJournal(%q) removed %d entries of an empty journal", id, n)
		}
	}
	wantJournal(t, s, "a", "after reading and trimming other instances", want)
}

// testJournalFailedWrites: a write that fails (instance taken or missing,
// version conflict, effect ID taken, fenced, invalid) appends nothing, to
// the instance's journal or any other.
func testJournalFailedWrites(t *testing.T, open opener) {
	s := open.fresh(t)
	ctx := context.Background()
	mustCreate(t, s, storage.Instance{ID: "a", Data: []byte("a1"), Journal: write(entry(1), nil)}, effects("a", "a/1")...)
	mustCommit(t, s, 1, storage.Instance{ID: "a", Data: []byte("a2"), Journal: write(entry(2), nil)})
	old, cur := stale(t, s, "a")
	ids := []string{"a", "b", "missing"}
	before := snapshot(t, s)
	journalsBefore := journals(t, s, ids...)
	trimAll := &storage.JournalKeep{}
	next := func() *storage.JournalWrite { return write(withBase(entry(3)), trimAll) }

	for _, c := range []struct {
		name string
		op   func() error
		want error
	}{
		{"Create of a taken instance ID", func() error {
			_, err := s.Create(ctx, storage.Instance{ID: "a", Journal: next()}, nil)
			return err
		}, storage.ErrExists},
		{"Create with a taken effect ID", func() error {
			_, err := s.Create(ctx, storage.Instance{ID: "b", Journal: write(entry(1), nil)}, effects("b", "a/1"))
			return err
		}, storage.ErrExists},
		{"Commit of a missing instance", func() error {
			_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "missing", Journal: write(entry(1), nil)}, Expect: 1})
			return err
		}, storage.ErrNotFound},
		{"Commit on a stale version", func() error {
			_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Journal: next()}, Expect: 1})
			return err
		}, storage.ErrConflict},
		{"Commit with a taken effect ID", func() error {
			_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Journal: next()}, Expect: 2, Effects: effects("a", "a/1")})
			return err
		}, storage.ErrExists},
		{"Commit with a stale lease", func() error {
			_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Journal: next()}, Expect: 2, Lease: &old})
			return err
		}, storage.ErrFenced},
		{"Commit with a stale lease and version", func() error {
			_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Journal: next()}, Expect: 1, Lease: &old})
			return err
		}, storage.ErrFenced},
		{"Commit with Seq 0", func() error {
			_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Journal: write(storage.JournalEntry{Seq: 0}, nil)}, Expect: 2, Lease: &cur})
			return err
		}, storage.ErrInvalid},
		{"Create with Seq beyond MaxJournalSeq", func() error {
			_, err := s.Create(ctx, storage.Instance{ID: "b", Journal: write(storage.JournalEntry{Seq: storage.MaxJournalSeq + 1}, nil)}, nil)
			return err
		}, storage.ErrInvalid},
		{"Commit with an entry Time beyond the year 10000", func() error {
			e := entry(3)
			e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
			_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Journal: write(e, nil)}, Expect: 2})
			return err
		}, storage.ErrInvalid},
		{"Commit with a negative Keep.Last", func() error {
			_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Journal: write(entry(3), &storage.JournalKeep{Last: -1})}, Expect: 2})
			return err
		}, storage.ErrInvalid},
		{"Commit with a Keep.Since before the epoch", func() error {
			keep := &storage.JournalKeep{Since: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)}
			_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Journal: write(entry(3), keep)}, Expect: 2})
			return err
		}, storage.ErrInvalid},
		{"TrimJournal with a negative Last", func() error {
			_, err := s.TrimJournal(ctx, "a", storage.JournalKeep{Last: -1})
			return err
		}, storage.ErrInvalid},
	} {
		wantErr(t, c.name, c.op(), c.want, "")
		unchanged(t, s, before, c.name)
		if d := diff(journalsBefore, journals(t, s, ids...)); d != "" {
			t.Errorf("%s: a failed write changed a journal (-before +after):\n%s", c.name, d)
		}
	}

	// The current lease commits, and trims.
	v, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Journal: next()}, Expect: 2, Lease: &cur})
	if err != nil || v != 3 {
		t.Fatalf("Commit with the current lease = %d, %v; want 3", v, err)
	}
	wantJournal(t, s, "a", "after a fenced Commit that trims", storedEntries(withBase(entry(3))))
}

// testJournalSeq: an entry's Seq must be greater than the last entry's,
// else the write fails with ErrInvalid and writes nothing (record, outbox,
// journal). ErrNotFound, ErrFenced and ErrConflict come first, ErrExists
// after.
func testJournalSeq(t *testing.T, open opener) {
	s := open.fresh(t)
	ctx := context.Background()
	mustCreate(t, s, storage.Instance{ID: "a", Data: []byte("a1"), Journal: write(entry(5), nil)}, effects("a", "a/1")...)
	mustCreate(t, s, storage.Instance{ID: "b", Journal: write(entry(9), nil)})
	before := snapshot(t, s)
	journalsBefore := journals(t, s, "a", "b")
	for _, c := range []struct {
		name   string
		commit storage.Commit
		want   error
	}{
		{"the last entry's Seq", storage.Commit{Instance: storage.Instance{ID: "a", Journal: write(entry(5), nil)}, Expect: 1}, storage.ErrInvalid},
		{"a Seq before it", storage.Commit{Instance: storage.Instance{ID: "a", Journal: write(entry(4), nil)}, Expect: 1}, storage.ErrInvalid},
		{"Seq 1 with a Base", storage.Commit{Instance: storage.Instance{ID: "a", Journal: write(withBase(entry(1)), &storage.JournalKeep{})}, Expect: 1}, storage.ErrInvalid},
		{"a stale Seq and a taken effect ID", storage.Commit{Instance: storage.Instance{ID: "a", Journal: write(entry(5), nil)}, Expect: 1,
			Effects: effects("a", "a/1")}, storage.ErrInvalid},
		{"a stale Seq on a stale version", storage.Commit{Instance: storage.Instance{ID: "a", Journal: write(entry(5), nil)}, Expect: 2}, storage.ErrConflict},
	} {
		_, err := s.Commit(ctx, c.commit)
		wantErr(t, "Commit with "+c.name, err, c.want, "")
		unchanged(t, s, before, "Commit with "+c.name)
		if d := diff(journalsBefore, journals(t, s, "a", "b")); d != "" {
			t.Errorf("Commit with %s changed a journal (-before +after):\n%s", c.name, d)
		}
	}

	// The next Seq, and the largest, go in; then nothing after the largest.
	mustCommit(t, s, 1, storage.Instance{ID: "a", Journal: write(entry(6), nil)})
	mustCommit(t, s, 2, storage.Instance{ID: "a", Journal: write(entry(storage.MaxJournalSeq), nil)})
	_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Journal: write(entry(storage.MaxJournalSeq), nil)}, Expect: 3})
	wantErr(t, "Commit after the largest Seq", err, storage.ErrInvalid, "")
	wantJournal(t, s, "a", "after Seq 5, 6 and the largest", storedEntries(entry(5), entry(6), entry(storage.MaxJournalSeq)))
	// Each instance has its own sequence.
	mustCommit(t, s, 1, storage.Instance{ID: "b", Journal: write(entry(10), nil)})
	wantJournal(t, s, "b", "after Seq 9 and 10", storedEntries(entry(9), entry(10)))

	// Trimming down to the newest entry does not let an older Seq in.
	mustTrimJournal(t, s, "b", storage.JournalKeep{})
	_, err = s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "b", Journal: write(entry(10), nil)}, Expect: 2})
	wantErr(t, "Commit with the newest kept entry's Seq", err, storage.ErrInvalid, "")
}

// testJournalRead: ReadJournal returns the entries from a Seq on, up to a
// limit (all for a limit below 1), in Seq order.
func testJournalRead(t *testing.T, open opener) {
	s := open.fresh(t)
	var all []storage.JournalEntry
	for i := uint64(1); i <= 10; i++ {
		e := entry(2 * i)
		if i%3 == 0 {
			e = withBase(e)
		}
		all = append(all, e)
		inst := storage.Instance{ID: "a", Journal: write(e, nil)}
		if i == 1 {
			mustCreate(t, s, inst)
		} else {
			mustCommit(t, s, i-1, inst)
		}
	}
	all = storedEntries(all...)
	for _, c := range []struct {
		from  uint64
		limit int
		want  []storage.JournalEntry
	}{
		{0, 0, all},
		{0, -1, all},
		{0, 100, all},
		{2, 0, all},
		{3, 0, all[1:]},
		{4, 0, all[1:]},
		{5, 2, all[2:4]},
		{0, 1, all[:1]},
		{20, 0, all[9:]},
		{20, 5, all[9:]},
		{21, 0, nil},
		{1 << 63, 0, nil},
		{^uint64(0), 1, nil},
	} {
		got := mustReadJournal(t, s, "a", c.from, c.limit)
		if d := diff(c.want, got); d != "" {
			t.Errorf("ReadJournal(a, from %d, limit %d) (-want +got):\n%s", c.from, c.limit, d)
		}
	}
}

// keepCase is a journal, a JournalKeep, and the entries it must keep.
type keepCase struct {
	name    string
	entries []storage.JournalEntry
	keep    storage.JournalKeep
	want    []uint64 // Seqs kept
}

// keepCases are worked examples of the trim rule.
func keepCases() []keepCase {
	plain := func(from, to uint64, bases ...uint64) []storage.JournalEntry {
		var out []storage.JournalEntry
		for seq := from; seq <= to; seq++ {
			e := entry(seq)
			if slices.Contains(bases, seq) {
				e = withBase(e)
			}
			out = append(out, e)
		}
		return out
	}
	sec := func(n int) time.Time { return at(time.Duration(n) * time.Second) }
	late := plain(1, 6, 3, 5)
	late[1].Time = sec(100) // clocks go back: entry 2 is the latest by Time
	return []keepCase{
		{"no starting point but Seq 1", plain(1, 6), storage.JournalKeep{Last: 2}, []uint64{1, 2, 3, 4, 5, 6}},
		{"last 2", plain(1, 6, 3, 5), storage.JournalKeep{Last: 2}, []uint64{5, 6}},
		{"last 3 starts at the base before them", plain(1, 6, 3, 5), storage.JournalKeep{Last: 3}, []uint64{3, 4, 5, 6}},
		{"last 0 keeps the newest", plain(1, 6, 3, 5), storage.JournalKeep{}, []uint64{5, 6}},
		{"last 1", plain(1, 6, 3, 5), storage.JournalKeep{Last: 1}, []uint64{5, 6}},
		{"the newest is a base", plain(1, 6, 3, 6), storage.JournalKeep{}, []uint64{6}},
		{"last more than there are", plain(1, 6, 3, 5), storage.JournalKeep{Last: 10}, []uint64{1, 2, 3, 4, 5, 6}},
		{"last exactly all", plain(1, 6, 3, 5), storage.JournalKeep{Last: 6}, []uint64{1, 2, 3, 4, 5, 6}},
		{"since an entry's time", plain(1, 6, 3, 5), storage.JournalKeep{Since: sec(4)}, []uint64{3, 4, 5, 6}},
		{"since just after an entry's time", plain(1, 6, 3, 5), storage.JournalKeep{Since: sec(4).Add(time.Microsecond)}, []uint64{5, 6}},
		{"since within the microsecond after it", plain(1, 6, 3, 5), storage.JournalKeep{Since: sec(4).Add(500 * time.Nanosecond)}, []uint64{5, 6}},
		{"since after every entry", plain(1, 6, 3, 5), storage.JournalKeep{Since: sec(1000)}, []uint64{5, 6}},
		{"since before every entry", plain(1, 6, 3, 5), storage.JournalKeep{Since: sec(-1000)}, []uint64{1, 2, 3, 4, 5, 6}},
		{"last or since, whichever keeps more", plain(1, 6, 3, 5), storage.JournalKeep{Last: 1, Since: sec(3)}, []uint64{3, 4, 5, 6}},
		{"last or since, by last", plain(1, 6, 3, 5), storage.JournalKeep{Last: 4, Since: sec(6)}, []uint64{3, 4, 5, 6}},
		{"an early entry with a late time", late, storage.JournalKeep{Since: sec(50)}, []uint64{1, 2, 3, 4, 5, 6}},
		{"turned on while running, no starting point", plain(5, 9), storage.JournalKeep{}, []uint64{5, 6, 7, 8, 9}},
		{"turned on while running, then a base", plain(5, 9, 8), storage.JournalKeep{Last: 1}, []uint64{8, 9}},
		{"a base on the oldest entry", plain(5, 9, 5), storage.JournalKeep{}, []uint64{5, 6, 7, 8, 9}},
		{"one entry", plain(1, 1), storage.JournalKeep{}, []uint64{1}},
	}
}

// testJournalKeep checks the worked examples of the trim rule through
// TrimJournal and through the Keep of a Commit, and that TrimJournal
// reports what it removed.
func testJournalKeep(t *testing.T, open opener) {
	s := open.fresh(t)
	for i, c := range keepCases() {
		// By TrimJournal.
		id := fmt.Sprintf("trim-%02d", i)
		for k, e := range c.entries {
			inst := storage.Instance{ID: id, Journal: write(e, nil)}
			if k == 0 {
				mustCreate(t, s, inst)
			} else {
				mustCommit(t, s, uint64(k), inst)
			}
		}
		n := mustTrimJournal(t, s, id, c.keep)
		got := seqs(journalOf(t, s, id))
		if d := diff(c.want, got); d != "" {
			t.Errorf("%s: TrimJournal(%+v) kept (-want +got):\n%s", c.name, c.keep, d)
		}
		if want := len(c.entries) - len(c.want); n != want {
			t.Errorf("%s: TrimJournal(%+v) = %d removed, want %d", c.name, c.keep, n, want)
		}
		if n := mustTrimJournal(t, s, id, c.keep); n != 0 {
			t.Errorf("%s: a second TrimJournal(%+v) removed %d more", c.name, c.keep, n)
		}

		// By the Keep of the write that appends the newest entry.
		id = fmt.Sprintf("keep-%02d", i)
		for k, e := range c.entries {
			w := write(e, nil)
			if k == len(c.entries)-1 {
				w.Keep = &c.keep
			}
			inst := storage.Instance{ID: id, Journal: w}
			if k == 0 {
				mustCreate(t, s, inst)
			} else {
				mustCommit(t, s, uint64(k), inst)
			}
		}
		got = seqs(journalOf(t, s, id))
		if d := diff(c.want, got); d != "" {
			t.Errorf("%s: the Keep %+v of a Commit kept (-want +got):\n%s", c.name, c.keep, d)
		}
	}
}

// modelTrim is the trim rule of storage.JournalKeep as its documentation
// states it, written out: it returns the entries kept.
func modelTrim(entries []storage.JournalEntry, keep storage.JournalKeep) []storage.JournalEntry {
	n := len(entries)
	wanted := func(i int) bool {
		return i == n-1 || i >= n-keep.Last || (!keep.Since.IsZero() && !entries[i].Time.Before(keep.Since))
	}
	cut := 0
	for p := range entries {
		start := entries[p].Seq == 1 || len(entries[p].Base) > 0
		onlyUnwanted := true
		for i := range p {
			if wanted(i) {
				onlyUnwanted = false
			}
		}
		if start && onlyUnwanted {
			cut = p
		}
	}
	return entries[cut:]
}

// testJournalModel runs random writes, trims and reads of journals against
// a store and a model (modelTrim for the trim rule), reopening when the
// adapter can, and compares every journal after every step.
func testJournalModel(t *testing.T, open opener) {
	ids := []string{"a", "a\x00", "b"}
	genID := rapid.SampledFrom(ids)
	genKeep := rapid.Custom(func(t *rapid.T) storage.JournalKeep {
		// Last mostly 2 or 3 (Last 1 keeps what Last 0 does: the newest
		// entry), Since mostly unset and bases often (below), so that
		// which entries Last keeps decides the cut: a store off by one
		// there fails within a few checks.
		k := storage.JournalKeep{Last: rapid.SampledFrom([]int{2, 3, 2, 3, 0, 1, 4, 5}).Draw(t, "last")}
		if rapid.IntRange(0, 3).Draw(t, "since") == 0 {
			k.Since = genTime.Draw(t, "since")
		}
		return k
	})
	rapid.Check(t, func(rt *rapid.T) {
		s := open.forCheck(t, rt)
		ctx := context.Background()
		version := map[string]uint64{}               // of each instance created
		model := map[string][]storage.JournalEntry{} // each instance's journal

		genWrite := func(rt *rapid.T, id string) (*storage.JournalWrite, error) {
			if rapid.IntRange(0, 4).Draw(rt, "no entry") == 0 {
				return nil, nil
			}
			last := uint64(0)
			if j := model[id]; len(j) > 0 {
				last = j[len(j)-1].Seq
			}
			// Mostly the next Seq or a gap; sometimes a stale one.
			seq := last + rapid.Uint64Range(1, 3).Draw(rt, "seq step")
			if last > 0 && rapid.IntRange(0, 9).Draw(rt, "stale seq") == 0 {
				seq = rapid.Uint64Range(1, last).Draw(rt, "stale")
			}
			e := storage.JournalEntry{Seq: seq, Time: genTime.Draw(rt, "time"), Data: genData.Draw(rt, "data")}
			if rapid.Bool().Draw(rt, "base") {
				e.Base = rapid.SliceOfN(rapid.Byte(), 1, 8).Draw(rt, "base")
			}
			w := &storage.JournalWrite{Entry: e}
			if rapid.Bool().Draw(rt, "keep") {
				k := genKeep.Draw(rt, "keep")
				w.Keep = &k
			}
			if seq <= last {
				return w, storage.ErrInvalid
			}
			return w, nil
		}
		apply := func(id string, w *storage.JournalWrite) {
			if w == nil {
				return
			}
			j := append(model[id], storedEntries(w.Entry)...)
			if w.Keep != nil {
				j = modelTrim(j, *w.Keep)
			}
			model[id] = slices.Clone(j)
		}

		actions := map[string]func(*rapid.T){
			"create": func(rt *rapid.T) {
				id := genID.Draw(rt, "id")
				w, want := genWrite(rt, id)
				if _, ok := version[id]; ok {
					want = storage.ErrExists
				}
				v, err := s.Create(ctx, storage.Instance{ID: id, Data: genData.Draw(rt, "record"), Journal: w}, nil)
				if want != nil {
					wantErr(rt, "Create", err, want, "")
					return
				}
				if err != nil || v != 1 {
					rt.Fatalf("Create(%q) = %d, %v", id, v, err)
				}
				version[id] = 1
				apply(id, w)
			},
			"commit": func(rt *rapid.T) {
				id := genID.Draw(rt, "id")
				cur, ok := version[id]
				if !ok {
					rt.Skip("no such instance")
				}
				w, want := genWrite(rt, id)
				expect := cur
				if rapid.IntRange(0, 5).Draw(rt, "conflict") == 0 {
					expect = cur + 1
					want = storage.ErrConflict
				}
				v, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: id, Journal: w}, Expect: expect})
				if want != nil {
					wantErr(rt, "Commit", err, want, "")
					return
				}
				if err != nil || v != cur+1 {
					rt.Fatalf("Commit(%q, expect %d) = %d, %v", id, expect, v, err)
				}
				version[id] = v
				apply(id, w)
			},
			"trim": func(rt *rapid.T) {
				id := genID.Draw(rt, "id")
				keep := genKeep.Draw(rt, "keep")
				kept := modelTrim(model[id], keep)
				want := len(model[id]) - len(kept)
				model[id] = slices.Clone(kept)
				if n := mustTrimJournal(rt, s, id, keep); n != want {
					rt.Fatalf("TrimJournal(%q, %+v) = %d removed, want %d", id, keep, n, want)
				}
			},
			"read": func(rt *rapid.T) {
				id := genID.Draw(rt, "id")
				from := rapid.Uint64Range(0, 20).Draw(rt, "from")
				limit := rapid.IntRange(-1, 4).Draw(rt, "limit")
				var want []storage.JournalEntry
				for _, e := range model[id] {
					if e.Seq >= from && (limit < 1 || len(want) < limit) {
						want = append(want, e)
					}
				}
				if d := diff(want, mustReadJournal(rt, s, id, from, limit)); d != "" {
					rt.Fatalf("ReadJournal(%q, %d, %d) (-model +store):\n%s", id, from, limit, d)
				}
			},
			"": func(rt *rapid.T) {
				for _, id := range ids {
					if d := diff(model[id], journalOf(rt, s, id)); d != "" {
						rt.Fatalf("the journal of %q and the model disagree (-model +store):\n%s", id, d)
					}
				}
			},
		}
		if open.reopen != nil {
			actions["reopen"] = func(*rapid.T) { s = open.again(t, s) }
		}
		rt.Repeat(actions)
	})
}

// testJournalBig: entries with 1 MiB of Data and of Base go in and come
// out whole, and trimming removes them.
func testJournalBig(t *testing.T, open opener) {
	s := open.fresh(t)
	const mib = 1 << 20
	big := func(seq uint64) storage.JournalEntry {
		e := entry(seq)
		e.Data = bytes.Repeat([]byte{byte(seq), 0, 0xff}, mib/3+1)[:mib]
		e.Base = bytes.Repeat([]byte{0xfe, byte(seq)}, mib/2)
		return e
	}
	mustCreate(t, s, storage.Instance{ID: "a", Journal: write(big(1), nil)})
	for seq := uint64(2); seq <= 4; seq++ {
		mustCommit(t, s, seq-1, storage.Instance{ID: "a", Journal: write(big(seq), &storage.JournalKeep{Last: 2})})
	}
	got := journalOf(t, s, "a")
	if d := diff([]uint64{3, 4}, seqs(got)); d != "" {
		t.Fatalf("journal of big entries kept (-want +got):\n%s", d)
	}
	for i, e := range got {
		want := big(uint64(3 + i))
		if !bytes.Equal(e.Data, want.Data) || !bytes.Equal(e.Base, want.Base) {
			t.Errorf("entry %d: Data or Base of %d and %d bytes came back as %d and %d bytes, or different",
				e.Seq, len(want.Data), len(want.Base), len(e.Data), len(e.Base))
		}
	}
	if n := mustTrimJournal(t, s, "a", storage.JournalKeep{}); n != 1 {
		t.Errorf("TrimJournal to the newest base removed %d entries, want 1", n)
	}
}

// journalIDs are instance IDs that share prefixes, contain zero and
// invalid UTF-8 bytes, or have the largest length: a store keying entries
// by ID and Seq must keep their journals apart.
func journalIDs() []string {
	return []string{"a", "a\x00", "a\x00\x00", "a\x00\x00\x00\x00\x00\x00\x00\x01", "ab", "\x00", "\xff", "\xff\xff", "é",
		strings.Repeat("x", storage.MaxIDLen-1), strings.Repeat("x", storage.MaxIDLen)}
}

// testJournalIDsAreBytes: journals of instances whose IDs are prefixes of
// each other, or contain any bytes, stay apart, in reading and trimming.
func testJournalIDsAreBytes(t *testing.T, open opener) {
	s := open.fresh(t)
	ids := journalIDs()
	want := map[string][]storage.JournalEntry{}
	for i, id := range ids {
		for seq := uint64(1); seq <= 3; seq++ {
			e := storage.JournalEntry{Seq: seq, Time: at(time.Duration(i) * time.Second), Data: []byte(fmt.Sprintf("%q/%d", id, seq))}
			if seq == 3 {
				e.Base = []byte(id)
			}
			inst := storage.Instance{ID: id, Journal: write(e, nil)}
			if seq == 1 {
				mustCreate(t, s, inst)
			} else {
				mustCommit(t, s, seq-1, inst)
			}
			want[id] = append(want[id], storedEntries(e)...)
		}
	}
	if d := diff(want, journals(t, s, ids...)); d != "" {
		t.Fatalf("journals of byte IDs (-want +got):\n%s", d)
	}
	for i, id := range ids {
		if i%2 == 0 {
			if n := mustTrimJournal(t, s, id, storage.JournalKeep{}); n != 2 {
				t.Errorf("TrimJournal(%q) removed %d entries, want 2", id, n)
			}
			want[id] = want[id][2:]
		}
		if d := diff(want, journals(t, s, ids...)); d != "" {
			t.Fatalf("journals after trimming %q (-want +got):\n%s", id, d)
		}
	}
	for _, id := range []string{"", "a\x00\x00\x00", "x"} {
		if got := journalOf(t, s, id); len(got) != 0 {
			t.Errorf("ReadJournal(%q) of an instance that does not exist = %d entries", id, len(got))
		}
	}
}

// testJournalReopen: journals survive reopening, trimmed or not, and the
// Seq check goes on from the last entry.
func testJournalReopen(t *testing.T, open opener) {
	if open.reopen == nil {
		t.Skip("the adapter gave no reopen hook (storagetest.WithReopen)")
	}
	s := open.fresh(t)
	ctx := context.Background()
	mustCreate(t, s, storage.Instance{ID: "a", Journal: write(entry(1), nil)})
	mustCommit(t, s, 1, storage.Instance{ID: "a", Journal: write(withBase(entry(2)), nil)})
	mustCommit(t, s, 2, storage.Instance{ID: "a", Journal: write(entry(3), &storage.JournalKeep{Last: 1})})
	mustCreate(t, s, storage.Instance{ID: "b", Journal: write(withBase(entry(7)), nil)})
	mustCreate(t, s, storage.Instance{ID: "c"})
	ids := []string{"a", "b", "c"}
	before := journals(t, s, ids...)
	if d := diff([]uint64{2, 3}, seqs(before["a"])); d != "" {
		t.Fatalf("journal of a before reopening (-want +got):\n%s", d)
	}

	s = open.again(t, s)
	if d := diff(before, journals(t, s, ids...)); d != "" {
		t.Fatalf("journals after reopening (-before +after):\n%s", d)
	}
	_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Journal: write(entry(3), nil)}, Expect: 3})
	wantErr(t, "Commit with the last Seq after reopening", err, storage.ErrInvalid, "")
	mustCommit(t, s, 3, storage.Instance{ID: "a", Journal: write(entry(4), nil)})
	mustCommit(t, s, 1, storage.Instance{ID: "c", Journal: write(withBase(entry(2)), nil)})
	if n := mustTrimJournal(t, s, "a", storage.JournalKeep{}); n != 0 {
		t.Errorf("TrimJournal(a) after reopening removed %d, want 0 (no base after 2)", n)
	}
	want := map[string][]storage.JournalEntry{
		"a": storedEntries(withBase(entry(2)), entry(3), entry(4)),
		"b": storedEntries(withBase(entry(7))),
		"c": storedEntries(withBase(entry(2))),
	}
	s = open.again(t, s)
	if d := diff(want, journals(t, s, ids...)); d != "" {
		t.Fatalf("journals after writing and reopening again (-want +got):\n%s", d)
	}
}

// testJournalShared: two stores over the same data (WithShared) see each
// other's entries and trims, and the Seq check spans them.
func testJournalShared(t *testing.T, open opener) {
	s1 := open.fresh(t)
	s2 := open.second(t, s1)
	ctx := context.Background()
	mustCreate(t, s1, storage.Instance{ID: "a", Journal: write(entry(1), nil)})
	wantJournal(t, s2, "a", "the second store, after the first created", storedEntries(entry(1)))
	mustCommit(t, s2, 1, storage.Instance{ID: "a", Journal: write(withBase(entry(2)), nil)})
	mustCommit(t, s1, 2, storage.Instance{ID: "a", Journal: write(entry(3), nil)})
	want := storedEntries(entry(1), withBase(entry(2)), entry(3))
	wantJournal(t, s1, "a", "the first store, after both committed", want)
	wantJournal(t, s2, "a", "the second store, after both committed", want)

	_, err := s2.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Journal: write(entry(3), nil)}, Expect: 3})
	wantErr(t, "Commit in the second store with the Seq the first appended", err, storage.ErrInvalid, "")
	if n := mustTrimJournal(t, s2, "a", storage.JournalKeep{}); n != 1 {
		t.Errorf("TrimJournal in the second store removed %d, want 1", n)
	}
	wantJournal(t, s1, "a", "the first store, after the second trimmed", want[1:])
	mustCommit(t, s1, 3, storage.Instance{ID: "a", Journal: write(entry(4), nil)})
	wantJournal(t, s2, "a", "the second store, at the end", append(want[1:], storedEntries(entry(4))...))

	// Concurrent commits from both stores on one version: one wins, and
	// only its entry is appended.
	errs := make(chan error, 2)
	for i, s := range []storage.Store{s1, s2} {
		go func() {
			e := entry(5)
			e.Data = fmt.Appendf(nil, "from store %d", i+1)
			_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Journal: write(e, nil)}, Expect: 4})
			errs <- err
		}()
	}
	won := 0
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			won++
		case !isConflict(err):
			t.Errorf("racing Commit: %v, want success or ErrConflict", err)
		}
	}
	got := journalOf(t, s1, "a")
	if won != 1 || len(got) != 4 || got[3].Seq != 5 {
		t.Errorf("two racing Commits: %d won; journal Seqs %v, want one winner and [2 3 4 5]", won, seqs(got))
	}
}

// isConflict reports whether err wraps storage.ErrConflict.
func isConflict(err error) bool { return errors.Is(err, storage.ErrConflict) }

// testJournalDeleted: deleting an instance deletes its journal, and an
// instance created again under its ID starts a journal of its own.
func testJournalDeleted(t *testing.T, open opener) {
	s := open.fresh(t)
	mustCreate(t, s, storage.Instance{ID: "gone", Workflow: "w", Status: "running", Data: []byte("g1"), Journal: write(entry(1), nil)})
	mustCommit(t, s, 1, storage.Instance{ID: "gone", Workflow: "w", Status: "completed", Data: []byte("g2"), Journal: write(withBase(entry(2)), nil)})
	mustCreate(t, s, storage.Instance{ID: "kept", Workflow: "w", Data: []byte("k1"), Journal: write(entry(1), nil)})
	mustCreate(t, s, storage.Instance{ID: "gone2", Workflow: "w", Data: []byte("x1"), Journal: write(entry(1), nil)}) // a prefix of no other ID's key, but close
	mustDelete(t, s, "gone", 2, []byte("tomb"))
	wantJournal(t, s, "gone", "after Delete", nil)
	wantJournal(t, s, "kept", "after another instance's Delete", storedEntries(entry(1)))
	wantJournal(t, s, "gone2", "after another instance's Delete", storedEntries(entry(1)))
	if _, err := s.Create(context.Background(), storage.Instance{ID: "gone", Workflow: "w", Version: 2, Data: []byte("g1"), Journal: write(entry(1), nil)}, nil); err != nil {
		t.Fatalf("Create of the deleted ID: %v", err)
	}
	wantJournal(t, s, "gone", "after the ID was created again", storedEntries(entry(1)))
}
