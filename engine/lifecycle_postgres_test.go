package engine_test

import (
	"testing"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/storage/postgres"
)

// Two engines, each with its own store (connection pool) on one
// PostgreSQL schema, as two processes would be: one awaits instances the
// other buffers events for and finishes. The awaiting engine polls at most
// once a minute here, so it returns in time only by the store's wake-ups:
// those of the end effects' commits, or WithoutEndEffects those of the
// ending commits themselves (storage.Commit.Wake).
func TestAwaitAcrossProcessesPostgres(t *testing.T) {
	t.Run("end effects", func(t *testing.T) { awaitAcrossProcesses(t) })
	t.Run("WithoutEndEffects", func(t *testing.T) { awaitAcrossProcesses(t, engine.WithoutEndEffects()) })
}

func awaitAcrossProcesses(t *testing.T, opts ...engine.Option) {
	schema := pgtest.Schema(t, "engine_await_")
	ctx := t.Context()
	var engines [2]*engine.Engine
	for i := range engines {
		st, err := postgres.Open(ctx, pgtest.DSN(), postgres.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		engines[i] = cartEngine(t, st, append([]engine.Option{engine.WithPollInterval(time.Minute)}, opts...)...)
	}
	driver, waiter := engines[0], engines[1]
	if err := driver.SignalWithStart(ctx, cartWF, "c1", Cart{}, "item", item("tea", 3)); err != nil {
		t.Fatal(err)
	}
	if err := driver.Start(ctx, cartWF, "c2", Cart{}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		r   Receipt
		err error
	}
	done := make(chan result, 2)
	for _, id := range []string{"c1", "c2"} {
		go func() {
			var r Receipt
			err := waiter.Await(ctx, id, &r)
			done <- result{r, err}
		}()
	}
	// By now both Awaits poll every two seconds or more (the interval
	// doubles from 1ms): returning within a second of the finish takes a
	// wake-up.
	time.Sleep(2100 * time.Millisecond)
	sent := time.Now()
	for _, id := range []string{"c1", "c2"} {
		for _, ev := range []string{"checkout", "open"} { // checkout is buffered until open
			if err := driver.Send(ctx, id, ev, true, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	var total int
	if err := waiter.Query(ctx, "c1", "total", &total); err != nil || total != 3 {
		t.Errorf("query through the other engine: %d, %v", total, err)
	}
	for range 2 {
		select {
		case res := <-done:
			if d := time.Since(sent); d > time.Second {
				t.Errorf("Await returned %v after the instance finished: the store's wake-up was missed", d)
			}
			switch res.r.Total {
			case 3: // c1
				if res.err != nil {
					t.Errorf("await c1: %v", res.err)
				}
			default: // c2: no items, so it failed
				if res.err == nil {
					t.Errorf("await c2: no error for an empty cart")
				}
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Await did not return after the other process finished the instance")
		}
	}
}
