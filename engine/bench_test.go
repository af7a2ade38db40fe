package engine_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/weftflow/weft/storage/memory"
)

// One Send to a long-lived counter instance per op: the cost of a
// transition (load, decode, apply, encode, commit) in memory. Like W3, it
// must not grow with the number of events already handled.
func BenchmarkSend(b *testing.B) {
	ctx := context.Background()
	e := newEngine(b, memory.New())
	if err := e.Register(counterWF); err != nil {
		b.Fatal(err)
	}
	if err := e.Start(ctx, counterWF, "c", Count{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Send(ctx, "c", "inc", 1, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// Start then Send per op: a W2-like workflow end to end, including the
// finish effect dispatched by Drain every 1000 instances.
func BenchmarkStartSend(b *testing.B) {
	ctx := context.Background()
	e := newEngine(b, memory.New())
	if err := e.Register(approvalWF); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := strconv.Itoa(i)
		if err := e.Start(ctx, approvalWF, id, Approval{User: "ada"}); err != nil {
			b.Fatal(err)
		}
		if err := e.Send(ctx, id, "decide", Decision{Approve: true}, nil); err != nil {
			b.Fatal(err)
		}
		if i++; i%1000 == 0 {
			if err := e.Drain(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}
