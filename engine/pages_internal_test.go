package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// pageCounter is a store that counts the due entries and effects its
// reads return.
type pageCounter struct {
	storage.Store
	mem         *memory.Store
	dueRead     int
	outboxRead  int
	fromTheTop  int // reads that started at the beginning again, after the first
	dueReads    int
	outboxReads int
}

func (s *pageCounter) DueBefore(ctx context.Context, t time.Time, limit int) ([]storage.Due, error) {
	return s.DueAfter(ctx, t, storage.Due{}, limit)
}

func (s *pageCounter) DueAfter(ctx context.Context, t time.Time, after storage.Due, limit int) ([]storage.Due, error) {
	if s.dueReads++; s.dueReads > 1 && after == (storage.Due{}) {
		s.fromTheTop++
	}
	due, err := s.mem.DueAfter(ctx, t, after, limit)
	s.dueRead += len(due)
	return due, err
}

func (s *pageCounter) Outbox(ctx context.Context, limit int) ([]storage.Effect, error) {
	return s.OutboxAfter(ctx, 0, limit)
}

func (s *pageCounter) OutboxAfter(ctx context.Context, after uint64, limit int) ([]storage.Effect, error) {
	if s.outboxReads++; s.outboxReads > 1 && after == 0 {
		s.fromTheTop++
	}
	effs, err := s.mem.OutboxAfter(ctx, after, limit)
	s.outboxRead += len(effs)
	return effs, err
}

// withoutPages hides a store's Pages, as a store that lacks them.
type withoutPages struct{ storage.Store }

// A pass whose first page of due instances and of effects is all in flight
// reads the next page on from the last entry, not the first page again
// with a larger limit; a store without storage.Pages gets the same jobs.
func TestPassReadsOnPastWorkInFlight(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 3*firstBatch + 10
	setup := func(t *testing.T, pages bool) (*Engine, *pageCounter) {
		mem := memory.New()
		for i := range n {
			id := fmt.Sprintf("i%04d", i)
			eff := storage.Effect{ID: "e" + id, Instance: id, Data: []byte{0xff}}
			if _, err := mem.Create(ctx, storage.Instance{ID: id, Workflow: "w", Status: "running", Due: now.Add(-time.Duration(n-i) * time.Second)}, []storage.Effect{eff}); err != nil {
				t.Fatal(err)
			}
		}
		c := &pageCounter{mem: mem}
		c.Store = mem
		var store storage.Store = c
		if !pages {
			store = withoutPages{c}
		}
		e, err := New(store)
		if err != nil {
			t.Fatal(err)
		}
		// The first firstBatch of each are in flight.
		for i := range firstBatch {
			id := fmt.Sprintf("i%04d", i)
			for _, k := range []jobKey{{resume: true, id: id}, {id: "e" + id}} {
				if ok, _ := e.work.claim(k, now); !ok {
					t.Fatalf("claim %v", k)
				}
			}
		}
		return e, c
	}
	for _, pages := range []bool{true, false} {
		t.Run(fmt.Sprintf("pages=%v", pages), func(t *testing.T) {
			e, c := setup(t, pages)
			var got []jobKey
			if _, err := e.pass(ctx, now, 0, func(j job) bool { got = append(got, j.key); return true }); err != nil {
				t.Fatal(err)
			}
			// The second page, twice the first, holds the next 2*firstBatch.
			var expect []jobKey
			for i := firstBatch; i < 3*firstBatch; i++ {
				expect = append(expect, jobKey{resume: true, id: fmt.Sprintf("i%04d", i)})
			}
			for i := firstBatch; i < 3*firstBatch; i++ {
				expect = append(expect, jobKey{id: fmt.Sprintf("ei%04d", i)})
			}
			if !slices.Equal(got, expect) {
				t.Fatalf("the pass handed out %d jobs (first %v), want %d (first %v)", len(got), got[:min(1, len(got))], len(expect), expect[0])
			}
			if pages {
				if c.dueRead != 3*firstBatch || c.outboxRead != 3*firstBatch || c.fromTheTop != 0 {
					t.Errorf("read %d due entries and %d effects, %d reads from the top again; want %d, %d and 0",
						c.dueRead, c.outboxRead, c.fromTheTop, 3*firstBatch, 3*firstBatch)
				}
			}
		})
	}
}
