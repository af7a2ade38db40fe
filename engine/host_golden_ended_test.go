package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/golden"
)

// This file freezes the end time a finished instance's host data holds
// for retention (hostData.Ended), next to idempotency keys; the rule for
// changing it is in docs/format.md.

// hostEndedGolden is the host data of an instance that finished after a
// keyed send.
func hostEndedGolden(t *testing.T) []byte {
	t.Helper()
	reply, err := codec.Marshal("ok")
	if err != nil {
		t.Fatal(err)
	}
	host, err := (&sendKey{key: "close-1", event: "close"}).add("ticket-1", nil, 2, reply)
	if err != nil {
		t.Fatal(err)
	}
	host, err = markEnded("ticket-1", host, time.Date(2026, 11, 30, 18, 0, 0, 123, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return host
}

func renderEnded(h hostData) string {
	return renderHost(h) + fmt.Sprintf("ended=%s\n", time.Unix(0, h.Ended).UTC().Format(time.RFC3339Nano))
}

func readEnded(raw []byte, want golden.File) []string {
	h, err := decodeHost("ticket-1", raw)
	if err != nil {
		return []string{"the stored host data does not decode: " + err.Error()}
	}
	text, _ := want.Get("host")
	problems := golden.CompareText("decoded host data", text, renderEnded(h))
	again, err := codec.Marshal(h)
	if err != nil {
		problems = append(problems, "the decoded host data does not re-encode: "+err.Error())
	}
	return append(problems, golden.Compare("re-encoded host data", raw, again)...)
}

func TestHostGoldenEnded(t *testing.T) {
	const name = "ended"
	now := hostEndedGolden(t)
	h, err := decodeHost("ticket-1", now)
	if err != nil {
		t.Fatal(err)
	}
	f := golden.File{
		Header: "# ended: the engine's host data (codec.Record.Host) of an instance that finished\n# after a keyed send: its idempotency key and its end time.\n# Written by `go test ./engine -run TestHostGoldenEnded -update`. Never regenerate\n# without a new format version: see docs/format.md.\n",
		Sections: []golden.Section{
			{Name: "hex", Text: golden.Hex(now)},
			{Name: "diagnostic", Text: golden.Diag(now)},
			{Name: "host", Text: renderEnded(h)},
		},
	}
	if *golden.Update {
		if raw, want, err := golden.Files(hostGoldenDir, name, ".cbor"); err == nil &&
			!golden.MayOverwrite(t, name, readEnded(raw, want)) {
			return
		}
		golden.Write(t, hostGoldenDir, name, ".cbor", now, f)
		return
	}
	raw, want, err := golden.Files(hostGoldenDir, name, ".cbor")
	if err != nil {
		t.Fatalf("%v (a new case is written with -update; see docs/format.md)", err)
	}
	golden.Fail(t, name, readEnded(raw, want))
	if problems := golden.Compare("host data written now", raw, now); len(problems) > 0 {
		t.Errorf("golden %s: the engine now stores something else:\n  %s\n%s", name, strings.Join(problems, "\n  "), golden.Rule)
	}
}
