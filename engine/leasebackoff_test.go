package engine_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// failingCommits is a store whose next fail commits fail, writing nothing.
type failingCommits struct {
	storage.Store
	fail atomic.Int32
}

var errCommitDown = errors.New("the store is down")

func (s *failingCommits) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	if s.fail.Add(-1) >= 0 {
		return 0, errCommitDown
	}
	return s.Store.Commit(ctx, c)
}

// Work on a leased instance that fails holds its lease for a backoff that
// starts at a second and doubles with each consecutive failure, up to the
// lease's TTL, instead of the whole TTL: a transient failure costs a
// second. Through RunDue and ProcessInstance.
func TestLeaseBackoffAfterFailures(t *testing.T) {
	for _, via := range []string{"RunDue", "ProcessInstance"} {
		t.Run(via, func(t *testing.T) {
			ctx := t.Context()
			clock := engine.NewFakeClock(t0)
			s := &failingCommits{Store: memory.New()}
			e := newEngine(t, s, engine.WithClock(clock), engine.WithLeases("p", 10*time.Second), engine.WithFinish((&endLog{}).finish))
			if err := e.Register(requestWF); err != nil {
				t.Fatal(err)
			}
			e.Handle("ask-manager", &endLog{})
			if err := e.Start(ctx, requestWF, "x", Request{User: "ada"}); err != nil {
				t.Fatal(err)
			}
			if err := e.Drain(ctx); err != nil { // (the setup)
				t.Fatal(err)
			}
			clock.Advance(time.Hour) // the "give up" timer is due
			work := func() error {
				var err error
				if via == "RunDue" {
					_, err = e.RunDue(ctx, 10)
				} else {
					_, err = e.ProcessInstance(ctx, "x")
				}
				return err
			}
			s.fail.Store(5)
			// Held 1 s, 2 s, 4 s, 8 s, then the TTL (10 s): then it succeeds.
			for i, hold := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second} {
				if err := work(); !errors.Is(err, errCommitDown) {
					t.Fatalf("failure %d: %v, want the store's error", i+1, err)
				}
				now := clock.Now()
				next, err := s.NextWork(ctx, now)
				if err != nil {
					t.Fatal(err)
				}
				if want := now.Add(hold); !next.Equal(want) {
					t.Fatalf("after failure %d the instance has work again at %v (+%v), want +%v", i+1, next, next.Sub(now), hold)
				}
				if via == "RunDue" {
					if w, err := e.RunDue(ctx, 10); err != nil || w.Instances != 0 {
						t.Fatalf("RunDue within the backoff: %+v, %v; want nothing claimed", w, err)
					}
				} else {
					_, err := e.ProcessInstance(ctx, "x")
					if !errors.Is(err, storage.ErrLeased) {
						t.Fatalf("ProcessInstance within the backoff: %v, want storage.ErrLeased", err)
					}
				}
				clock.Advance(hold)
			}
			if err := work(); err != nil {
				t.Fatalf("after the backoffs: %v", err)
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			inst, err := e.Get(ctx, "x")
			if err != nil || inst.Meta.Status != interp.StatusCompleted {
				t.Fatalf("%v, %v: want it completed", inst.Meta.Status, err)
			}
			// A success forgets the failures: the next one backs off a second.
			if err := e.Start(ctx, requestWF, "y", Request{User: "bo"}); err != nil {
				t.Fatal(err)
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Hour)
			s.fail.Store(1)
			if via == "RunDue" {
				_, err = e.RunDue(ctx, 10)
			} else {
				_, err = e.ProcessInstance(ctx, "y")
			}
			if !errors.Is(err, errCommitDown) {
				t.Fatalf("a new failure: %v", err)
			}
			if next, _ := s.NextWork(ctx, clock.Now()); !next.Equal(clock.Now().Add(time.Second)) {
				t.Fatalf("after y's first failure it has work again at +%v, want +1s", next.Sub(clock.Now()))
			}
		})
	}
}
