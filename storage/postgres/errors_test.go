package postgres_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/postgres"
)

// TestOpenErrors checks that connection problems come back as errors, with
// no sentinel of the storage contract, and that bad DSNs are ErrInvalid.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	if _, err := postgres.Open(ctx, "postgres://u:secret@127.0.0.1:99999/x"); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("Open with a bad port: %v, want ErrInvalid", err)
	} else if strings.Contains(err.Error(), "secret") {
		t.Errorf("Open's error shows the password: %v", err)
	}
	_, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
	if err == nil {
		t.Fatal("Open of a port nothing listens on succeeded")
	}
	for _, sentinel := range []error{storage.ErrInvalid, storage.ErrClosed, postgres.ErrSchemaTooOld, postgres.ErrSchemaTooNew} {
		if errors.Is(err, sentinel) {
			t.Errorf("connection error %v wraps %v", err, sentinel)
		}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := postgres.Open(canceled, dsn()); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a canceled context: %v, want context.Canceled", err)
	}
}

// TestExpectBeyondStoredRange commits with Expect values no bigint holds.
func TestExpectBeyondStoredRange(t *testing.T) {
	t.Parallel()
	s := openFresh(t)
	ctx := t.Context()
	if _, err := s.Create(ctx, storage.Instance{ID: "a"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, expect := range []uint64{math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64} {
		_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: expect})
		if !errors.Is(err, storage.ErrConflict) {
			t.Errorf("Commit expecting %d: %v, want ErrConflict", expect, err)
		}
		_, err = s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "b"}, Expect: expect})
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Commit of a missing instance expecting %d: %v, want ErrNotFound", expect, err)
		}
	}
}

// TestConnectionLost kills the store's server connections: calls fail with
// a wrapped error, not a sentinel and not a panic, and the store recovers.
func TestConnectionLost(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	ctx := t.Context()
	pool, err := pgxpool.New(ctx, dsn()+"?application_name="+schema)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := postgres.OpenPool(ctx, pool, postgres.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Create(ctx, storage.Instance{ID: "a"}, nil); err != nil {
		t.Fatal(err)
	}
	exec(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '"+schema+"'")
	_, err = s.Load(ctx, "a")
	if err == nil {
		t.Skip("the pool replaced the killed connection before the call; nothing to check")
	}
	for _, sentinel := range []error{storage.ErrNotFound, storage.ErrClosed, storage.ErrInvalid} {
		if errors.Is(err, sentinel) {
			t.Errorf("Load on a killed connection: %v wraps %v", err, sentinel)
		}
	}
	if !strings.Contains(err.Error(), `load "a"`) {
		t.Errorf("Load on a killed connection: %v does not name the call", err)
	}
	if _, err := s.Load(ctx, "a"); err != nil {
		t.Errorf("Load after the pool reconnected: %v", err)
	}
}

// TestContextCancelsBlockedCommit holds an instance's row locked from
// another connection so that Commit waits, then lets the context expire:
// Commit must return promptly with an error wrapping the context's, and the
// store must keep working.
func TestContextCancelsBlockedCommit(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s := openSchema(t, schema)
	ctx := t.Context()
	if _, err := s.Create(ctx, storage.Instance{ID: "a"}, nil); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1 FROM "+pgx.Identifier{schema}.Sanitize()+".instances WHERE id = 'a' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = s.Commit(short, storage.Commit{Instance: storage.Instance{ID: "a", Data: []byte("late")}, Expect: 1})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Commit blocked past its deadline: %v, want context.DeadlineExceeded", err)
	}
	var pgErr *pgconn.PgError
	canceledOnServer := errors.As(err, &pgErr) && pgErr.Code == "57014"
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if !canceledOnServer {
		// Without a cancel request the server keeps the statement waiting
		// for the lock and commits it once the lock is released, after
		// Commit returned.
		t.Fatalf("Commit ended with %v, not with the server canceling the statement", err)
	}
	// The server canceled the statement before the lock was released, so it
	// did not commit and version 1 is still current.
	if _, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Data: []byte("next")}, Expect: 1}); err != nil {
		t.Errorf("Commit after the lock was released: %v", err)
	}
}
