package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftflow/weft/storage"
)

// The schema's migrations, applied in order of their numeric prefix. A
// migration never changes once released; a change to the schema is a new
// file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded SQL file.
type migration struct {
	version int    // the file's numeric prefix, from 1 without gaps
	name    string // the file name
	sql     string
}

// migrations lists the embedded migrations in order.
var migrations = mustLoadMigrations()

// SchemaVersion is the schema version this package reads and writes: the
// number of its migrations.
var SchemaVersion = len(migrations)

func mustLoadMigrations() []migration {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		panic(err) // a broken build, caught by every test
	}
	return ms
}

// loadMigrations reads the *.sql files of fsys's migrations directory, which
// must be numbered 1, 2, ... without gaps ("0001_name.sql").
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		prefix, _, ok := strings.Cut(name, "_")
		n, err := strconv.Atoi(prefix)
		if !ok || err != nil || path.Ext(name) != ".sql" {
			return nil, fmt.Errorf("postgres: migration file %q is not named NNNN_name.sql", name)
		}
		if n != len(ms)+1 {
			return nil, fmt.Errorf("postgres: migration file %q has number %d, want %d", name, n, len(ms)+1)
		}
		body, err := fs.ReadFile(fsys, path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: n, name: name, sql: string(body)})
	}
	if len(ms) == 0 {
		return nil, errors.New("postgres: no migrations embedded")
	}
	return ms, nil
}

// quote returns name as a quoted SQL identifier.
func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// quoteLiteral returns s as a quoted SQL string literal, for the operator's
// script (Open passes the name as a parameter). s is valid UTF-8 without NUL
// (see ValidateSchemaName), and standard_conforming_strings is on by default
// since PostgreSQL 9.1, so doubling quotes is enough.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// lockQuery takes the transaction-scoped advisory lock that serializes
// migrations of one schema across processes; $1 is the schema name.
const lockQuery = "SELECT pg_advisory_xact_lock(hashtext('weft/storage/postgres'), hashtext($1))"

// lockSQL is lockQuery with the schema name as a literal, for scripts.
func lockSQL(schema string) string {
	return strings.Replace(lockQuery, "$1", quoteLiteral(schema), 1)
}

// prologue creates the schema and its version table if they are missing.
func prologue(schema string) []string {
	q := quote(schema)
	return []string{
		"CREATE SCHEMA IF NOT EXISTS " + q,
		"CREATE TABLE IF NOT EXISTS " + q + `.schema_migrations (
    version    integer     NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`,
	}
}

// versionSQL reads the schema's version: the highest applied migration.
func versionSQL(schema string) string {
	return "SELECT coalesce(max(version), 0) FROM " + quote(schema) + ".schema_migrations"
}

// recordSQL records that m was applied.
func recordSQL(schema string, m migration) string {
	return "INSERT INTO " + quote(schema) + ".schema_migrations (version, name) VALUES (" +
		strconv.Itoa(m.version) + ", " + quoteLiteral(m.name) + ")"
}

// searchPathSQL points the transaction's unqualified names at the schema.
func searchPathSQL(schema string) string { return "SET LOCAL search_path TO " + quote(schema) }

// MigrationSQL returns a psql script that migrates the schema from version
// from (0 for an empty database) to [SchemaVersion], for operators who apply
// migrations themselves (see [WithoutMigrate]). The script runs in one
// transaction under the same advisory lock [Open] takes, and aborts without
// changing anything unless the schema is at version from when it runs. The
// schema name defaults to [DefaultSchema] when empty.
func MigrationSQL(schema string, from int) (string, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	if err := ValidateSchemaName(schema); err != nil {
		return "", err
	}
	if from < 0 || from > SchemaVersion {
		return "", fmt.Errorf("postgres: migration SQL from version %d: this binary knows versions 0 to %d: %w",
			from, SchemaVersion, ErrSchemaTooNew)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- weft storage/postgres: schema %s from version %d to %d.\n", quote(schema), from, SchemaVersion)
	b.WriteString("BEGIN;\n")
	b.WriteString(lockSQL(schema) + ";\n")
	for _, stmt := range prologue(schema) {
		b.WriteString(stmt + ";\n")
	}
	fmt.Fprintf(&b, `DO $weft$
BEGIN
    IF (%s) <> %d THEN
        RAISE EXCEPTION 'weft: schema %% is not at version %d', %s;
    END IF;
END
$weft$;
`, versionSQL(schema), from, from, quoteLiteral(quote(schema)))
	b.WriteString(searchPathSQL(schema) + ";\n")
	for _, m := range migrations[from:] {
		fmt.Fprintf(&b, "\n-- %s\n%s\n", m.name, strings.TrimSpace(m.sql))
		b.WriteString(recordSQL(schema, m) + ";\n")
	}
	b.WriteString("COMMIT;\n")
	return b.String(), nil
}

// Migrate brings the schema named by the options (see [WithSchema]) on pool's
// database to [SchemaVersion], creating it if needed, as [Open] does unless
// told [WithoutMigrate]. Concurrent calls, from any number of processes, are
// serialized by an advisory lock; all but the first find nothing to do. It
// fails with [ErrSchemaTooNew] if a newer binary migrated the schema.
func Migrate(ctx context.Context, pool *pgxpool.Pool, opts ...Option) error {
	cfg, err := newConfig(opts)
	if err != nil {
		return err
	}
	if pool == nil {
		return fmt.Errorf("storage: postgres: migrate: nil pool: %w", storage.ErrInvalid)
	}
	return migrate(ctx, pool, cfg.schema)
}

func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	// Most opens find the schema current: check without the lock first so
	// that many processes starting at once do not queue on it.
	if v, err := schemaVersion(ctx, pool, schema); err == nil && v == SchemaVersion {
		return nil
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("storage: postgres: migrate schema %q: %w", schema, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, lockQuery, schema); err != nil {
		return fmt.Errorf("storage: postgres: migrate schema %q: lock: %w", schema, err)
	}
	for _, stmt := range prologue(schema) {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("storage: postgres: migrate schema %q: %w", schema, err)
		}
	}
	var v int
	if err := tx.QueryRow(ctx, versionSQL(schema)).Scan(&v); err != nil {
		return fmt.Errorf("storage: postgres: migrate schema %q: read version: %w", schema, err)
	}
	if v > SchemaVersion {
		return tooNew(schema, v)
	}
	if v == SchemaVersion {
		return nil // another process migrated while this one waited for the lock
	}
	if _, err := tx.Exec(ctx, searchPathSQL(schema)); err != nil {
		return fmt.Errorf("storage: postgres: migrate schema %q: %w", schema, err)
	}
	for _, m := range migrations[v:] {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("storage: postgres: migrate schema %q: %s: %w", schema, m.name, err)
		}
		if _, err := tx.Exec(ctx, recordSQL(schema, m)); err != nil {
			return fmt.Errorf("storage: postgres: migrate schema %q: record %s: %w", schema, m.name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("storage: postgres: migrate schema %q: commit: %w", schema, err)
	}
	return nil
}

// checkVersion fails unless the schema is at exactly SchemaVersion.
func checkVersion(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	v, err := schemaVersion(ctx, pool, schema)
	switch {
	case err != nil:
		return fmt.Errorf("storage: postgres: check schema %q: %w", schema, err)
	case v > SchemaVersion:
		return tooNew(schema, v)
	case v < SchemaVersion:
		return fmt.Errorf("storage: postgres: schema %q is at version %d, this binary needs %d; apply postgres.MigrationSQL(%q, %d): %w",
			schema, v, SchemaVersion, schema, v, ErrSchemaTooOld)
	}
	return nil
}

func tooNew(schema string, v int) error {
	return fmt.Errorf("storage: postgres: schema %q is at version %d, this binary knows only up to %d: %w",
		schema, v, SchemaVersion, ErrSchemaTooNew)
}

// schemaVersion reads the schema's version; a missing schema or version
// table is version 0.
func schemaVersion(ctx context.Context, pool *pgxpool.Pool, schema string) (int, error) {
	var v int
	err := pool.QueryRow(ctx, versionSQL(schema)).Scan(&v)
	switch code := pgCode(err); {
	case err == nil:
		return v, nil
	case code == codeUndefinedTable || code == codeInvalidSchema:
		return 0, nil
	}
	return 0, err
}
