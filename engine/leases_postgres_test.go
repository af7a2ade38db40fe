package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/postgres"
)

// TestLeasesPostgres runs three engines' Run loops, each with its own
// connection pool, on one PostgreSQL schema: instances started and
// answered through any of them finish with every effect performed once,
// and nothing is left in the outbox, dead-lettered or leased.
func TestLeasesPostgres(t *testing.T) {
	schema := pgtest.Schema(t, "engine_leases_")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	log := newEffectLog()
	var engines []*engine.Engine
	var stores []storage.Store
	for i := range 3 {
		st, err := postgres.Open(ctx, pgtest.DSN(), postgres.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		// Workers to match the pool (four connections on two cores): with
		// more, a lease renewal can wait for a connection behind the work
		// until the lease has run out, and another engine performs the
		// effect again (allowed, but this test counts duplicates).
		e := newEngine(t, st, engine.WithLeases(fmt.Sprintf("pg-%d", i), 10*time.Second),
			engine.WithPollInterval(20*time.Millisecond), engine.WithFinish(log.finish), engine.WithWorkers(4))
		if err := e.Register(requestWF); err != nil {
			t.Fatal(err)
		}
		e.Handle("ask-manager", log)
		engines = append(engines, e)
		stores = append(stores, st)
	}
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Go(func() {
			if err := e.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	const n = 60
	for i := range n {
		if err := engines[i%3].Start(ctx, requestWF, fmt.Sprintf("r%02d", i), Request{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool {
		for i := range n {
			if len(log.of(fmt.Sprintf("r%02d", i))) == 0 {
				return false
			}
		}
		return true
	})
	for i := range n {
		if err := engines[(i+1)%3].Send(ctx, fmt.Sprintf("r%02d", i), "answer", "ok", nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool {
		out, err := stores[0].Outbox(ctx, 1)
		return err == nil && len(out) == 0
	})
	cancel()
	wg.Wait()
	for i := range n {
		id := fmt.Sprintf("r%02d", i)
		if got := strings.Join(log.of(id), " "); got != "setup teardown finish" {
			t.Errorf("%s: %q, want each effect once", id, got)
		}
	}
	bg := context.Background()
	if dead, err := stores[0].DeadLetters(bg, "", 1); err != nil || len(dead) != 0 {
		t.Fatalf("dead letters %v, %v", dead, err)
	}
	if next, err := stores[0].NextWork(bg, time.Now()); err != nil || !next.IsZero() {
		t.Fatalf("next work %v, %v; want none", next, err)
	}
}
