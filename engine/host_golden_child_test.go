package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/golden"
)

// This file freezes the parent link a child instance's host data holds
// (hostData.Parent, child.go), next to its end time; the rule for changing
// it is in docs/format.md.

// hostChildGolden is the host data of a child that finished.
func hostChildGolden(t *testing.T) []byte {
	t.Helper()
	host, err := codec.Marshal(hostData{Parent: &parentLink{ID: "order-1", Callback: 3}})
	if err != nil {
		t.Fatal(err)
	}
	host, err = markEnded("order-1/pick#3", host, time.Date(2026, 11, 30, 18, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return host
}

func renderChildHost(h hostData) string {
	s := renderEnded(h)
	if h.Parent != nil {
		s += fmt.Sprintf("parent=%q callback=%d\n", h.Parent.ID, h.Parent.Callback)
	}
	return s
}

func readChildHost(raw []byte, want golden.File) []string {
	h, err := decodeHost("order-1/pick#3", raw)
	if err != nil {
		return []string{"the stored host data does not decode: " + err.Error()}
	}
	text, _ := want.Get("host")
	problems := golden.CompareText("decoded host data", text, renderChildHost(h))
	again, err := codec.Marshal(h)
	if err != nil {
		problems = append(problems, "the decoded host data does not re-encode: "+err.Error())
	}
	return append(problems, golden.Compare("re-encoded host data", raw, again)...)
}

func TestHostGoldenChild(t *testing.T) {
	const name = "child"
	now := hostChildGolden(t)
	h, err := decodeHost("order-1/pick#3", now)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, name, now,
		"# child: the engine's host data (codec.Record.Host) of a child instance that\n# finished: its end time and the link to the parent waiting for it.\n# Written by `go test ./engine -run TestHostGoldenChild -update`. Never regenerate\n# without a new format version: see docs/format.md.\n",
		"host", renderChildHost(h), readChildHost)
}
