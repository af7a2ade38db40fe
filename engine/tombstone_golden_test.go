package engine

import (
	"fmt"
	"testing"

	"github.com/weftflow/weft/internal/golden"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// This file freezes the tombstone the engine's GC leaves of a deleted
// instance (tombstone.go): a later engine must read the numbering an
// earlier one left, or an ID started again would repeat effect IDs. The
// rule for changing it is in docs/format.md.

// tombstoneGolden is the tombstone of a completed instance at transition
// 7 that issued callbacks up to 4.
func tombstoneGolden(t *testing.T) []byte {
	t.Helper()
	b, err := tombstoneOf("daily-report", "report", &interp.Meta{Instance: "daily-report", Seq: 7, Status: interp.StatusCompleted,
		NextCallback: 4, Output: []byte{0x01}, Recent: []uint64{3, 4}, Version: 2})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func renderTombstone(d *deleted) string {
	m := d.meta
	return fmt.Sprintf("version=%d instance=%q seq=%d status=%s next-callback=%d\n", d.version, m.Instance, m.Seq, m.Status, m.NextCallback)
}

func readTombstone(raw []byte, want golden.File) []string {
	d, err := deletedBy("daily-report", &storage.DeletedError{ID: "daily-report", Version: 9, Tombstone: raw})
	if err != nil {
		return []string{"the stored tombstone does not read back: " + err.Error()}
	}
	text, _ := want.Get("tombstone")
	problems := golden.CompareText("read tombstone", text, renderTombstone(d))
	again, err := tombstoneOf("daily-report", "report", &d.meta)
	if err != nil {
		problems = append(problems, "the read tombstone does not re-encode: "+err.Error())
	}
	return append(problems, golden.Compare("re-encoded tombstone", raw, again)...)
}

func TestTombstoneGolden(t *testing.T) {
	const name = "tombstone"
	now := tombstoneGolden(t)
	d, err := deletedBy("daily-report", &storage.DeletedError{ID: "daily-report", Version: 9, Tombstone: now})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, name, now,
		"# tombstone: what the engine's GC leaves in the store of a deleted instance\n# (storage.Retention.Delete): a record with its workflow and numbering, no\n# state; an instance started again with its ID continues the numbering.\n# Written by `go test ./engine -run TestTombstoneGolden -update`. Never regenerate\n# without a new format version: see docs/format.md.\n",
		"tombstone", renderTombstone(d), readTombstone)
}
