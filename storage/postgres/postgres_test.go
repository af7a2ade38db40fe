package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftflow/weft/storage/postgres"
)

// defaultDSN is the server the tests use unless WEFT_POSTGRES_DSN names
// another: the local PostgreSQL with trust authentication and a database
// "test", as on the CI machines.
const defaultDSN = "postgres://postgres@127.0.0.1:5432/test"

// dsn returns the server the tests use.
func dsn() string {
	if d := os.Getenv("WEFT_POSTGRES_DSN"); d != "" {
		return d
	}
	return defaultDSN
}

var probe struct {
	once sync.Once
	err  error
}

// needServer skips t when no server answers at dsn(), saying how to run the
// tests; under CI=true it fails t instead, so that CI cannot pass by
// skipping.
func needServer(t testing.TB) {
	t.Helper()
	probe.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn())
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		probe.err = err
	})
	if probe.err == nil {
		return
	}
	msg := "no PostgreSQL server answers (" + probe.err.Error() + "); start one (for example " +
		"`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) with a database " +
		"`test`, or set WEFT_POSTGRES_DSN to a server's connection string, to run these tests"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// newSchema returns the name of a schema no other test uses, and drops it
// when t ends. The schema itself is created by the first store opened on it.
func newSchema(t testing.TB) string {
	t.Helper()
	needServer(t)
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "weft_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { dropSchema(t, schema) })
	return schema
}

// dropSchema drops schema and everything in it.
func dropSchema(t testing.TB, schema string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn())
	if err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
	}
}

// openSchema opens a store on schema and closes it when t ends. Opening it
// again on the same schema is how a second process sees the same store.
func openSchema(t testing.TB, schema string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn(), append([]postgres.Option{postgres.WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatalf("Open(schema %s): %v", schema, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// openFresh opens a store on a new, empty schema.
func openFresh(t testing.TB, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	return openSchema(t, newSchema(t), opts...)
}

// exec runs sql on a connection of its own.
func exec(t testing.TB, sql string) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%v in\n%s", err, sql)
	}
}
