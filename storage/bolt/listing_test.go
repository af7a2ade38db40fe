package bolt_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/bbolt"

	"github.com/weftflow/weft/storage"
)

// findIDs returns the IDs of every instance matching f, by ID.
func findIDs(t *testing.T, s storage.Store, f storage.Filter) []string {
	t.Helper()
	var ids []string
	q := storage.Query{Filter: f, Limit: 2}
	for {
		p, err := s.Find(context.Background(), q)
		if err != nil {
			t.Fatalf("Find(%+v): %v", f, err)
		}
		for _, inst := range p.Instances {
			ids = append(ids, inst.ID)
		}
		if p.Next == "" {
			return ids
		}
		q.After = p.Next
	}
}

// TestListingRebuilt: a file whose instances changed behind the listing
// buckets' back (an older weft wrote to it), or that has none (written
// before they existed), gets them rebuilt by Open.
func TestListingRebuilt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(tx *bbolt.Tx) error
		want   map[string][]string // IDs per status
	}{
		{"older weft wrote", func(tx *bbolt.Tx) error {
			b := tx.Bucket([]byte("instances"))
			a := slices.Clone(b.Get([]byte("a"))) // status "waiting"
			if err := b.Put([]byte("b"), a); err != nil {
				return err
			}
			if err := b.Put([]byte("z"), a); err != nil {
				return err
			}
			return b.Delete([]byte("é"))
		}, map[string][]string{"waiting": {"a", "b", "z"}, "running": {"c\x00d"}}},
		{"no listing buckets", func(tx *bbolt.Tx) error {
			for _, name := range []string{"kinds", "counts"} {
				if err := tx.DeleteBucket([]byte(name)); err != nil {
					return err
				}
			}
			return tx.Bucket([]byte("weft")).Delete([]byte("listed"))
		}, map[string][]string{"waiting": {"a"}, "running": {"c\x00d", "é"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "weft.db")
			s := mustOpen(t, path)
			fill(t, s)
			mustClose(t, s)
			rawBolt(t, path, tc.change)
			for range 2 { // rebuilt once, then kept
				s = mustOpen(t, path)
				got := map[string][]string{}
				for st := range tc.want {
					got[st] = findIDs(t, s, storage.Filter{Workflow: "wf", Status: st})
				}
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("Find by status after reopening (-want +got):\n%s", d)
				}
				counts, err := s.Count(context.Background(), storage.Filter{Workflow: "wf"})
				if err != nil {
					t.Fatal(err)
				}
				wantCounts := map[string]int{}
				for st, ids := range tc.want {
					wantCounts[st] = len(ids)
				}
				if d := cmp.Diff(wantCounts, counts); d != "" {
					t.Errorf("Count after reopening (-want +got):\n%s", d)
				}
				mustClose(t, s)
			}
		})
	}
}
