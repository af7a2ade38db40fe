package postgres_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/postgres"
)

// openBench opens a store on a fresh schema through a pool of at most conns
// connections.
func openBench(b *testing.B, conns int32) *postgres.Store {
	b.Helper()
	schema := newSchema(b)
	cfg, err := pgxpool.ParseConfig(dsn())
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = conns
	pool, err := pgxpool.NewWithConfig(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	s, err := postgres.OpenPool(b.Context(), pool, postgres.WithSchema(schema))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// commitLoop commits n times on its own instance, as a host checkpointing a
// workflow step does: a 200-byte record, a new Due and one 64-byte effect per
// commit.
func commitLoop(b *testing.B, s *postgres.Store, id string, next func() bool) {
	ctx := b.Context()
	record, payload := make([]byte, 200), make([]byte, 64)
	inst := storage.Instance{ID: id, Workflow: "bench", Status: "running", Data: record}
	v, err := s.Create(ctx, inst, nil)
	if err != nil {
		b.Error(err)
		return
	}
	effects := []storage.Effect{{Instance: id, Data: payload}}
	for next() {
		inst.Due = base.Add(time.Duration(v) * time.Second)
		effects[0].ID = fmt.Sprintf("%s/%d", id, v+1)
		if v, err = s.Commit(ctx, storage.Commit{Instance: inst, Expect: v, Effects: effects}); err != nil {
			b.Error(err)
			return
		}
	}
}

// BenchmarkCommit measures Commit, one statement per call, from one client
// on one connection and from 32 goroutines, each on its own instance, on 32
// connections and on fewer (the goroutines then queue for a connection).
func BenchmarkCommit(b *testing.B) {
	b.Run("conns=1", func(b *testing.B) {
		s := openBench(b, 1)
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		commitLoop(b, s, "one", func() bool { i++; return i <= b.N })
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	})
	for _, conns := range []int32{32, 16, 8, 4} {
		name := "goroutines=32"
		if conns != 32 {
			name += fmt.Sprintf(",conns=%d", conns)
		}
		b.Run(name, func(b *testing.B) {
			s := openBench(b, conns)
			var n atomic.Int64
			b.ReportAllocs()
			// RunParallel starts parallelism × GOMAXPROCS goroutines.
			b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				commitLoop(b, s, fmt.Sprintf("g%d", n.Add(1)), pb.Next)
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}

// BenchmarkFloor measures what no commit can beat on this machine, for
// comparison with BenchmarkCommit: a round trip that does nothing
// ("SELECT 1") and the smallest durable write (a one-row UPDATE in its own
// transaction, which waits for the WAL flush as every commit does).
func BenchmarkFloor(b *testing.B) {
	for _, c := range []struct{ name, sql string }{
		{"select", "SELECT 1"},
		{"update", "UPDATE %s.instances SET version = version + 1 WHERE id = 'floor'"},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := openBench(b, 1)
			ctx := b.Context()
			if _, err := s.Create(ctx, storage.Instance{ID: "floor"}, nil); err != nil {
				b.Fatal(err)
			}
			pool, err := pgxpool.New(ctx, dsn())
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close()
			sql := c.sql
			if c.name == "update" {
				sql = fmt.Sprintf(sql, pgx.Identifier{s.Schema()}.Sanitize())
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := pool.Exec(ctx, sql); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
	// The same durable write from 32 goroutines on 32 connections, each on
	// its own row, as BenchmarkCommit's goroutines=32: what group commit
	// and the two cores shared with the server allow a one-row write.
	b.Run("update/goroutines=32", func(b *testing.B) {
		s := openBench(b, 1)
		ctx := b.Context()
		cfg, err := pgxpool.ParseConfig(dsn())
		if err != nil {
			b.Fatal(err)
		}
		cfg.MaxConns = 32
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		sql := fmt.Sprintf("UPDATE %s.instances SET version = version + 1 WHERE id = $1", pgx.Identifier{s.Schema()}.Sanitize())
		var n atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			id := []byte(fmt.Sprintf("floor%d", n.Add(1)))
			if _, err := s.Create(ctx, storage.Instance{ID: string(id)}, nil); err != nil {
				b.Error(err)
				return
			}
			for pb.Next() {
				if _, err := pool.Exec(ctx, sql, id); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}

// BenchmarkClaim claims and releases one instance among n that each have a
// ready effect: the cost of finding the earliest work as the outbox grows.
func BenchmarkClaim(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			s := openBench(b, 4)
			ctx := b.Context()
			for i := range n {
				id := fmt.Sprintf("i%06d", i)
				if _, err := s.Create(ctx, storage.Instance{ID: id}, []storage.Effect{{ID: id + "/0", Instance: id}}); err != nil {
					b.Fatal(err)
				}
			}
			req := storage.ClaimRequest{Owner: "bench", Now: base, TTL: time.Minute, Limit: 1}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				leases, err := s.Claim(ctx, req)
				if err != nil || len(leases) != 1 {
					b.Fatalf("Claim: %v, %v", leases, err)
				}
				if err := s.Release(ctx, leases[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClaimBatch claims instances in batches of limit and releases
// each batch in one call, from claimers goroutines on as many connections, among
// 10,000 instances that each have a ready effect: the rate at which hosts
// can take and hand back work. One op is one instance claimed and
// released. With keep, leases are not released: that measures Claim
// alone, and stops when every instance is leased (run it with -benchtime
// of at most 10000x).
func BenchmarkClaimBatch(b *testing.B) {
	const n = 10000
	for _, c := range []struct {
		limit, claimers int
		keep            bool
	}{{100, 1, false}, {100, 4, false}, {100, 8, false}, {100, 1, true}} {
		name := fmt.Sprintf("limit=%d,claimers=%d", c.limit, c.claimers)
		if c.keep {
			name += ",keep"
		}
		b.Run(name, func(b *testing.B) {
			s := openBench(b, int32(c.claimers))
			ctx := b.Context()
			seed(b, s, n)
			b.ReportAllocs()
			b.ResetTimer()
			var done atomic.Int64
			var wg sync.WaitGroup
			for g := range c.claimers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req := storage.ClaimRequest{Owner: fmt.Sprintf("bench%d", g), Now: base, TTL: time.Minute, Limit: c.limit}
					for done.Load() < int64(b.N) {
						leases, err := s.Claim(ctx, req)
						if err != nil {
							b.Error(err)
							return
						}
						if c.keep && len(leases) == 0 {
							return // every instance is leased
						}
						if !c.keep {
							if err := s.Release(ctx, leases...); err != nil { // the batch, in one call
								b.Error(err)
								return
							}
						}
						done.Add(int64(len(leases)))
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(done.Load())/b.Elapsed().Seconds(), "instances/s")
		})
	}
}

// seed creates n instances named i000000, i000001, ..., each with one
// effect ready at once.
func seed(b *testing.B, s *postgres.Store, n int) {
	b.Helper()
	ctx := b.Context()
	for i := range n {
		id := fmt.Sprintf("i%06d", i)
		if _, err := s.Create(ctx, storage.Instance{ID: id}, []storage.Effect{{ID: id + "/0", Instance: id}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNextWork asks when work is next among n instances that each
// have a ready effect, 100 of them leased: it reads the work index and the
// live leases, not the backlog.
func BenchmarkNextWork(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			s := openBench(b, 1)
			ctx := b.Context()
			seed(b, s, n)
			if _, err := s.Claim(ctx, storage.ClaimRequest{Owner: "bench", Now: base, TTL: time.Hour, Limit: 100}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.NextWork(ctx, base); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
