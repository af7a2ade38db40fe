package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/storage/postgres"
)

// The server, the skip-or-fail rule and throwaway schemas are
// internal/pgtest's, shared with the other packages' Postgres tests.

// dsn returns the server the tests use (WEFT_POSTGRES_DSN, or the local
// PostgreSQL with a database "test", as on the CI machines).
func dsn() string { return pgtest.DSN() }

// needServer skips t when no server answers, or fails it under CI=true.
func needServer(t testing.TB) { t.Helper(); pgtest.Need(t) }

// newSchema returns the name of a schema no other test uses, and drops it
// when t ends.
func newSchema(t testing.TB) string { t.Helper(); return pgtest.Schema(t, "weft_test_") }

// dropSchema drops schema and everything in it.
func dropSchema(t testing.TB, schema string) { t.Helper(); pgtest.Drop(t, schema) }

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
