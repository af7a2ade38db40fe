package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftflow/weft/storage"
)

// wakeWait bounds the wait for a wake-up that must come; it only stops a
// broken test, nothing is asserted about time.
const wakeWait = 10 * time.Second

// awaitWake receives from ch, failing t if ch is closed or nothing comes.
func awaitWake(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("%s: wake-up channel closed", what)
		}
	case <-time.After(wakeWait):
		t.Fatalf("%s: no wake-up within %v", what, wakeWait)
	}
}

// awaitClosed fails t unless ch is closed (after any value waiting in it).
func awaitClosed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	deadline := time.After(wakeWait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("%s: channel not closed within %v", what, wakeWait)
		}
	}
}

// drain empties ch without waiting.
func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// TestWakeups commits in one store and receives the wake-up in another
// opened on the same schema, as a second process would, and logs the
// latency of 200 such round trips (p50, p99, max) without asserting on it.
func TestWakeups(t *testing.T) {
	schema := newSchema(t)
	writer, listener := openSchema(t, schema), openSchema(t, schema)
	ctx := t.Context()
	w, err := listener.Wakeups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Create(ctx, storage.Instance{ID: "a"}, []storage.Effect{{ID: "a/1", Instance: "a"}}); err != nil {
		t.Fatal(err)
	}
	awaitWake(t, "after Create with an effect", w)

	// Back to back, a commit finds the notifier still waiting out the
	// interval after the previous notification; 20 ms apart, it does not.
	v := uint64(1)
	for _, gap := range []time.Duration{0, 20 * time.Millisecond} {
		const rounds = 200
		lat := make([]time.Duration, 0, rounds)   // from the Commit call
		after := make([]time.Duration, 0, rounds) // from its return
		for i := range rounds {
			time.Sleep(gap)
			drain(w)
			start := time.Now()
			v, err = writer.Commit(ctx, storage.Commit{
				Instance: storage.Instance{ID: "a"}, Expect: v,
				Effects: []storage.Effect{{ID: fmt.Sprintf("a/%d", v+1), Instance: "a"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			committed := time.Now()
			awaitWake(t, fmt.Sprintf("commit %d", i), w)
			lat = append(lat, time.Since(start))
			after = append(after, time.Since(committed))
		}
		slices.Sort(lat)
		slices.Sort(after)
		t.Logf("commit → wake-up in another store, %d rounds %v apart: from the call p50 %v, p99 %v, max %v; "+
			"from its return p50 %v, p99 %v, max %v", rounds, gap,
			lat[rounds/2], lat[rounds*99/100-1], lat[rounds-1], after[rounds/2], after[rounds*99/100-1], after[rounds-1])
	}

	// A Due soon wakes; the commit's own duration is not measured here.
	drain(w)
	if _, err = writer.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Due: time.Now().Add(time.Second)}, Expect: v}); err != nil {
		t.Fatal(err)
	}
	awaitWake(t, "after a commit due in a second", w)
	v++

	// A commit with neither effects nor a Due wakes when it asks to (an
	// instance's end).
	drain(w)
	if _, err = writer.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Status: "completed"}, Expect: v, Wake: true}); err != nil {
		t.Fatal(err)
	}
	awaitWake(t, "after a commit with Wake", w)

	wctx, cancel := context.WithCancel(ctx)
	w2, err := listener.Wakeups(wctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	awaitClosed(t, "after its ctx ended", w2)
	if err := listener.Close(); err != nil {
		t.Fatal(err)
	}
	awaitClosed(t, "after the store closed", w)
	if _, err := listener.Wakeups(ctx); err == nil {
		t.Fatal("Wakeups on a closed store succeeded")
	}
}

// TestWakeupsReconnect kills the listening connection's backend: the
// listener reconnects, delivers a value for what it may have missed, and
// keeps delivering.
func TestWakeupsReconnect(t *testing.T) {
	schema := newSchema(t)
	writer, listener := openSchema(t, schema), openSchema(t, schema)
	ctx := t.Context()
	w, err := listener.Wakeups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(schema))
	listen := `LISTEN "weft_` + hex.EncodeToString(sum[:8]) + `"`
	conn, err := pgx.Connect(ctx, dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var killed int
	if err := conn.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1", listen).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d listening backends, want 1", killed)
	}
	awaitWake(t, "after reconnecting", w)
	// The reconnection may lag the wake-up above; commit until one comes
	// through the new connection.
	deadline := time.Now().Add(wakeWait)
	for i := 0; ; i++ {
		id := fmt.Sprintf("b%d", i)
		if _, err := writer.Create(ctx, storage.Instance{ID: id}, []storage.Effect{{ID: id + "/1", Instance: id}}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-w:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no wake-up after reconnecting")
		}
	}
}
