package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/journal"
	"github.com/weftflow/weft/storage"
)

// An ID started again after retention deleted its instance continues the
// deleted instance's numbering, as a new run of a reused ID does: no
// effect ID repeats (receivers de-duplicate on them), a callback meant
// for the deleted instance is refused as stale, the store's versions
// follow the deleted one's, and the new instance's journal replays. By
// Start and by SignalWithStart, on every store.
func TestStartAfterRetentionContinuesNumbering(t *testing.T) {
	for name, open := range terminateStores(t) {
		t.Run(name, func(t *testing.T) {
			l := &endLog{}
			clock := engine.NewFakeClock(t0)
			e := newEngine(t, open(), engine.WithClock(clock), engine.WithFinish(l.finish),
				engine.WithRetention(time.Hour), engine.WithJournal("", journal.Policy{}))
			if err := e.Register(requestWF); err != nil {
				t.Fatal(err)
			}
			e.Handle("ask-manager", l)
			ctx := t.Context()
			run := func(start func() error, waiting func()) engine.Instance {
				t.Helper()
				if err := start(); err != nil {
					t.Fatalf("start: %v", err)
				}
				if err := e.Drain(ctx); err != nil {
					t.Fatal(err)
				}
				inst, err := e.Get(ctx, "daily")
				if err != nil {
					t.Fatal(err)
				}
				if inst.Meta.Status == interp.StatusRunning {
					if waiting != nil {
						waiting()
					}
					if err := e.Send(ctx, "daily", "answer", "yes", nil); err != nil {
						t.Fatal(err)
					}
					if err := e.Drain(ctx); err != nil {
						t.Fatal(err)
					}
				}
				n, div, err := journal.ReplayStored(ctx, e.Store(), requestWF, "daily")
				if err != nil || div != nil {
					t.Fatalf("replay of the journal: %d entries, %v, %v", n, div, err)
				}
				if inst, err = e.Get(ctx, "daily"); err != nil || inst.Meta.Status != interp.StatusCompleted {
					t.Fatalf("%+v, %v: want it completed", inst.Meta, err)
				}
				return inst
			}
			gc := func() {
				t.Helper()
				clock.Advance(2 * time.Hour)
				if rep, err := e.GC(ctx); err != nil || rep.Deleted != 1 {
					t.Fatalf("GC = %+v, %v; want one deletion", rep, err)
				}
			}

			first := run(func() error { return e.Start(ctx, requestWF, "daily", Request{User: "ada"}) }, nil)
			gc()
			second := run(func() error { return e.Start(ctx, requestWF, "daily", Request{User: "bo"}) }, func() {
				// A callback the deleted instance issued is stale for
				// the new one, which waits with a callback of its own.
				if err := e.Deliver(ctx, "daily", 1, "late", nil); !errors.Is(err, interp.ErrStaleCallback) {
					t.Errorf("a callback of the deleted instance, delivered to the new one: %v; want interp.ErrStaleCallback", err)
				}
			})
			if second.Meta.Seq <= first.Meta.Seq || second.Meta.NextCallback <= first.Meta.NextCallback || second.Version <= first.Version {
				t.Errorf("after the deletion: seq %d, callbacks to %d, version %d; want them past the deleted instance's %d, %d, %d",
					second.Meta.Seq, second.Meta.NextCallback, second.Version, first.Meta.Seq, first.Meta.NextCallback, first.Version)
			}
			gc()
			third := run(func() error { return e.SignalWithStart(ctx, requestWF, "daily", Request{User: "cy"}, "answer", "yes") }, nil)
			if third.Meta.Seq <= second.Meta.Seq || third.Meta.NextCallback <= second.Meta.NextCallback || third.Version <= second.Version {
				t.Errorf("after the second deletion: seq %d, callbacks to %d, version %d; want them past %d, %d, %d",
					third.Meta.Seq, third.Meta.NextCallback, third.Version, second.Meta.Seq, second.Meta.NextCallback, second.Version)
			}
			// Each instance's setup, teardown and end: distinct callbacks.
			want := "setup daily cb1\nteardown daily cb1\ncompleted daily \"\"\n" +
				"setup daily cb3\nteardown daily cb3\ncompleted daily \"\"\n" +
				"setup daily cb5\nteardown daily cb5\ncompleted daily \"\""
			if got := l.String(); got != want {
				t.Errorf("effects of the three instances:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// Every effect ID the engine writes for an ID is new, however often
// retention deletes its instance and a Start or SignalWithStart begins it
// again: the outbox's IDs, read as the store writes them.
func TestEffectIDsNeverRepeatAcrossDeletions(t *testing.T) {
	for name, open := range terminateStores(t) {
		t.Run(name, func(t *testing.T) {
			s := &writtenIDs{seen: map[string]int{}}
			clock := engine.NewFakeClock(t0)
			s.Store = open()
			e := newEngine(t, s, engine.WithClock(clock), engine.WithFinish((&endLog{}).finish), engine.WithRetention(time.Minute))
			if err := e.Register(requestWF); err != nil {
				t.Fatal(err)
			}
			e.Handle("ask-manager", &endLog{})
			ctx := t.Context()
			for i := range 12 {
				var err error
				switch i % 3 {
				case 0:
					err = e.Start(ctx, requestWF, "id", Request{User: "u"})
				case 1:
					err = e.SignalWithStart(ctx, requestWF, "id", Request{User: "u"}, "answer", "now")
				case 2:
					err = e.Start(ctx, requestWF, "id", Request{User: "u"}, engine.WithIDReuse(engine.IDReuseAfterFinished))
				}
				if err != nil {
					t.Fatalf("start %d: %v", i, err)
				}
				if i%3 != 1 {
					if err := e.Send(ctx, "id", "answer", "yes", nil); err != nil {
						t.Fatal(err)
					}
				}
				if err := e.Drain(ctx); err != nil {
					t.Fatal(err)
				}
				clock.Advance(time.Hour)
				if rep, err := e.GC(ctx); err != nil || rep.Deleted != 1 {
					t.Fatalf("GC %d = %+v, %v", i, rep, err)
				}
			}
			if rep := s.repeats(); rep != "" {
				t.Fatalf("effect IDs written more than once: %s", rep)
			}
			if len(s.seen) < 12*3 {
				t.Fatalf("%d effect IDs written: the test saw too few", len(s.seen))
			}
		})
	}
}

// Starts race over tombstones: two engines sharing a store start the same
// deleted IDs at once, by Start, SignalWithStart and Start with
// IDReuseAfterFinished, several goroutines per ID. Each call succeeds or
// is refused for a reason of its own (the ID is taken, or its instance
// already finished); none leaks the store's DeletedError or a conflict,
// every ID ends with one instance, and no effect ID is written twice, on
// every store.
func TestConcurrentStartsOverTombstones(t *testing.T) {
	for name, open := range terminateStores(t) {
		t.Run(name, func(t *testing.T) {
			s := &writtenIDs{seen: map[string]int{}}
			s.Store = open()
			clock := engine.NewFakeClock(t0)
			var engines []*engine.Engine
			for range 2 {
				e := newEngine(t, s, engine.WithClock(clock), engine.WithFinish((&endLog{}).finish), engine.WithRetention(time.Minute))
				if err := e.Register(requestWF); err != nil {
					t.Fatal(err)
				}
				e.Handle("ask-manager", &endLog{})
				engines = append(engines, e)
			}
			ctx := t.Context()
			const ids, racers = 12, 4
			for round := range 3 {
				var wg sync.WaitGroup
				errs := make(chan error, ids*racers)
				for i := range ids {
					id := fmt.Sprintf("id%02d", i)
					for r := range racers {
						e := engines[(i+r)%2]
						wg.Go(func() {
							var err error
							switch (round + r) % 3 {
							case 0:
								err = e.Start(ctx, requestWF, id, Request{User: "u"})
							case 1:
								err = e.SignalWithStart(ctx, requestWF, id, Request{User: "u"}, "answer", "now")
							case 2:
								err = e.Start(ctx, requestWF, id, Request{User: "u"}, engine.WithIDReuse(engine.IDReuseAfterFinished))
							}
							switch {
							case err == nil, errors.Is(err, engine.ErrExists), errors.Is(err, interp.ErrFinished):
							default:
								errs <- fmt.Errorf("round %d, %s, racer %d: %w", round, id, r, err)
							}
						})
					}
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				if t.Failed() {
					return
				}
				for i := range ids {
					id := fmt.Sprintf("id%02d", i)
					inst, err := engines[0].Get(ctx, id)
					if err != nil {
						t.Fatalf("round %d: %s after the race: %v", round, id, err)
					}
					if inst.Meta.Status == interp.StatusRunning {
						if err := engines[1].Send(ctx, id, "answer", "yes", nil); err != nil {
							t.Fatalf("round %d: %s: %v", round, id, err)
						}
					}
				}
				for _, e := range engines {
					if err := e.Drain(ctx); err != nil {
						t.Fatal(err)
					}
				}
				clock.Advance(time.Hour)
				if rep, err := engines[round%2].GC(ctx); err != nil || rep.Deleted != ids {
					t.Fatalf("round %d: GC = %+v, %v; want %d deletions", round, rep, err, ids)
				}
			}
			if rep := s.repeats(); rep != "" {
				t.Fatalf("effect IDs written more than once: %s", rep)
			}
			if len(s.seen) < 3*ids*2 { // a setup and an end at least, per ID and round
				t.Fatalf("%d effect IDs written: the test saw too few", len(s.seen))
			}
		})
	}
}

// writtenIDs is a store that counts the effect IDs written to it.
type writtenIDs struct {
	storage.Store
	mu   sync.Mutex
	seen map[string]int
}

func (s *writtenIDs) note(effects []storage.Effect) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range effects {
		s.seen[e.ID]++
	}
}

func (s *writtenIDs) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	v, err := s.Store.Create(ctx, inst, effects)
	if err == nil {
		s.note(effects)
	}
	return v, err
}

func (s *writtenIDs) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	v, err := s.Store.Commit(ctx, c)
	if err == nil {
		s.note(c.Effects)
	}
	return v, err
}

func (s *writtenIDs) repeats() string {
	var out []string
	for id, n := range s.seen {
		if n > 1 {
			out = append(out, fmt.Sprintf("%s ×%d", id, n))
		}
	}
	return strings.Join(out, ", ")
}
