package storagetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
)

// testConcurrentSameVersion races n writers committing on one instance from
// the version they all loaded: exactly one must win, the rest must get
// ErrConflict and leave no trace. The writers use the same effect ID, as
// hosts deriving IDs from the version do.
func testConcurrentSameVersion(t *testing.T, open opener) {
	for _, n := range []int{2, 16} {
		t.Run(fmt.Sprintf("%d writers", n), func(t *testing.T) {
			s := open.fresh(t)
			ctx := t.Context()
			for round := range 10 {
				id := fmt.Sprintf("race-%d", round)
				mustCreate(t, s, storage.Instance{ID: id, Data: []byte("start")})

				start := make(chan struct{})
				errs := make([]error, n)
				var wg sync.WaitGroup
				for g := range n {
					wg.Go(func() {
						<-start
						mine := fmt.Appendf(nil, "writer %d", g)
						_, errs[g] = s.Commit(ctx, storage.Commit{
							Instance: storage.Instance{ID: id, Due: at(time.Duration(g+1) * time.Second), Data: mine},
							Expect:   1,
							Effects:  []storage.Effect{{ID: id + "/2", Instance: id, Data: mine}},
						})
					})
				}
				close(start)
				wg.Wait()

				winner := -1
				for g, err := range errs {
					switch {
					case err == nil && winner >= 0:
						t.Errorf("round %d: writers %d and %d both committed from version 1", round, winner, g)
					case err == nil:
						winner = g
					case !errors.Is(err, storage.ErrConflict):
						t.Errorf("round %d: losing writer %d got %v, want ErrConflict", round, g, err)
					}
				}
				if winner < 0 {
					t.Fatalf("round %d: no writer committed: %v", round, errs)
				}
				mine := fmt.Appendf(nil, "writer %d", winner)
				want := storage.Instance{ID: id, Version: 2, Due: at(time.Duration(winner+1) * time.Second), Data: mine}
				if d := diff(want, mustLoad(t, s, id)); d != "" {
					t.Errorf("round %d: Load (-want +got):\n%s", round, d)
				}
				var got []storage.Effect
				for _, e := range mustOutbox(t, s, all) {
					if e.Instance == id {
						got = append(got, e)
					}
				}
				if d := diff([]storage.Effect{{ID: id + "/2", Instance: id, Data: mine}}, got); d != "" {
					t.Errorf("round %d: outbox of %s (-want +got):\n%s", round, id, d)
				}
				if d := diff([]storage.Due{{ID: id, At: want.Due}}, dueOf(t, s, id)); d != "" {
					t.Errorf("round %d: due index for %s (-want +got):\n%s", round, id, d)
				}
			}
		})
	}
}

// dueOf returns the due-index entries of instance id.
func dueOf(t tb, s storage.Store, id string) []storage.Due {
	t.Helper()
	var out []storage.Due
	for _, d := range mustDue(t, s, farFuture, all) {
		if d.ID == id {
			out = append(out, d)
		}
	}
	return out
}

// testConcurrentRetryLoops runs goroutines that each increment a counter
// stored in one instance with load-modify-commit loops, retrying on
// ErrConflict. No increment may be lost.
func testConcurrentRetryLoops(t *testing.T, open opener) {
	const (
		goroutines = 8
		increments = 20 // per goroutine
		maxTries   = 100 * goroutines * increments
	)
	s := open.fresh(t)
	ctx := t.Context()
	const id = "counter"
	mustCreate(t, s, storage.Instance{ID: id, Data: counter(0)})

	var conflicts atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			done := 0
			for tries := 0; done < increments; tries++ {
				if tries == maxTries {
					t.Errorf("gave up after %d tries", tries)
					return
				}
				inst, err := s.Load(ctx, id)
				if err != nil {
					t.Errorf("Load: %v", err)
					return
				}
				n, err := strconv.Atoi(string(inst.Data))
				if err != nil {
					t.Errorf("Load: Data %q is not a counter", inst.Data)
					return
				}
				next := inst.Version + 1
				v, err := s.Commit(ctx, storage.Commit{
					Instance: storage.Instance{ID: id, Data: counter(n + 1)},
					Expect:   inst.Version,
					Effects:  []storage.Effect{{ID: fmt.Sprintf("%s@%d", id, next), Instance: id, Data: counter(n + 1)}},
				})
				switch {
				case errors.Is(err, storage.ErrConflict):
					conflicts.Add(1)
					continue
				case err != nil:
					t.Errorf("Commit(expect %d): %v", inst.Version, err)
					return
				case v != next:
					t.Errorf("Commit(expect %d) = version %d, want %d", inst.Version, v, next)
				}
				done++
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	const total = goroutines * increments
	want := storage.Instance{ID: id, Version: total + 1, Data: counter(total)}
	if d := diff(want, mustLoad(t, s, id)); d != "" {
		t.Errorf("Load after %d increments (-want +got):\n%s", total, d)
	}
	// One effect per successful commit, in version order.
	var wantEffects []storage.Effect
	for n := 1; n <= total; n++ {
		wantEffects = append(wantEffects, storage.Effect{ID: fmt.Sprintf("%s@%d", id, n+1), Instance: id, Data: counter(n)})
	}
	if d := diff(wantEffects, mustOutbox(t, s, all)); d != "" {
		t.Errorf("Outbox (-want +got):\n%s", d)
	}
	t.Logf("%d conflicts retried", conflicts.Load())
}

// testConcurrentInstances commits on different instances concurrently: no
// commit may fail.
func testConcurrentInstances(t *testing.T, open opener) {
	const (
		goroutines = 8
		commits    = 10 // per goroutine, after Create
	)
	s := open.fresh(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			id := fmt.Sprintf("inst-%d", g)
			eff := func(v int) []storage.Effect {
				return []storage.Effect{{ID: fmt.Sprintf("%s@%d", id, v), Instance: id, Data: counter(v)}}
			}
			if _, err := s.Create(ctx, storage.Instance{ID: id, Data: counter(1)}, eff(1)); err != nil {
				t.Errorf("Create(%q): %v", id, err)
				return
			}
			for v := 1; v <= commits; v++ {
				got, err := s.Commit(ctx, storage.Commit{
					Instance: storage.Instance{ID: id, Due: at(time.Duration(v) * time.Second), Data: counter(v + 1)},
					Expect:   uint64(v),
					Effects:  eff(v + 1),
				})
				if err != nil || got != uint64(v+1) {
					t.Errorf("Commit(%q, expect %d) = %d, %v; want %d, nil", id, v, got, err, v+1)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	outbox := mustOutbox(t, s, all)
	if len(outbox) != goroutines*(commits+1) {
		t.Errorf("Outbox has %d effects, want %d", len(outbox), goroutines*(commits+1))
	}
	for g := range goroutines {
		id := fmt.Sprintf("inst-%d", g)
		want := storage.Instance{ID: id, Version: commits + 1, Due: at(commits * time.Second), Data: counter(commits + 1)}
		if d := diff(want, mustLoad(t, s, id)); d != "" {
			t.Errorf("Load(%q) (-want +got):\n%s", id, d)
		}
		var got, wantIDs []string
		for v := 1; v <= commits+1; v++ {
			wantIDs = append(wantIDs, fmt.Sprintf("%s@%d", id, v))
		}
		for _, e := range outbox {
			if e.Instance == id {
				got = append(got, e.ID)
			}
		}
		if d := diff(wantIDs, got); d != "" {
			t.Errorf("outbox order of %s (-want +got):\n%s", id, d)
		}
	}
}

// testConcurrentOutbox drains the outbox while producers commit, and reads
// the other indexes at the same time. Every effect must be delivered, none
// after it was acknowledged, and each instance's effects in version order.
func testConcurrentOutbox(t *testing.T, open opener) {
	const (
		producers = 4
		commits   = 15 // per producer
		perCommit = 2
		batch     = 7
		total     = producers * commits * perCommit
	)
	s := open.fresh(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	for p := range producers {
		mustCreate(t, s, storage.Instance{ID: fmt.Sprintf("p%d", p)})
	}
	var (
		wg       sync.WaitGroup
		produced sync.WaitGroup
		done     atomic.Bool
	)
	for p := range producers {
		produced.Go(func() {
			id := fmt.Sprintf("p%d", p)
			for v := 1; v <= commits; v++ {
				var effs []storage.Effect
				for k := range perCommit {
					effs = append(effs, storage.Effect{ID: fmt.Sprintf("%s/%03d/%d", id, v, k), Instance: id})
				}
				inst := storage.Instance{ID: id, Due: at(time.Duration(v%3) * time.Second), Data: counter(v)}
				if _, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: uint64(v), Effects: effs}); err != nil {
					t.Errorf("Commit(%q, expect %d): %v", id, v, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		produced.Wait()
		done.Store(true)
	})

	// The consumer.
	acked := make(map[string]bool)
	last := make(map[string]string) // instance -> last effect ID seen
	wg.Go(func() {
		for {
			finished := done.Load()
			effs, err := s.Outbox(ctx, batch)
			if err != nil {
				t.Errorf("Outbox: %v", err)
				return
			}
			if len(effs) > batch {
				t.Errorf("Outbox(%d) returned %d effects", batch, len(effs))
			}
			if len(effs) == 0 {
				if finished {
					return
				}
				time.Sleep(50 * time.Microsecond)
				continue
			}
			ids := make([]string, len(effs))
			for i, e := range effs {
				if acked[e.ID] {
					t.Errorf("Outbox returned %q after it was acknowledged", e.ID)
					return
				}
				if prev, ok := last[e.Instance]; ok && e.ID <= prev { // IDs sort in version order
					t.Errorf("Outbox returned %q after %q", e.ID, prev)
					return
				}
				last[e.Instance] = e.ID
				ids[i] = e.ID
			}
			if err := s.Ack(ctx, ids...); err != nil {
				t.Errorf("Ack: %v", err)
				return
			}
			for _, id := range ids {
				acked[id] = true
			}
		}
	})

	// A reader of everything else: versions never go backwards.
	wg.Go(func() {
		seen := make(map[string]uint64)
		for !done.Load() {
			for p := range producers {
				id := fmt.Sprintf("p%d", p)
				inst, err := s.Load(ctx, id)
				if err != nil {
					t.Errorf("Load(%q): %v", id, err)
					return
				}
				if inst.Version < seen[id] {
					t.Errorf("Load(%q): version %d after %d", id, inst.Version, seen[id])
				}
				if want := counter(int(inst.Version) - 1); inst.Version > 1 && string(inst.Data) != string(want) {
					t.Errorf("Load(%q): version %d has data %q, want %q", id, inst.Version, inst.Data, want)
				}
				seen[id] = inst.Version
			}
			list, err := s.List(ctx, "", all)
			if err != nil {
				t.Errorf("List: %v", err)
				return
			}
			if len(list) != producers {
				t.Errorf("List returned %d instances, want %d", len(list), producers)
			}
			if _, err := s.DueBefore(ctx, farFuture, all); err != nil {
				t.Errorf("DueBefore: %v", err)
				return
			}
		}
	})
	wg.Wait()
	if t.Failed() {
		return
	}

	if len(acked) != total {
		t.Errorf("delivered %d effects, want %d", len(acked), total)
	}
	if got := mustOutbox(t, s, all); len(got) != 0 {
		t.Errorf("Outbox not empty after draining: %v", outboxIDs(got))
	}
	for p := range producers {
		id := fmt.Sprintf("p%d", p)
		if v := mustLoad(t, s, id).Version; v != commits+1 {
			t.Errorf("Load(%q).Version = %d, want %d", id, v, commits+1)
		}
	}
}
