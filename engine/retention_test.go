package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"github.com/weftflow/weft/storage/memory"
	"github.com/weftflow/weft/storage/postgres"
)

// Brief is the state of the workflows of the retention tests.
type Brief struct{ N int }

var (
	// quick finishes in its start transition.
	quick = dsl.MustCompile[Brief]("quick", dsl.S(dsl.Return("done")))
	// slow waits for an event, then finishes.
	slow = dsl.MustCompile[Brief]("slow", dsl.S(
		dsl.Wait("go", dsl.On("go", dsl.Signal(func(s *Brief, n int) (int, error) { s.N = n; return n, nil }))),
		dsl.Return("went"),
	))
)

// eachStore runs test on a fresh memory, bolt and Postgres store.
func eachStore(t *testing.T, test func(t *testing.T, s storage.Store)) {
	t.Run("memory", func(t *testing.T) { test(t, memory.New()) })
	t.Run("bolt", func(t *testing.T) {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "weft.db"), bolt.WithUnsafeNoSync())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		test(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		schema := pgtest.Schema(t, "engine_retention_")
		s, err := postgres.Open(t.Context(), pgtest.DSN(), postgres.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		test(t, s)
	})
}

func mustGC(t *testing.T, e *engine.Engine, want engine.GCReport) {
	t.Helper()
	got, err := e.GC(t.Context())
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("GC (-want +got):\n%s", d)
	}
}

func present(t *testing.T, e *engine.Engine, id string) bool {
	t.Helper()
	_, err := e.Get(t.Context(), id)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(%q): %v", id, err)
	}
	return err == nil
}

// TestRetention: finished instances go once their retention has passed
// since they finished, not before, and not while an effect of theirs is
// in the outbox or dead-lettered; running instances stay.
func TestRetention(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		ctx := t.Context()
		clock := engine.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		e := newEngine(t, s, engine.WithClock(clock), engine.WithRetention(time.Hour))
		if err := e.Register(quick, slow); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"q1", "q2", "q3"} {
			if err := e.Start(ctx, quick, id, Brief{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Start(ctx, slow, "s1", Brief{}); err != nil {
			t.Fatal(err)
		}
		// Expired, but each still has its Completed effect in the outbox.
		clock.Advance(2 * time.Hour)
		mustGC(t, e, engine.GCReport{Held: 3})

		// q3's effect is dead-lettered: it holds q3 until it is requeued
		// and performed.
		out, err := s.Outbox(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		var q3effect string
		for _, ef := range out {
			if ef.Instance == "q3" {
				q3effect = ef.ID
			}
		}
		l, err := s.Acquire(ctx, "q3", storage.ClaimRequest{Owner: "test", Now: time.Now(), TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeadLetter(ctx, l, q3effect, storage.RetryState{Attempts: 9, LastError: "hook down"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, l); err != nil {
			t.Fatal(err)
		}
		if err := e.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		mustGC(t, e, engine.GCReport{Deleted: 2, Held: 1})
		if present(t, e, "q1") || present(t, e, "q2") || !present(t, e, "q3") || !present(t, e, "s1") {
			t.Fatal("after GC: want q1 and q2 gone, q3 and s1 kept")
		}
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var output string
		if err := e.Await(actx, "q1", &output); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Await of a deleted instance = %v, want storage.ErrNotFound at once", err)
		}
		if _, err := e.Requeue(ctx, q3effect); err != nil {
			t.Fatal(err)
		}
		if err := e.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		mustGC(t, e, engine.GCReport{Deleted: 1})

		// s1 finishes now: its hour starts now, not at its start.
		if err := e.Send(ctx, "s1", "go", 7, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Advance(59 * time.Minute)
		mustGC(t, e, engine.GCReport{})
		clock.Advance(time.Minute)
		mustGC(t, e, engine.GCReport{Deleted: 1})
		if present(t, e, "s1") {
			t.Fatal("s1 kept after its retention")
		}
		counts, err := e.Count(ctx, storage.Filter{})
		if err != nil || len(counts) != 0 {
			t.Fatalf("Count after GC = %v, %v; want nothing", counts, err)
		}
		// The ID may be used again.
		if err := e.Start(ctx, quick, "q1", Brief{}); err != nil {
			t.Fatalf("Start of a deleted ID: %v", err)
		}
	})
}

// TestRetentionPerWorkflow: a workflow's own period wins over the
// engine's, KeepForever keeps, and without any period GC does nothing.
func TestRetentionPerWorkflow(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	clock := engine.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	start := func(e *engine.Engine) {
		t.Helper()
		if err := e.Register(quick, slow); err != nil {
			t.Fatal(err)
		}
	}
	e := newEngine(t, s, engine.WithClock(clock))
	start(e)
	for i := range 3 {
		if err := e.Start(ctx, quick, fmt.Sprintf("q%d", i), Brief{}); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx, slow, fmt.Sprintf("s%d", i), Brief{}); err != nil {
			t.Fatal(err)
		}
		if err := e.Send(ctx, fmt.Sprintf("s%d", i), "go", i, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(1000 * time.Hour)
	mustGC(t, e, engine.GCReport{}) // the default: keep forever

	e = newEngine(t, s, engine.WithClock(clock), engine.WithRetention(time.Hour), engine.WithWorkflowRetention("quick", engine.KeepForever))
	start(e)
	mustGC(t, e, engine.GCReport{Deleted: 3})
	counts, err := e.Count(ctx, storage.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]int{"completed": 3}, counts); d != "" {
		t.Errorf("Count (-want +got):\n%s", d)
	}
	e = newEngine(t, s, engine.WithClock(clock), engine.WithWorkflowRetention("quick", 2000*time.Hour))
	start(e)
	mustGC(t, e, engine.GCReport{})
	clock.Advance(1000 * time.Hour)
	mustGC(t, e, engine.GCReport{Deleted: 3})

	for _, bad := range []engine.Option{engine.WithRetention(0), engine.WithWorkflowRetention("", time.Hour),
		engine.WithWorkflowRetention("w", -time.Second), engine.WithRetentionInterval(0)} {
		if _, err := engine.New(s, bad); !errors.Is(err, engine.ErrInvalidOption) {
			t.Errorf("New with a bad retention option = %v, want ErrInvalidOption", err)
		}
	}
}

// TestRetentionUndated: an instance finished by a weft that kept no end
// time gets one from the first GC that finds it, and goes a period later.
func TestRetentionUndated(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	clock := engine.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEngine(t, s, engine.WithClock(clock), engine.WithRetention(time.Hour))
	if err := e.Register(quick); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, quick, "old", Brief{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	// Strip the end time, as an older weft wrote the record.
	si, err := s.Load(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := codec.DecodeRecord(si.Data)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Host) == 0 {
		t.Fatal("a finished instance has no host data: its end time is not kept")
	}
	rec.Host = nil
	if si.Data, err = codec.EncodeRecord(rec); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, storage.Commit{Instance: si, Expect: si.Version}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Hour)
	mustGC(t, e, engine.GCReport{Dated: 1})
	clock.Advance(30 * time.Minute)
	mustGC(t, e, engine.GCReport{})
	clock.Advance(30 * time.Minute)
	mustGC(t, e, engine.GCReport{Deleted: 1})
}

// TestRetentionInRun: Run deletes expired instances in the background, at
// its start and then every interval of the engine's clock.
func TestRetentionInRun(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		clock := engine.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		e := newEngine(t, s, engine.WithClock(clock), engine.WithRetention(time.Hour), engine.WithRetentionInterval(time.Minute),
			engine.WithPollInterval(10*time.Millisecond))
		if err := e.Register(quick); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx, quick, "q", Brief{}); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		waitDeleted(t, e, clock, "q", "Run did not delete an expired instance")
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

// TestFindAndCount lists and counts instances through the engine by
// workflow and status, page by page.
func TestFindAndCount(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		ctx := t.Context()
		e := newEngine(t, s)
		if err := e.Register(quick, slow); err != nil {
			t.Fatal(err)
		}
		for i := range 7 {
			if err := e.Start(ctx, slow, fmt.Sprintf("s%d", i), Brief{}); err != nil {
				t.Fatal(err)
			}
			if err := e.Start(ctx, quick, fmt.Sprintf("q%d", i), Brief{}); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{"s1", "s4"} {
			if err := e.Send(ctx, id, "go", 1, nil); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		q := storage.Query{Filter: storage.Filter{Workflow: "slow", Status: "running"}, Limit: 2}
		for {
			p, err := e.Find(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, inst := range p.Instances {
				if inst.Workflow != "slow" || inst.Meta.Status.String() != "running" {
					t.Errorf("Find returned %s, a %s %s", inst.ID, inst.Meta.Status, inst.Workflow)
				}
				got = append(got, inst.ID)
			}
			if p.Next == "" {
				break
			}
			q.After = p.Next
		}
		if d := cmp.Diff([]string{"s0", "s2", "s3", "s5", "s6"}, got); d != "" {
			t.Errorf("running slow instances (-want +got):\n%s", d)
		}
		counts, err := e.Count(ctx, storage.Filter{Workflow: "slow"})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string]int{"running": 5, "completed": 2}, counts); d != "" {
			t.Errorf("Count of slow (-want +got):\n%s", d)
		}
		if _, err := e.Find(ctx, storage.Query{Limit: 0}); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("Find with limit 0 = %v, want ErrInvalid", err)
		}
	})
}

// TestRetentionLock: Run's background GC runs only in the process that
// holds the store's retention lock; another holder keeps it from deleting
// until it lets go.
func TestRetentionLock(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := memory.New()
	other, held, err := s.Share().(storage.Locker).TryLock(ctx, "weft.retention") // another process's sweep
	if err != nil || !held {
		t.Fatalf("TryLock = %v, %v", held, err)
	}
	clock := engine.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEngine(t, s, engine.WithClock(clock), engine.WithRetention(time.Hour), engine.WithRetentionInterval(time.Minute),
		engine.WithPollInterval(10*time.Millisecond))
	if err := e.Register(quick); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, quick, "q", Brief{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	for range 50 { // many intervals past the period: the holder's turn, not ours
		clock.Advance(time.Hour)
		time.Sleep(2 * time.Millisecond)
	}
	if !present(t, e, "q") {
		t.Fatal("Run deleted an instance while another process held the retention lock")
	}
	other.Unlock()
	waitDeleted(t, e, clock, "q", "Run did not delete the expired instance once the lock was free")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestRetentionTerminatedAndReused: a terminated instance expires like a
// completed one, and a new run of a finished ID counts from its own end,
// not its previous run's.
func TestRetentionTerminatedAndReused(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		ctx := t.Context()
		clock := engine.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		e := newEngine(t, s, engine.WithClock(clock), engine.WithRetention(time.Hour))
		if err := e.Register(quick, slow); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx, slow, "s", Brief{}); err != nil {
			t.Fatal(err)
		}
		if err := e.Terminate(ctx, "s", "stuck"); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx, quick, "r", Brief{}); err != nil {
			t.Fatal(err)
		}
		if err := e.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Advance(50 * time.Minute)
		if err := e.Start(ctx, quick, "r", Brief{N: 2}, engine.WithIDReuse(engine.IDReuseAfterFinished)); err != nil {
			t.Fatal(err)
		}
		if err := e.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Advance(20 * time.Minute)
		mustGC(t, e, engine.GCReport{Deleted: 1}) // s, terminated 70 minutes ago; r's second run ended 20 minutes ago
		if present(t, e, "s") || !present(t, e, "r") {
			t.Fatal("want the terminated s gone and the second run of r kept")
		}
		clock.Advance(40 * time.Minute)
		mustGC(t, e, engine.GCReport{Deleted: 1})
	})
}

// waitDeleted moves the clock a minute at a time until Run has deleted
// instance id, failing with msg after 20 s.
func waitDeleted(t *testing.T, e *engine.Engine, clock *engine.FakeClock, id, msg string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for present(t, e, id) {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		clock.Advance(time.Minute)
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRetentionSignalWithStartThatFinishes: a signal-with-start whose event
// ends the instance in the same commit records its end time, as Start
// and every transition do, so its retention runs from then (found by the
// simulator: GC dated it instead, a second write to a finished instance).
func TestRetentionSignalWithStartThatFinishes(t *testing.T) {
	ctx := t.Context()
	clock := engine.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEngine(t, memory.New(), engine.WithClock(clock), engine.WithRetention(time.Hour))
	if err := e.Register(slow); err != nil {
		t.Fatal(err)
	}
	if err := e.SignalWithStart(ctx, slow, "sws", Brief{}, "go", 3); err != nil {
		t.Fatal(err)
	}
	if err := e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	var out string
	if err := e.Await(ctx, "sws", &out); err != nil || out != "went" {
		t.Fatalf("Await: %q, %v; want went", out, err)
	}
	clock.Advance(30 * time.Minute)
	mustGC(t, e, engine.GCReport{})
	clock.Advance(30 * time.Minute)
	mustGC(t, e, engine.GCReport{Deleted: 1})
}
