package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
)

// benchModes runs bench with fsync on (the default) and off.
func benchModes(b *testing.B, bench func(b *testing.B, opts ...bolt.Option)) {
	b.Run("fsync", func(b *testing.B) { bench(b) })
	b.Run("nosync", func(b *testing.B) { bench(b, bolt.WithUnsafeNoSync()) })
}

// report adds commits per second and commits per transaction (per group
// commit, that is per pair of fsyncs) to b's results.
func report(b *testing.B, s *bolt.Store, before bolt.Stats, elapsed time.Duration) {
	after := s.Stats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commits/s")
	if txs := after.Transactions - before.Transactions; txs > 0 {
		b.ReportMetric(float64(after.Writes-before.Writes)/float64(txs), "commits/tx")
	}
}

// benchEffect is a typical commit's payload: a 200-byte record and one
// 100-byte effect.
var (
	benchRecord = make([]byte, 200)
	benchEffect = make([]byte, 100)
)

func commitOf(id string, v uint64) storage.Commit {
	return storage.Commit{
		Instance: storage.Instance{ID: id, Workflow: "bench", Status: "running", Due: time.Unix(int64(v), 0), Data: benchRecord},
		Expect:   v,
		Effects:  []storage.Effect{{ID: fmt.Sprintf("%s@%d", id, v+1), Instance: id, Data: benchEffect}},
	}
}

// BenchmarkCommitSequential commits to one instance from one goroutine:
// every commit waits for its own transaction.
func BenchmarkCommitSequential(b *testing.B) {
	benchModes(b, func(b *testing.B, opts ...bolt.Option) {
		s := open(b, opts...)
		ctx := context.Background()
		if _, err := s.Create(ctx, storage.Instance{ID: "seq"}, nil); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		before := s.Stats()
		start := time.Now()
		b.ResetTimer()
		for v := uint64(1); v <= uint64(b.N); v++ {
			if _, err := s.Commit(ctx, commitOf("seq", v)); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		report(b, s, before, time.Since(start))
	})
}

// BenchmarkCommitConcurrent commits from 1000 goroutines, each to its own
// instance: group commit shares transactions between them.
func BenchmarkCommitConcurrent(b *testing.B) {
	const goroutines = 1000
	benchModes(b, func(b *testing.B, opts ...bolt.Option) {
		s := open(b, opts...)
		ctx := context.Background()
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				if _, err := s.Create(ctx, storage.Instance{ID: fmt.Sprintf("inst-%04d", g)}, nil); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		b.ReportAllocs()
		before := s.Stats()
		var left atomic.Int64
		left.Store(int64(b.N))
		startGate := make(chan struct{})
		for g := range goroutines {
			wg.Go(func() {
				id := fmt.Sprintf("inst-%04d", g)
				<-startGate
				for v := uint64(1); left.Add(-1) >= 0; v++ {
					if _, err := s.Commit(ctx, commitOf(id, v)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		start := time.Now()
		b.ResetTimer()
		close(startGate)
		wg.Wait()
		b.StopTimer()
		report(b, s, before, time.Since(start))
	})
}

// BenchmarkLoad reads one instance.
func BenchmarkLoad(b *testing.B) {
	s := open(b)
	ctx := context.Background()
	if _, err := s.Create(ctx, storage.Instance{ID: "x", Data: benchRecord}, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Load(ctx, "x"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen opens a store of 20,000 instances (about 20 MB) read-only
// and closes it: with the checks Open makes by default, with
// WithFullCheck, and, for comparison, bbolt's own open and a read of one
// bucket, which checks nothing.
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "weft.db")
	s := mustOpen(b, path, bolt.WithUnsafeNoSync())
	ctx := context.Background()
	for i := range 20000 {
		id := fmt.Sprintf("instance-%06d", i)
		if _, err := s.Create(ctx, storage.Instance{ID: id, Due: time.Unix(int64(i), 0), Data: benchRecord},
			[]storage.Effect{{ID: id + "@1", Instance: id, Data: benchEffect}}); err != nil {
			b.Fatal(err)
		}
	}
	mustClose(b, s)
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("store file: %d bytes", info.Size())
	for _, mode := range []struct {
		name string
		opts []bolt.Option
	}{
		{"default", []bolt.Option{bolt.WithReadOnly()}},
		{"full", []bolt.Option{bolt.WithReadOnly(), bolt.WithFullCheck()}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				mustClose(b, mustOpen(b, path, mode.opts...))
			}
		})
	}
	b.Run("bbolt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			if err := db.View(func(tx *bbolt.Tx) error {
				if tx.Bucket([]byte("weft")) == nil {
					return errors.New("no weft bucket")
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
}

// BenchmarkClaimCycle is one unit of claimed work from one goroutine: a
// commit that leaves an effect, then Claim, Pending, AckLeased and
// Release (five write transactions, one read).
func BenchmarkClaimCycle(b *testing.B) {
	benchModes(b, func(b *testing.B, opts ...bolt.Option) {
		s := open(b, opts...)
		benchClaimCycle(b, s)
	})
}

func benchClaimCycle(b *testing.B, s *bolt.Store) {
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
		c := commitOf(id, uint64(n/instances+1))
		c.Instance.Due = time.Time{}
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
