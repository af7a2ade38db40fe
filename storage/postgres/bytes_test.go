package postgres_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/weftflow/weft/storage"
)

// TestArbitraryBytesRoundTrip stores instances whose every string field is
// arbitrary bytes (NUL, invalid UTF-8, backslashes, up to the longest ID) and
// checks that Load returns them unchanged, that List orders IDs as Go compares
// strings and that DueBefore orders by (Due, ID): the properties bytea and
// timestamptz must give.
func TestArbitraryBytesRoundTrip(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := t.Context()
	stored := map[string]storage.Instance{}
	rapid.Check(t, func(rt *rapid.T) {
		id := rapid.OneOf(
			rapid.StringOfN(rapid.SampledFrom([]rune{0, 1, 'a', '\\', 0x7f, 0x80, 0xff}), 1, 8, -1),
			rapid.Custom(func(rt *rapid.T) string {
				return string(rapid.SliceOfN(rapid.Byte(), 1, storage.MaxIDLen).Draw(rt, "raw"))
			}),
		).Draw(rt, "id")
		inst := storage.Instance{
			ID:       id,
			Workflow: string(rapid.SliceOfN(rapid.Byte(), 0, 30).Draw(rt, "workflow")),
			Status:   string(rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(rt, "status")),
			Data:     rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(rt, "data"),
		}
		if rapid.Bool().Draw(rt, "due") {
			inst.Due = time.Unix(0, 0).Add(time.Duration(rapid.Int64Range(0, 1<<62).Draw(rt, "at"))).In(time.FixedZone("x", 3600))
		}
		_, err := s.Create(ctx, inst, nil)
		if _, taken := stored[id]; taken {
			if !errors.Is(err, storage.ErrExists) {
				rt.Fatalf("Create of taken ID %q: %v, want ErrExists", id, err)
			}
			return
		}
		if err != nil {
			rt.Fatalf("Create(%q): %v", id, err)
		}
		inst.Version = 1
		inst.Due = storage.NormalizeDue(inst.Due)
		stored[id] = inst
		got, err := s.Load(ctx, id)
		if err != nil {
			rt.Fatalf("Load(%q): %v", id, err)
		}
		if d := cmp.Diff(inst, got, cmpopts.EquateEmpty()); d != "" {
			rt.Fatalf("Load(%q) (-want +got):\n%s", id, d)
		}
	})

	want := slices.Sorted(func(yield func(string) bool) {
		for id := range stored {
			if !yield(id) {
				return
			}
		}
	})
	var got []string
	for after := ""; ; {
		page, err := s.List(ctx, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, inst := range page {
			got = append(got, inst.ID)
		}
		if len(page) < 7 {
			break
		}
		after = page[len(page)-1].ID
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("List pages (-want +got):\n%s", d)
	}

	var wantDue []storage.Due
	for _, inst := range stored {
		if !inst.Due.IsZero() {
			wantDue = append(wantDue, storage.Due{ID: inst.ID, At: inst.Due})
		}
	}
	slices.SortFunc(wantDue, func(a, b storage.Due) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	gotDue, err := s.DueBefore(ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantDue, gotDue, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("DueBefore (-want +got):\n%s", d)
	}
	// Times outside the storable range are fine to ask about.
	for _, at := range []time.Time{{}, time.Unix(-1, 0), time.Date(200000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if _, err := s.DueBefore(ctx, at, 1); err != nil {
			t.Errorf("DueBefore(%v): %v", at, err)
		}
	}
}
