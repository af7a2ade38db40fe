package engine_test

// The journal's cost (issue 12): W1 (a commit per step) and W2 with the
// journal off and on, on the memory store and on bbolt with fsync on.
//
//	go test -run '^$' -bench 'Journal' -benchtime 3x -count 3 ./engine/

import (
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/journal"
	"github.com/weftflow/weft/storage/memory"
)

func BenchmarkJournal(b *testing.B) {
	on := []engine.Option{engine.WithJournal("", journal.Policy{Keep: 1000})}
	for _, store := range []struct {
		name string
		open func(*testing.B) benchStore
		n    int
	}{{"memory", openMemory, 10000}, {"bolt", openBolt, 1000}} {
		for _, j := range []struct {
			name string
			opts []engine.Option
		}{{"off", nil}, {"on", on}} {
			b.Run("W1/"+store.name+"/journal="+j.name, func(b *testing.B) {
				benchW1(b, store.open, store.n, w1Def(dsl.Budget(1)), j.opts...)
			})
			b.Run("W2/"+store.name+"/journal="+j.name, func(b *testing.B) {
				benchW2(b, store.open, store.n, j.opts...)
			})
		}
	}
}

// BenchmarkSendJournal is BenchmarkSend with a journal: the cost of an
// entry per transition, on its own.
func BenchmarkSendJournal(b *testing.B) {
	ctx := b.Context()
	e := newEngine(b, memory.New(), engine.WithJournal("", journal.Policy{Keep: 100}))
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
