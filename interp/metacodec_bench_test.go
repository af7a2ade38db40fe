package interp_test

import (
	"testing"
	"time"

	"github.com/weftflow/weft/interp"
)

// benchMeta is a meta as a busy instance has it: a few threads parked at
// waits with timers, one retrying, a buffered event.
func benchMeta() interp.Meta {
	m := interp.Meta{Instance: "order-12345", Seq: 42, NextCallback: 17, Due: time.Unix(0, 1767268800000000000).UTC(),
		Started: time.Unix(0, 1767225600000000000).UTC(), Version: 3, Recent: []uint64{3, 5, 8, 13}}
	for i, id := range []string{"main", "watch[1]", "watch[2]", "poll"} {
		th := interp.Thread{ID: id, Path: "main/3/wait", Phase: interp.PhaseWaiting}
		for j := range 3 {
			th.Waits = append(th.Waits, interp.Pending{Callback: uint64(10*i + j + 1), Event: "tick", Kind: interp.Timer,
				At: time.Unix(0, 1767268800000000000+int64(i*1000+j)).UTC()})
		}
		m.Threads = append(m.Threads, th)
	}
	m.Threads = append(m.Threads, interp.Thread{ID: "retry", Path: "main/5", Phase: interp.PhaseRetry, Attempt: 2, At: time.Unix(0, 1767268900000000000).UTC()})
	m.Inbox = []interp.Buffered{{Event: "ping", Payload: []byte{0x01}, At: time.Unix(0, 1767268000000000000).UTC()}}
	return m
}

func BenchmarkEncodeMeta(b *testing.B) {
	m := benchMeta()
	b.ReportAllocs()
	for b.Loop() {
		_ = interp.EncodeMeta(m)
	}
}

func BenchmarkDecodeMeta(b *testing.B) {
	data := interp.EncodeMeta(benchMeta())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := interp.DecodeMeta(data); err != nil {
			b.Fatal(err)
		}
	}
}
