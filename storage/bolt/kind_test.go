package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/bbolt"

	"github.com/weftflow/weft/storage"
)

// TestKindBytesIsKindKey holds Commit's fast path (comparing the stored
// kind's bytes with the new kind key) to the slow one (decoding the
// stored workflow and status): for a record written by encodeInstance, the
// bytes kindBytes returns are kindKey of its workflow and status, so equal
// bytes mean an equal kind and other bytes another kind.
func TestKindBytesIsKindKey(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		n := []int{0, 1, 5, 127, 128, 300, 20000}[r.IntN(7)]
		return strings.Repeat(string(rune('a'+r.IntN(3))), n)
	}
	for range 2000 {
		inst := storage.Instance{ID: "i", Version: r.Uint64N(1<<40) + 1, Workflow: str(), Status: str(), Data: []byte(str())}
		got, err := kindBytes(inst.ID, encodeInstance(inst))
		if err != nil {
			t.Fatal(err)
		}
		if want := kindKey(inst.Workflow, inst.Status); string(got) != string(want) {
			t.Fatalf("kindBytes %q, kindKey %q", got, want)
		}
		w, s, err := decodeKind(inst.ID, encodeInstance(inst))
		if err != nil || w != inst.Workflow || s != inst.Status {
			t.Fatalf("decodeKind %q %q %v", w, s, err)
		}
	}
	for _, v := range [][]byte{nil, {1}, {1, 5, 'a'}, {1, 1, 'a', 9}} {
		_, err1 := kindBytes("i", v)
		_, _, err2 := decodeKind("i", v)
		if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
			t.Errorf("%q: kindBytes %v, decodeKind %v", v, err1, err2)
		}
	}
}

// TestCommitKindOfLongVarintRecord: a stored record whose lengths are
// written in a longer varint form than encodeInstance's has other bytes
// for the same kind; a commit that keeps the kind keeps the listing, one
// that changes it moves the instance.
func TestCommitKindOfLongVarintRecord(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "weft.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inst := storage.Instance{ID: "a", Workflow: "wf", Status: "running"}
	if _, err := s.Create(ctx, inst, nil); err != nil {
		t.Fatal(err)
	}
	// The record of version 1 with each length as a two-byte varint.
	long := func(s string) []byte { return append([]byte{byte(len(s)) | 0x80, 0}, s...) }
	v := binary.AppendUvarint(nil, 1)
	v = append(v, long(inst.Workflow)...)
	v = append(v, long(inst.Status)...)
	v = binary.AppendUvarint(v, 0)
	if err := s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketInstances).Put([]byte("a"), v) }); err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]int {
		t.Helper()
		c, err := s.Count(ctx, storage.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: 1}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"running": 1}, counts()); diff != "" {
		t.Errorf("same kind (-want +got):\n%s", diff)
	}
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		v[0] = 2 // version 2
		return tx.Bucket(bucketInstances).Put([]byte("a"), v)
	}); err != nil {
		t.Fatal(err)
	}
	inst.Status = "done"
	if _, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: 2}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"done": 1}, counts()); diff != "" {
		t.Errorf("another kind (-want +got):\n%s", diff)
	}
	page, err := s.Find(ctx, storage.Query{Filter: storage.Filter{Status: "done"}, Limit: 10})
	if err != nil || len(page.Instances) != 1 || page.Instances[0].ID != "a" {
		t.Errorf("Find done: %+v, %v", page, err)
	}
}

// TestOpNameIsSprintf: an opName formats as the fmt.Sprintf("%s %q") the
// writes built before.
func TestOpNameIsSprintf(t *testing.T) {
	for _, id := range []string{"a", "", "w1-17", "with \"quotes\"", "tab\tnl\n", "é✓", "\x00\xff", strings.Repeat("x", 300)} {
		if got, want := (opName{"commit", id}).String(), fmt.Sprintf("commit %q", id); id != "" && got != want {
			t.Errorf("%q: %q, want %q", id, got, want)
		}
		if got, want := fmt.Sprintf("storage: %s: x", opName{"create", id}), fmt.Sprintf("storage: create %q: x", id); id != "" && got != want {
			t.Errorf("%q: %q, want %q", id, got, want)
		}
	}
	if got := fmt.Sprintf("%s", opName{verb: "ack"}); got != "ack" {
		t.Errorf("ack: %q", got)
	}
}
