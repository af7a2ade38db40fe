package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
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
// Of due instances, it goes on reading page after page while it finds
// work.
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
			// The second page, twice the first, holds the next 2*firstBatch;
			// of due instances, a third the rest.
			var expect []jobKey
			for i := firstBatch; i < n; i++ {
				expect = append(expect, jobKey{resume: true, id: fmt.Sprintf("i%04d", i)})
			}
			for i := firstBatch; i < 3*firstBatch; i++ {
				expect = append(expect, jobKey{id: fmt.Sprintf("ei%04d", i)})
			}
			if !slices.Equal(got, expect) {
				t.Fatalf("the pass handed out %d jobs (first %v), want %d (first %v)", len(got), got[:min(1, len(got))], len(expect), expect[0])
			}
			if pages {
				if c.dueRead != n || c.outboxRead != 3*firstBatch || c.fromTheTop != 0 {
					t.Errorf("read %d due entries and %d effects, %d reads from the top again; want %d, %d and 0",
						c.dueRead, c.outboxRead, c.fromTheTop, n, 3*firstBatch)
				}
			}
		})
	}
}

// An instance that runs many transitions in a row under Run (a statement
// budget of 1: each step is a commit due at once) is resumed by one job
// chaining its transitions, and its commits ask for no pass: a pass would
// only find it in flight. Before, every commit woke the run loop for a
// read of the due index.
func TestChainAsksForNoPass(t *testing.T) {
	ctx := context.Background()
	var body []dsl.Stmt
	for i := range maxChain - 2 {
		// Slow steps, so that the passes a commit would ask for do not
		// merge into one.
		body = append(body, dsl.Step("step "+strconv.Itoa(i), func(s *chainState) error { time.Sleep(2 * time.Millisecond); s.N++; return nil }))
	}
	def := dsl.MustCompile[chainState]("chain", dsl.S(body...), dsl.Budget(1))
	mem := memory.New()
	c := &pageCounter{Store: mem, mem: mem}
	done := make(chan struct{})
	e, err := New(c, WithPollInterval(time.Hour), WithFinish(func(context.Context, EffectInfo) error { close(done); return nil }))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(def); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	ran := make(chan error)
	go func() { ran <- e.Run(rctx) }()
	if err := e.Start(ctx, def, "c", chainState{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the instance did not finish")
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	// The first pass, the one the start's commit asks for, the one after
	// the job, and perhaps one more that raced with them.
	if n := c.dueReads; n > 5 {
		t.Errorf("%d reads of the due index for one instance of %d transitions in a row, want at most 5", n, maxChain-2)
	}
}

type chainState struct{ N int }

// Resumes that a pass hands out ask for no further pass when they commit
// and leave nothing due: 300 timers firing at once take a few reads of
// the due index, not one per resume.
func TestResumesAskForNoPass(t *testing.T) {
	const n = 300
	if reads, _ := timerBurst(t, n); reads > 10 {
		t.Errorf("%d reads of the due index to resume %d instances, want at most 10", reads, n)
	}
}

// timerBurst starts n instances waiting for an hour's timer on a fake
// clock, runs them with Run (and opts), fires every timer at once and
// waits for them to finish. It returns the reads of the due index that
// took, and the entries they returned.
func timerBurst(t *testing.T, n int, opts ...Option) (reads, entries int64) {
	t.Helper()
	ctx := context.Background()
	def := dsl.MustCompile[chainState]("timer", dsl.Wait("hour",
		dsl.On("elapsed", dsl.After(time.Hour), dsl.Return(true))))
	clock := NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	mem := memory.New()
	c := &countingReads{Store: mem, mem: mem}
	done := make(chan struct{})
	var finished atomic.Int64
	e, err := New(c, append([]Option{WithClock(clock), WithPollInterval(time.Hour), WithFinish(func(context.Context, EffectInfo) error {
		if finished.Add(1) == int64(n) {
			close(done)
		}
		return nil
	})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(def); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := e.Start(ctx, def, strconv.Itoa(i), chainState{}); err != nil {
			t.Fatal(err)
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	ran := make(chan error)
	go func() { ran <- e.Run(rctx) }()
	// Let the first pass find nothing due, then fire every timer.
	for c.dueReads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	readsBefore, entriesBefore := c.dueReads.Load(), c.dueEntries.Load()
	clock.Advance(time.Hour)
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%d of %d instances finished", finished.Load(), n)
	}
	reads, entries = c.dueReads.Load()-readsBefore, c.dueEntries.Load()-entriesBefore
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	return reads, entries
}

// countingReads counts the reads of a store's due index, and the entries
// they return.
type countingReads struct {
	storage.Store
	mem        *memory.Store
	dueReads   atomic.Int64
	dueEntries atomic.Int64
}

func (s *countingReads) DueBefore(ctx context.Context, t time.Time, limit int) ([]storage.Due, error) {
	return s.DueAfter(ctx, t, storage.Due{}, limit)
}

func (s *countingReads) DueAfter(ctx context.Context, t time.Time, after storage.Due, limit int) ([]storage.Due, error) {
	s.dueReads.Add(1)
	due, err := s.mem.DueAfter(ctx, t, after, limit)
	s.dueEntries.Add(int64(len(due)))
	return due, err
}

func (s *countingReads) OutboxAfter(ctx context.Context, after uint64, limit int) ([]storage.Effect, error) {
	return s.mem.OutboxAfter(ctx, after, limit)
}

// Timers firing at once, with many workers: a pass reads on past the
// instances in flight, so the due index's entries are read about once
// each. (A pass that stopped at its first page with work read all those in
// flight again for every page's worth: with 512 workers, W4 went three
// times slower than with 128.)
func TestTimerBurstReadsDueEntriesOnce(t *testing.T) {
	const n = 5000
	_, read := timerBurst(t, n, WithWorkers(512))
	t.Logf("%d due entries read to resume %d instances", read, n)
	if read > 2*n {
		t.Errorf("%d due entries read to resume %d instances, want at most %d", read, n, 2*n)
	}
}
