package engine_test

// W1 through engines made WithLeases on one PostgreSQL schema, as
// several replicas of a service would run it (each "process" here is an
// engine with its own connection pool). docs/performance-postgres.md has
// the figures and the commands:
//
//	go test -run '^$' -bench W1Postgres -benchtime 2x ./engine/

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/postgres"
)

// BenchmarkW1Postgres is W1 with a checkpoint after every step, 1,000
// instances started at once, driven by Run in 1, 2 and 4 engines sharing
// one schema through leases.
func BenchmarkW1Postgres(b *testing.B) {
	def := w1Def(dsl.Budget(1))
	for _, procs := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("processes=%d", procs), func(b *testing.B) {
			b.ReportAllocs()
			const n = 1000
			var elapsed time.Duration
			var transitions int64
			for range b.N {
				b.StopTimer()
				schema := pgtest.Schema(b, "bench_w1_")
				ctx, cancel := context.WithCancel(context.Background())
				var finished, steps atomic.Int64
				done := make(chan struct{})
				var engines []*engine.Engine
				var stops []func()
				for p := range procs {
					// A pool as large as the workers: pgxpool's default (four
					// connections here) would bound the engine to four
					// commits in flight.
					st, err := postgres.Open(ctx, withPoolSize(pgtest.DSN(), 20), postgres.WithSchema(schema))
					if err != nil {
						b.Fatal(err)
					}
					m := &counters{}
					e := newEngine(b, st, engine.WithLeases("bench-"+strconv.Itoa(p), 10*time.Second), engine.WithWorkers(20),
						engine.WithPollInterval(50*time.Millisecond), engine.WithMetrics(m),
						engine.WithFinish(func(context.Context, engine.EffectInfo) error {
							if finished.Add(1) == n {
								close(done)
							}
							return nil
						}))
					if err := e.Register(def); err != nil {
						b.Fatal(err)
					}
					engines = append(engines, e)
					ran := make(chan error)
					go func() { ran <- e.Run(ctx) }()
					stops = append(stops, func() {
						<-ran
						steps.Add(m.transitions.Load())
						st.Close()
					})
				}
				b.StartTimer()
				began := time.Now()
				parallel(b, n, 32, func(i int) error {
					return engines[i%procs].Start(ctx, def, "w1-"+strconv.Itoa(i), W1{})
				})
				select {
				case <-done:
				case <-time.After(5 * time.Minute):
					b.Fatalf("only %d of %d finished", finished.Load(), n)
				}
				elapsed += time.Since(began)
				b.StopTimer()
				cancel()
				for _, stop := range stops {
					stop()
				}
				transitions += steps.Load()
			}
			b.ReportMetric(float64(transitions)/elapsed.Seconds(), "transitions/s")
			b.ReportMetric(float64(b.N*n)/elapsed.Seconds(), "workflows/s")
		})
	}
}

// BenchmarkTakeoverPostgres measures how long an instance whose lease
// holder died waits before another process performs its work: one engine
// leases the instance and never comes back (as if killed), another runs
// Run with a 200 ms lease TTL and a 1 s poll interval. The target is the
// lease TTL plus the poll interval; the engine sleeps until the lease's
// expiry (NextWork), so it is about the TTL.
func BenchmarkTakeoverPostgres(b *testing.B) {
	const ttl, poll = 200 * time.Millisecond, time.Second
	schema := pgtest.Schema(b, "bench_takeover_")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := postgres.Open(ctx, pgtest.DSN(), postgres.WithSchema(schema))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	performed := make(chan time.Time, 1)
	e := newEngine(b, st, engine.WithLeases("survivor", ttl), engine.WithPollInterval(poll))
	if err := e.Register(requestWF); err != nil {
		b.Fatal(err)
	}
	e.Handle("ask-manager", engine.SetupFuncs{SetupFunc: func(context.Context, engine.EffectInfo) error {
		performed <- time.Now()
		return nil
	}})
	// Instances are started by another engine, so that the survivor hears
	// of them only from the store.
	starter := newEngine(b, st)
	if err := starter.Register(requestWF); err != nil {
		b.Fatal(err)
	}
	ran := make(chan error)
	var worst, total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := "t" + strconv.Itoa(i)
		if err := starter.Start(ctx, requestWF, id, Request{}); err != nil {
			b.Fatal(err)
		}
		// The dead process's lease. (Rarely the survivor polls in between
		// and claims the instance first: that round does not count.)
		killed, err := st.Acquire(ctx, id, storage.ClaimRequest{Owner: "killed", Now: time.Now(), TTL: ttl, Limit: 1})
		if errors.Is(err, storage.ErrLeased) {
			<-performed
			i--
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			go func() { ran <- e.Run(ctx) }()
		}
		at := <-performed
		d := at.Sub(killed.Expires)
		total += d
		worst = max(worst, d)
	}
	b.StopTimer()
	cancel()
	<-ran
	b.ReportMetric(float64((total/time.Duration(b.N) + ttl).Milliseconds()), "takeover-ms")
	b.ReportMetric(float64((worst + ttl).Milliseconds()), "worst-takeover-ms")
}

// withPoolSize adds pgxpool's pool_max_conns to a DSN (URL form).
func withPoolSize(dsn string, n int) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "pool_max_conns=" + strconv.Itoa(n)
}
