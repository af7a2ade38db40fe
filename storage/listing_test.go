package storage_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weftflow/weft/storage"
)

func TestCursorRoundTrip(t *testing.T) {
	due := time.Date(2030, 3, 4, 5, 6, 7, 891_234_567, time.FixedZone("x", 3600))
	for _, inst := range []storage.Instance{
		{ID: "a"},
		{ID: "\x00\xff", Due: due},
		{ID: strings.Repeat("z", storage.MaxIDLen), Due: time.Unix(0, 0)},
	} {
		for _, o := range []storage.Order{storage.ByID, storage.ByDue} {
			if o == storage.ByDue && inst.Due.IsZero() {
				continue
			}
			got, err := storage.Query{Order: o, After: storage.NextCursor(o, inst), Limit: 1}.Validate()
			if err != nil {
				t.Fatalf("cursor of %q by %v: %v", inst.ID, o, err)
			}
			want := storage.Cursor{Set: true, ID: inst.ID}
			if o == storage.ByDue {
				want.Due = storage.NormalizeDue(inst.Due)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("cursor of %q by %v (-want +got):\n%s", inst.ID, o, d)
			}
		}
	}
}

func TestQueryValidate(t *testing.T) {
	byID := storage.NextCursor(storage.ByID, storage.Instance{ID: "a"})
	byDue := storage.NextCursor(storage.ByDue, storage.Instance{ID: "a", Due: time.Unix(5, 0)})
	for _, q := range []storage.Query{
		{Limit: 0},
		{Order: 2, Limit: 1},
		{After: byDue, Limit: 1},
		{Order: storage.ByDue, After: byID, Limit: 1},
		{After: "i", Limit: 1},
		{After: "i" + strings.Repeat("z", storage.MaxIDLen+1), Limit: 1},
		{Order: storage.ByDue, After: "d\x00\x00\x00\x00\x00\x00\x00", Limit: 1},
		{Order: storage.ByDue, After: "d\xff\xff\xff\xff\xff\xff\xff\xffa", Limit: 1}, // past the year 10000
		{After: "x", Limit: 1},
	} {
		if _, err := q.Validate(); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", q, err)
		}
	}
	if c, err := (storage.Query{Limit: 1}).Validate(); err != nil || c.Set {
		t.Errorf("Validate of a first page = %+v, %v", c, err)
	}
}

func TestFilterMatches(t *testing.T) {
	inst := storage.Instance{ID: "order-17", Workflow: "order", Status: "failed"}
	for f, want := range map[storage.Filter]bool{
		{}:                                     true,
		{Workflow: "order"}:                    true,
		{Workflow: "orde"}:                     false,
		{Status: "failed", IDPrefix: "order"}:  true,
		{IDPrefix: "order-17x"}:                false,
		{Workflow: "order", Status: "running"}: false,
	} {
		if got := f.Matches(inst); got != want {
			t.Errorf("%+v.Matches(%+v) = %v, want %v", f, inst, got, want)
		}
	}
}
