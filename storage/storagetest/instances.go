package storagetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
)

func testCreateLoad(t *testing.T, open opener) {
	s := open.fresh(t)
	ctx := t.Context()

	zone := time.FixedZone("UTC+1", 3600)
	in := storage.Instance{
		ID:       "order-1",
		Workflow: "order",
		Version:  42, // ignored
		Status:   "running",
		Due:      time.Date(2030, time.January, 2, 4, 4, 5, 123456789, zone),
		Data:     []byte("record"),
	}
	v, err := s.Create(ctx, in, nil)
	if err != nil || v != 1 {
		t.Fatalf("Create = %d, %v; want 1, nil", v, err)
	}
	want := in
	want.Version = 1
	want.Due = time.Date(2030, time.January, 2, 3, 4, 5, 123456000, time.UTC) // microseconds, UTC
	got := mustLoad(t, s, in.ID)
	if d := diff(want, got); d != "" {
		t.Errorf("Load after Create (-want +got):\n%s", d)
	}
	if loc := got.Due.Location(); loc != time.UTC {
		t.Errorf("Load: Due location is %v, want UTC", loc)
	}

	// The minimal instance: only an ID.
	mustCreate(t, s, storage.Instance{ID: "order-2"})
	got = mustLoad(t, s, "order-2")
	if d := diff(storage.Instance{ID: "order-2", Version: 1}, got); d != "" {
		t.Errorf("Load of a minimal instance (-want +got):\n%s", d)
	}
	if !got.Due.IsZero() {
		t.Errorf("Load: zero Due came back as %v", got.Due)
	}

	// Loading again gives the same.
	if d := diff(want, mustLoad(t, s, in.ID)); d != "" {
		t.Errorf("second Load (-want +got):\n%s", d)
	}
}

func testCreateDuplicate(t *testing.T, open opener) {
	s := open.fresh(t)
	mustCreate(t, s, storage.Instance{ID: "a", Status: "first", Data: []byte("first")}, effects("a", "a/1")...)
	before := snapshot(t, s)

	_, err := s.Create(t.Context(),
		storage.Instance{ID: "a", Status: "second", Due: at(time.Hour), Data: []byte("second")},
		effects("a", "a/2"))
	wantErr(t, "Create of an existing ID", err, storage.ErrExists, "a")
	unchanged(t, s, before, "a duplicate Create")
}

func testLoadMissing(t *testing.T, open opener) {
	s := open.fresh(t)
	_, err := s.Load(t.Context(), "missing")
	wantErr(t, "Load in an empty store", err, storage.ErrNotFound, "missing")

	mustCreate(t, s, storage.Instance{ID: "present"})
	_, err = s.Load(t.Context(), "missing")
	wantErr(t, "Load of a missing ID", err, storage.ErrNotFound, "missing")
	_, err = s.Load(t.Context(), "presen")
	wantErr(t, "Load of a prefix of an existing ID", err, storage.ErrNotFound, "presen")
}

func testCommitIncrementsVersion(t *testing.T, open opener) {
	s := open.fresh(t)
	mustCreate(t, s, storage.Instance{ID: "a", Workflow: "w1", Status: "running", Data: []byte("v1")})

	next := []storage.Instance{
		{ID: "a", Workflow: "w1", Version: 99, Status: "waiting", Due: at(time.Minute), Data: []byte("v2")},
		{ID: "a", Workflow: "w2", Status: "running", Data: []byte("v3")},
		{ID: "a", Workflow: "w2", Version: 1, Status: "completed", Data: nil},
	}
	for i, inst := range next {
		expect := uint64(i + 1)
		mustCommit(t, s, expect, inst)
		want := inst
		want.Version = expect + 1
		if d := diff(want, mustLoad(t, s, "a")); d != "" {
			t.Errorf("Load after commit %d (-want +got):\n%s", i+1, d)
		}
	}
}

func testCommitStale(t *testing.T, open opener) {
	s := open.fresh(t)
	mustCreate(t, s, storage.Instance{ID: "a", Data: []byte("v1")}, effects("a", "a/1")...)
	mustCommit(t, s, 1, storage.Instance{ID: "a", Status: "waiting", Due: at(time.Minute), Data: []byte("v2")},
		effects("a", "a/2")...)
	mustCreate(t, s, storage.Instance{ID: "b", Due: at(time.Second)}, effects("b", "b/1")...)
	before := snapshot(t, s)

	for _, expect := range []uint64{0, 1, 3, 1000} {
		_, err := s.Commit(t.Context(), storage.Commit{
			Instance: storage.Instance{ID: "a", Status: "stale", Due: at(time.Hour), Data: []byte("stale")},
			Expect:   expect,
			Effects:  effects("a", "a/stale"),
		})
		wantErr(t, "Commit with a stale Expect", err, storage.ErrConflict, "a")
		unchanged(t, s, before, "a conflicting commit")
	}
	// A stale commit that clears Due leaves the due index alone too.
	_, err := s.Commit(t.Context(), storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 1})
	wantErr(t, "Commit with a stale Expect", err, storage.ErrConflict, "a")
	unchanged(t, s, before, "a conflicting commit")

	// The right version still works.
	mustCommit(t, s, 2, storage.Instance{ID: "a", Data: []byte("v3")})
}

func testCommitMissing(t *testing.T, open opener) {
	s := open.fresh(t)
	mustCreate(t, s, storage.Instance{ID: "a", Due: at(time.Second)}, effects("a", "a/1")...)
	before := snapshot(t, s)

	for _, expect := range []uint64{0, 1} {
		_, err := s.Commit(t.Context(), storage.Commit{
			Instance: storage.Instance{ID: "ghost", Due: at(0), Data: []byte("boo")},
			Expect:   expect,
			Effects:  effects("ghost", "ghost/1"),
		})
		wantErr(t, "Commit to a missing instance", err, storage.ErrNotFound, "ghost")
		unchanged(t, s, before, "a commit to a missing instance")
	}
	_, err := s.Load(t.Context(), "ghost")
	wantErr(t, "Load after a failed commit", err, storage.ErrNotFound, "ghost")
}

func testInvalidInput(t *testing.T, open opener) {
	s := open.fresh(t)
	mustCreate(t, s, storage.Instance{ID: "a", Due: at(time.Second)}, effects("a", "a/1")...)
	before := snapshot(t, s)

	long := strings.Repeat("x", storage.MaxIDLen+1)
	beforeEpoch := time.Unix(-1, 0)
	year10000 := time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC)
	create := func(inst storage.Instance, effs ...storage.Effect) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := s.Create(ctx, inst, effs)
			return err
		}
	}
	commit := func(expect uint64, inst storage.Instance, effs ...storage.Effect) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: expect, Effects: effs})
			return err
		}
	}
	cases := []opCase{
		{"Create/empty ID", create(storage.Instance{})},
		{"Create/long ID", create(storage.Instance{ID: long})},
		{"Create/effect with empty ID", create(storage.Instance{ID: "b"}, storage.Effect{Instance: "b"})},
		{"Create/effect with long ID", create(storage.Instance{ID: "b"}, storage.Effect{ID: long, Instance: "b"})},
		{"Create/effect of another instance", create(storage.Instance{ID: "b"}, effects("a", "b/1")...)},
		{"Create/effect with no instance", create(storage.Instance{ID: "b"}, storage.Effect{ID: "b/1"})},
		{"Create/same effect ID twice", create(storage.Instance{ID: "b"}, effects("b", "b/1", "b/2", "b/1")...)},
		{"Create/due before the epoch", create(storage.Instance{ID: "b", Due: beforeEpoch})},
		{"Create/due in year 10000", create(storage.Instance{ID: "b", Due: year10000})},
		{"Create/existing ID and bad effect", create(storage.Instance{ID: "a"}, storage.Effect{ID: "", Instance: "a"})},
		{"Commit/empty ID", commit(1, storage.Instance{})},
		{"Commit/long ID", commit(1, storage.Instance{ID: long})},
		{"Commit/effect with empty ID", commit(1, storage.Instance{ID: "a"}, storage.Effect{Instance: "a"})},
		{"Commit/effect of another instance", commit(1, storage.Instance{ID: "a"}, effects("b", "a/2")...)},
		{"Commit/same effect ID twice", commit(1, storage.Instance{ID: "a"}, effects("a", "a/2", "a/2")...)},
		{"Commit/due before the epoch", commit(1, storage.Instance{ID: "a", Due: beforeEpoch})},
		{"Commit/due in year 10000", commit(1, storage.Instance{ID: "a", Due: year10000})},
		{"Commit/missing instance and bad effect", commit(1, storage.Instance{ID: "ghost"}, effects("a", "g/1")...)},
		{"Commit/stale version and bad due", commit(7, storage.Instance{ID: "a", Due: beforeEpoch})},
		{"Commit/pending effect ID and bad effect", commit(1, storage.Instance{ID: "a"}, storage.Effect{ID: "a/1", Instance: "a"}, storage.Effect{Instance: "a"})},
	}
	for _, limit := range []int{0, -1} {
		cases = append(cases,
			opCase{"Outbox/limit " + itoa(limit), func(ctx context.Context) error {
				_, err := s.Outbox(ctx, limit)
				return err
			}},
			opCase{"DueBefore/limit " + itoa(limit), func(ctx context.Context) error {
				_, err := s.DueBefore(ctx, farFuture, limit)
				return err
			}},
			opCase{"List/limit " + itoa(limit), func(ctx context.Context) error {
				_, err := s.List(ctx, "", limit)
				return err
			}},
		)
	}
	for _, c := range cases {
		err := c.op(t.Context())
		wantErr(t, c.name, err, storage.ErrInvalid, "")
		unchanged(t, s, before, c.name)
	}
}

func itoa(n int) string { return string(counter(n)) }

func testBoundaries(t *testing.T, open opener) {
	s := open.fresh(t)
	longest := strings.Repeat("x", storage.MaxIDLen)
	epoch := time.Unix(0, 0).UTC()
	last := time.Date(9999, time.December, 31, 23, 59, 59, 999999000, time.UTC)

	mustCreate(t, s, storage.Instance{ID: longest, Due: epoch}, effects(longest, longest)...)
	mustCreate(t, s, storage.Instance{ID: "b", Due: last})
	want := []storage.Due{{ID: longest, At: epoch}, {ID: "b", At: last}}
	if d := diff(want, mustDue(t, s, last, all)); d != "" {
		t.Errorf("DueBefore at the edges of the range (-want +got):\n%s", d)
	}
	if d := diff(want[:1], mustDue(t, s, epoch, all)); d != "" {
		t.Errorf("DueBefore(epoch) (-want +got):\n%s", d)
	}
	if got := mustDue(t, s, time.Time{}, all); len(got) != 0 {
		t.Errorf("DueBefore(zero time) = %v, want nothing", got)
	}
	if got := mustOutbox(t, s, all); len(got) != 1 || got[0].ID != longest {
		t.Errorf("Outbox = %v, want the effect with the longest ID", outboxIDs(got))
	}
	mustCommit(t, s, 1, storage.Instance{ID: longest, Data: []byte("x")})
}

func testIDsAreBytes(t *testing.T, open opener) {
	s := open.fresh(t)
	ids := []string{"b", "a", "a\x00", "\xff", "é", "A", "a/b", "Z", "a b", "\x00", "日本", "a\xffb"}
	for i, id := range ids {
		mustCreate(t, s, storage.Instance{ID: id, Data: []byte(id), Due: at(time.Duration(i%3) * time.Second)},
			effects(id, "effect:"+id)...)
	}
	for _, id := range ids {
		if got := mustLoad(t, s, id); string(got.Data) != id {
			t.Errorf("Load(%q).Data = %q", id, got.Data)
		}
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	var got []string
	for _, inst := range mustList(t, s, "", all) {
		got = append(got, inst.ID)
	}
	if d := diff(sorted, got); d != "" {
		t.Errorf("List order is not byte-wise (-want +got):\n%s", d)
	}
	// Dues tie in groups of the same time; ties are ordered by ID byte-wise.
	var wantDue []string
	for k := range 3 {
		var group []string
		for i, id := range ids {
			if i%3 == k {
				group = append(group, id)
			}
		}
		slices.Sort(group)
		wantDue = append(wantDue, group...)
	}
	if d := diff(wantDue, dueIDs(mustDue(t, s, farFuture, all))); d != "" {
		t.Errorf("DueBefore tie order is not byte-wise (-want +got):\n%s", d)
	}
	var wantOutbox []string
	for _, id := range ids {
		wantOutbox = append(wantOutbox, "effect:"+id)
	}
	if d := diff(wantOutbox, outboxIDs(mustOutbox(t, s, all))); d != "" {
		t.Errorf("Outbox (-want +got):\n%s", d)
	}
	mustAck(t, s, "effect:a\x00", "effect:\xff")
	if got := mustOutbox(t, s, all); len(got) != len(ids)-2 {
		t.Errorf("Outbox after acking two effects has %d, want %d", len(got), len(ids)-2)
	}
}
