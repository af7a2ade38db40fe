package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

var benchBase = time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC)

// populate creates n instances, every tenth of them due within the hour
// after benchBase and the rest due a year later.
func populate(b *testing.B, s *memory.Store, n int) {
	b.Helper()
	ctx := context.Background()
	for i := range n {
		due := benchBase.Add(365 * 24 * time.Hour).Add(time.Duration(i) * time.Second)
		if i%10 == 0 {
			due = benchBase.Add(time.Duration(i%3600) * time.Second)
		}
		inst := storage.Instance{ID: fmt.Sprintf("other-%06d", i), Due: due, Data: make([]byte, 256)}
		if _, err := s.Create(ctx, inst, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCommit(b *testing.B) {
	data := make([]byte, 1024)
	for _, bc := range []struct {
		name    string
		others  int  // other instances in the store
		effects int  // effects per commit
		moveDue bool // change Due on every commit
		ackEach bool // acknowledge each commit's effects at once, in one Ack, as an engine does
	}{
		{"NoEffects", 0, 0, false, false},
		{"OneEffect", 0, 1, false, false},
		{"ThreeEffects", 0, 3, false, false},
		{"MovingDue/10k", 10_000, 0, true, false},
		{"OneEffect/MovingDue/100k", 100_000, 1, true, false},
		// A send to a wait with a setup and a teardown: what storing and
		// acknowledging its two effects adds to NoEffects, the least a
		// store-backed outbox can add to such a send (docs/performance.md).
		{"TwoEffectsAcked", 0, 2, false, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			s := memory.New()
			defer s.Close()
			populate(b, s, bc.others)
			if _, err := s.Create(ctx, storage.Instance{ID: "bench"}, nil); err != nil {
				b.Fatal(err)
			}
			effectIDs := make([]string, bc.effects)
			effects := make([]storage.Effect, bc.effects)
			acks := make([]string, 0, 1024)
			version := uint64(1)
			b.ReportAllocs()
			b.ResetTimer()
			for k := range effects { // (reused once acknowledged: see ackEach)
				effectIDs[k] = fmt.Sprintf("bench/%d", k)
				effects[k] = storage.Effect{ID: effectIDs[k], Instance: "bench", Data: data[:64]}
			}
			for i := 0; b.Loop(); i++ {
				for k := range effects {
					if !bc.ackEach {
						effectIDs[k] = fmt.Sprintf("bench@%d/%d", version+1, k)
						effects[k] = storage.Effect{ID: effectIDs[k], Instance: "bench", Data: data[:64]}
					}
				}
				inst := storage.Instance{ID: "bench", Status: "running", Data: data}
				if bc.moveDue {
					inst.Due = benchBase.Add(time.Duration(i%7200) * time.Second)
				}
				v, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: version, Effects: effects})
				if err != nil {
					b.Fatal(err)
				}
				version = v
				if bc.ackEach {
					if err := s.Ack(ctx, effectIDs...); err != nil {
						b.Fatal(err)
					}
					continue
				}
				// Keep the outbox small, as a host dispatching effects would.
				if acks = append(acks, effectIDs...); len(acks) >= 1000 {
					if err := s.Ack(ctx, acks...); err != nil {
						b.Fatal(err)
					}
					acks = acks[:0]
				}
			}
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	for _, size := range []int{0, 1024, 64 * 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			ctx := context.Background()
			s := memory.New()
			defer s.Close()
			populate(b, s, 10_000)
			inst := storage.Instance{ID: "bench", Workflow: "w", Status: "running", Data: make([]byte, size)}
			if _, err := s.Create(ctx, inst, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Load(ctx, "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDueBefore looks for the few due instances among many that are
// not: its cost depends on the number of results, not the store's size.
func BenchmarkDueBefore(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			s := memory.New()
			defer s.Close()
			populate(b, s, n)
			at := benchBase.Add(10 * time.Minute)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.DueBefore(ctx, at, 10); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClaimCycle is one unit of claimed work: a commit that leaves an
// effect, then Claim, Pending, AckLeased and Release.
func BenchmarkClaimCycle(b *testing.B) {
	s := memory.New()
	defer s.Close()
	ctx := context.Background()
	const instances = 1000
	for i := range instances {
		if _, err := s.Create(ctx, storage.Instance{ID: fmt.Sprint("i", i)}, nil); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Unix(1, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		id := fmt.Sprint("i", n%instances)
		c := storage.Commit{Instance: storage.Instance{ID: id, Data: make([]byte, 200)}, Expect: uint64(n/instances + 1),
			Effects: []storage.Effect{{ID: fmt.Sprint(id, "@", n), Instance: id, Data: make([]byte, 100)}}}
		if _, err := s.Commit(ctx, c); err != nil {
			b.Fatal(err)
		}
		ls, err := s.Claim(ctx, storage.ClaimRequest{Owner: "bench", Now: now, TTL: time.Minute, Limit: 1})
		if err != nil || len(ls) != 1 || ls[0].Instance != id {
			b.Fatalf("Claim = %v, %v, want %s", ls, err, id)
		}
		effs, err := s.Pending(ctx, ls[0], 10)
		if err != nil || len(effs) != 1 {
			b.Fatalf("Pending = %v, %v", effs, err)
		}
		if err := s.AckLeased(ctx, ls[0], effs[0].ID); err != nil {
			b.Fatal(err)
		}
		if err := s.Release(ctx, ls[0]); err != nil {
			b.Fatal(err)
		}
	}
}
