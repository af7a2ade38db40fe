package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/golden"
)

// This file freezes the engine's host data (codec.Record.Host): the
// idempotency keys of keyed sends, which later versions must still
// recognize. The rule for changing it is in docs/format.md.

const hostGoldenDir = "testdata/golden-host"

// hostGolden is the host data after two keyed sends, one whose reply was
// kept and one whose reply was too large to keep.
func hostGolden(t *testing.T) []byte {
	t.Helper()
	reply, err := codec.Marshal(3)
	if err != nil {
		t.Fatal(err)
	}
	host, err := (&sendKey{key: "line-17", event: "item"}).add("order-1", nil, 4, reply)
	if err != nil {
		t.Fatal(err)
	}
	host, err = (&sendKey{key: "hook-9f2", event: "paid"}).add("order-1", host, 7, make([]byte, MaxKeptReply+1))
	if err != nil {
		t.Fatal(err)
	}
	return host
}

func renderHost(h hostData) string {
	var b strings.Builder
	for _, k := range h.Keys {
		fmt.Fprintf(&b, "key=%q event=%q callback=%d reply=%x dropped=%v\n", k.Key, k.Event, k.Callback, k.Reply, k.Dropped)
	}
	return b.String()
}

// hostCase is one frozen host data: how it is made, the instance it
// belongs to, and how it reads.
type hostCase struct {
	name, instance, section, header string
	make                            func(t *testing.T) []byte
	render                          func(hostData) string
}

var hostCases = []hostCase{
	{name: "keys", instance: "order-1", section: "keys", make: hostGolden, render: renderHost,
		header: "# keys: the engine's host data (codec.Record.Host) holding two idempotency keys.\n# Written by `go test ./engine -run TestHostGolden -update`. Never regenerate\n# without a new format version: see docs/format.md.\n"},
	{name: "ended", instance: "ticket-1", section: "host", make: hostEndedGolden, render: renderEnded,
		header: "# ended: the engine's host data (codec.Record.Host) of an instance that finished\n# after a keyed send: its idempotency key and its end time.\n# Written by `go test ./engine -run TestHostGoldenEnded -update`. Never regenerate\n# without a new format version: see docs/format.md.\n"},
}

// read checks a stored host data against its golden file.
func (c hostCase) read(raw []byte, want golden.File) []string {
	h, err := decodeHost(c.instance, raw)
	if err != nil {
		return []string{"the stored host data does not decode: " + err.Error()}
	}
	text, _ := want.Get(c.section)
	problems := golden.CompareText("decoded host data", text, c.render(h))
	again, err := codec.Marshal(h)
	if err != nil {
		problems = append(problems, "the decoded host data does not re-encode: "+err.Error())
	}
	return append(problems, golden.Compare("re-encoded host data", raw, again)...)
}

// check compares what the engine writes now with the golden file (or
// writes it, with -update).
func (c hostCase) check(t *testing.T) {
	now := c.make(t)
	h, err := decodeHost(c.instance, now)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, c.name, now, c.header, c.section, c.render(h), c.read)
}

// checkGolden compares now, what the engine writes today, with golden
// name in hostGoldenDir, which read checks with the current code (or,
// with -update, writes it: header, then now in hex and CBOR diagnostic
// notation, then rendered as section).
func checkGolden(t *testing.T, name string, now []byte, header, section, rendered string, read func(raw []byte, want golden.File) []string) {
	t.Helper()
	f := golden.File{
		Header: header,
		Sections: []golden.Section{
			{Name: "hex", Text: golden.Hex(now)},
			{Name: "diagnostic", Text: golden.Diag(now)},
			{Name: section, Text: rendered},
		},
	}
	if *golden.Update {
		if raw, want, err := golden.Files(hostGoldenDir, name, ".cbor"); err == nil &&
			!golden.MayOverwrite(t, name, read(raw, want)) {
			return
		}
		golden.Write(t, hostGoldenDir, name, ".cbor", now, f)
		return
	}
	raw, want, err := golden.Files(hostGoldenDir, name, ".cbor")
	if err != nil {
		t.Fatalf("%v (a new case is written with -update; see docs/format.md)", err)
	}
	golden.Fail(t, name, read(raw, want))
	if problems := golden.Compare("what is written now", raw, now); len(problems) > 0 {
		t.Errorf("golden %s: the engine now stores something else:\n  %s\n%s", name, strings.Join(problems, "\n  "), golden.Rule)
	}
}

func TestHostGolden(t *testing.T) { hostCases[0].check(t) }
