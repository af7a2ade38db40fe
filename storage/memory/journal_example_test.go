package memory_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// A journal kept with the record: every Commit appends an entry in the
// same write, and a Keep bounds it, trimming only up to an entry that
// carries the record before it (Base), so that what is kept can be
// replayed.
func ExampleStore_ReadJournal() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()
	at := time.Date(2030, time.January, 1, 9, 0, 0, 0, time.UTC)

	record := []byte("v1")
	_, err := s.Create(ctx, storage.Instance{ID: "order-1", Data: record, Journal: &storage.JournalWrite{
		Entry: storage.JournalEntry{Seq: 1, Time: at, Data: []byte("started")},
	}}, nil)
	if err != nil {
		panic(err)
	}
	keep := &storage.JournalKeep{Last: 2}
	for v := uint64(1); v <= 4; v++ {
		entry := storage.JournalEntry{Seq: v + 1, Time: at.Add(time.Duration(v) * time.Minute), Data: fmt.Appendf(nil, "event %d", v)}
		if v%2 == 0 {
			entry.Base = record // every other entry is a starting point
		}
		record = fmt.Appendf(nil, "v%d", v+1)
		_, err := s.Commit(ctx, storage.Commit{
			Instance: storage.Instance{ID: "order-1", Data: record, Journal: &storage.JournalWrite{Entry: entry, Keep: keep}},
			Expect:   v,
		})
		if err != nil {
			panic(err)
		}
	}

	entries, err := s.ReadJournal(ctx, "order-1", 0, 0)
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		fmt.Printf("%d %s %q base=%q\n", e.Seq, e.Time.Format("15:04"), e.Data, e.Base)
	}
	// Output:
	// 3 09:02 "event 2" base="v2"
	// 4 09:03 "event 3" base=""
	// 5 09:04 "event 4" base="v4"
}
