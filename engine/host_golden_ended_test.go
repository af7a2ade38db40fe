package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
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

func TestHostGoldenEnded(t *testing.T) { hostCases[1].check(t) }
