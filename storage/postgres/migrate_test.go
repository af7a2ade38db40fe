package postgres_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/postgres"
)

// versions returns the rows of schema's version table.
func versions(t *testing.T, schema string) []int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), "SELECT version FROM "+pgx.Identifier{schema}.Sanitize()+".schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func wantVersions(t *testing.T, schema string) {
	t.Helper()
	got := versions(t, schema)
	if len(got) != postgres.SchemaVersion {
		t.Fatalf("schema_migrations holds %v, want 1..%d", got, postgres.SchemaVersion)
	}
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("schema_migrations holds %v, want 1..%d", got, postgres.SchemaVersion)
		}
	}
}

// TestConcurrentOpenMigratesOnce opens many stores on one new schema at once,
// as processes starting together do: the advisory lock lets one migrate and
// the others find the schema current.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), dsn(), postgres.WithSchema(schema))
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	wantVersions(t, schema)
}

// TestSchemaTooNew plants a migration from the future: every Open, with or
// without migrations, must refuse the schema.
func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s := openSchema(t, schema)
	if _, err := s.Create(t.Context(), storage.Instance{ID: "keep"}, nil); err != nil {
		t.Fatal(err)
	}
	exec(t, "INSERT INTO "+pgx.Identifier{schema}.Sanitize()+".schema_migrations (version, name) VALUES ("+
		strconv.Itoa(postgres.SchemaVersion+1)+", 'from the future')")
	for _, opts := range [][]postgres.Option{nil, {postgres.WithoutMigrate()}} {
		_, err := postgres.Open(t.Context(), dsn(), append(opts, postgres.WithSchema(schema))...)
		if !errors.Is(err, postgres.ErrSchemaTooNew) {
			t.Errorf("Open(%d options) of a newer schema: %v, want ErrSchemaTooNew", len(opts), err)
		}
	}
	if _, err := postgres.MigrationSQL(schema, postgres.SchemaVersion+1); !errors.Is(err, postgres.ErrSchemaTooNew) {
		t.Errorf("MigrationSQL from a future version: %v, want ErrSchemaTooNew", err)
	}
}

// TestWithoutMigrate checks the operator's path: Open refuses a missing or
// old schema and creates nothing; the script of MigrationSQL brings it up to
// date, refuses to run twice, and then Open accepts the schema.
func TestWithoutMigrate(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	_, err := postgres.Open(t.Context(), dsn(), postgres.WithSchema(schema), postgres.WithoutMigrate())
	if !errors.Is(err, postgres.ErrSchemaTooOld) {
		t.Fatalf("Open WithoutMigrate of a missing schema: %v, want ErrSchemaTooOld", err)
	}
	var exists bool
	conn, err := pgx.Connect(t.Context(), dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("Open WithoutMigrate created schema %s", schema)
	}

	script, err := postgres.MigrationSQL(schema, 0)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, script)
	wantVersions(t, schema)
	// The script checks the version it starts from: run again, it aborts.
	if _, err := conn.Exec(t.Context(), script); err == nil || !strings.Contains(err.Error(), `schema "`+schema+`" is not at version 0`) {
		t.Errorf("running the script twice: %v, want an error saying the schema is not at version 0", err)
	}
	wantVersions(t, schema)
	// From the current version, the script only checks.
	current, err := postgres.MigrationSQL(schema, postgres.SchemaVersion)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, current)

	s := openSchema(t, schema, postgres.WithoutMigrate())
	if _, err := s.Create(t.Context(), storage.Instance{ID: "a"}, nil); err != nil {
		t.Fatal(err)
	}

	// A schema whose version table lost its rows is too old again.
	exec(t, "DELETE FROM "+pgx.Identifier{schema}.Sanitize()+".schema_migrations")
	if _, err := postgres.Open(t.Context(), dsn(), postgres.WithSchema(schema), postgres.WithoutMigrate()); !errors.Is(err, postgres.ErrSchemaTooOld) {
		t.Errorf("Open WithoutMigrate of a schema at version 0: %v, want ErrSchemaTooOld", err)
	}
}

// TestMigrateAndOpenPool checks the pool-based API: Migrate then OpenPool,
// and that closing the store leaves the caller's pool open.
func TestMigrateAndOpenPool(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	ctx := t.Context()
	pool, err := pgxpool.New(ctx, dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool, postgres.WithSchema(schema)); err != nil {
		t.Fatal(err)
	}
	if err := postgres.Migrate(ctx, pool, postgres.WithSchema(schema)); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	wantVersions(t, schema)
	s, err := postgres.OpenPool(ctx, pool, postgres.WithSchema(schema), postgres.WithoutMigrate())
	if err != nil {
		t.Fatal(err)
	}
	if s.Schema() != schema {
		t.Errorf("Schema() = %q, want %q", s.Schema(), schema)
	}
	if _, err := s.Create(ctx, storage.Instance{ID: "a"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "a"); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Load after Close: %v, want ErrClosed", err)
	}
	if err := pool.Ping(ctx); err != nil {
		t.Errorf("the caller's pool after the store's Close: %v", err)
	}
	if _, err := postgres.OpenPool(ctx, nil); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("OpenPool(nil): %v, want ErrInvalid", err)
	}
	if err := postgres.Migrate(ctx, nil); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("Migrate(nil): %v, want ErrInvalid", err)
	}
}

// TestSchemaNames opens stores on schemas whose names need quoting, and
// checks that unusable names are refused before any connection is made.
func TestSchemaNames(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", strings.Repeat("x", 64), "pg_weft", "a\x00b", "\xff"} {
		if _, err := postgres.Open(t.Context(), "postgres://nobody@127.0.0.1:1/none", postgres.WithSchema(bad)); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("Open with schema %q: %v, want ErrInvalid", bad, err)
		}
		if _, err := postgres.MigrationSQL(bad, 0); bad != "" && !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("MigrationSQL(%q): %v, want ErrInvalid", bad, err)
		}
	}
	needServer(t)
	suffix := newSchema(t)[len("weft_test_"):]
	for _, name := range []string{
		`Weft "Quoted" ` + suffix,
		`x'); DROP SCHEMA public; --` + suffix[:8],
		"ünïcode " + suffix,
		strings.Repeat("z", 63-len(suffix)) + suffix,
	} {
		t.Cleanup(func() { dropSchema(t, name) })
		s := openSchema(t, name)
		if _, err := s.Create(t.Context(), storage.Instance{ID: "a"}, nil); err != nil {
			t.Errorf("schema %q: Create: %v", name, err)
		}
		if got, err := s.List(t.Context(), "", 10); err != nil || len(got) != 1 {
			t.Errorf("schema %q: List = %v, %v", name, got, err)
		}
		script, err := postgres.MigrationSQL(name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(script, pgx.Identifier{name}.Sanitize()) {
			t.Errorf("MigrationSQL(%q) does not quote the schema name", name)
		}
		// The script from the current version only locks and checks, with
		// the name in literals too.
		current, err := postgres.MigrationSQL(name, postgres.SchemaVersion)
		if err != nil {
			t.Fatal(err)
		}
		exec(t, current)
	}
}
