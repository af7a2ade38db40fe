package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftflow/weft/storage/postgres"
)

// TestLockTakeover kills the backend of the connection holding a lock (as
// a crashed process or a broken network would leave it): another store on
// the schema, a second process, gets the lock, and the holder's Lost
// closes.
func TestLockTakeover(t *testing.T) {
	schema := newSchema(t)
	holder, other := openSchema(t, schema), openSchema(t, schema)
	ctx := t.Context()
	l, ok, err := holder.TryLock(ctx, "migrate instances")
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	if _, ok, err := other.TryLock(ctx, "migrate instances"); err != nil || ok {
		t.Fatalf("TryLock in the other store while held = %v, %v; want false, nil", ok, err)
	}

	conn, err := pgx.Connect(ctx, dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Find the holder as the package doc tells operators to.
	key := postgres.LockKey(schema, "migrate instances")
	var killed int
	err = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND objsubid = 1 AND granted
		  AND classid = (($1::bigint >> 32) & 4294967295)::oid AND objid = ($1::bigint & 4294967295)::oid`, key).Scan(&killed)
	if err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d backends holding the lock, want 1", killed)
	}

	// The server releases the lock when the session ends, which follows
	// the termination closely; retry briefly rather than assume when.
	deadline := time.Now().Add(10 * time.Second)
	for {
		l2, ok, err := other.TryLock(ctx, "migrate instances")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			defer l2.Unlock()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other store did not get the lock after the holder's backend was terminated")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-l.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("Lost not closed after the holder's backend was terminated")
	}
	l.Unlock() // after the loss: does nothing
	if _, ok, err := holder.TryLock(ctx, "migrate instances"); err != nil || ok {
		t.Fatalf("TryLock in the old holder's store after takeover = %v, %v; want false, nil", ok, err)
	}
}

func TestLockKey(t *testing.T) {
	if postgres.LockKey("a", "b") == postgres.LockKey("a", "c") || postgres.LockKey("a", "b") == postgres.LockKey("ab", "") {
		t.Fatal("LockKey: names or schemas collide")
	}
	if postgres.LockKey("weft", "x") != postgres.LockKey("weft", "x") {
		t.Fatal("LockKey is not stable")
	}
}
