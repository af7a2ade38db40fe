package postgres

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftflow/weft/storage"
)

// Errors about the database schema, returned by [Open], [OpenPool] and
// [Migrate] wrapped with the schema name and both versions. Test for them with
// [errors.Is].
var (
	// ErrSchemaTooNew means the schema was migrated by a newer version of
	// this package than the running one: its tables may mean something this
	// binary does not know, so it refuses to touch them. Upgrade the binary.
	ErrSchemaTooNew = errors.New("schema is newer than this binary")

	// ErrSchemaTooOld means the schema is missing or older than this package
	// needs, and the store was opened [WithoutMigrate]: apply the SQL of
	// [MigrationSQL] (or call [Migrate]) first.
	ErrSchemaTooOld = errors.New("schema is missing or older than this binary")
)

// Postgres error codes the store tells apart.
const (
	codeUniqueViolation = "23505"
	codeUndefinedTable  = "42P01"
	codeInvalidSchema   = "3F000"
)

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// isEffectIDTaken reports whether err is the outbox's unique index refusing an
// effect ID.
func isEffectIDTaken(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation &&
		pgErr.ConstraintName == "outbox_effect_id"
}

// takenEffect describes the effect ID that err, the outbox's unique index
// refusing one, names in its detail ("Key (id)=(\x612f31) already
// exists."), and falls back to a description without the ID.
func takenEffect(err error) string {
	const prefix, suffix = `Key (id)=(\x`, `) already exists.`
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		d := pgErr.Detail
		if strings.HasPrefix(d, prefix) && strings.HasSuffix(d, suffix) {
			if id, err := hex.DecodeString(d[len(prefix) : len(d)-len(suffix)]); err == nil {
				return fmt.Sprintf("effect ID %q is already taken (in the outbox or its dead letters)", id)
			}
		}
	}
	return "an effect ID is already taken (in the outbox or its dead letters)"
}

// fail wraps an error from the database with the operation (already
// formatted, as in `commit "a"`). A call made on a closed store reports
// [storage.ErrClosed]; a call whose ctx ended reports ctx.Err() too, so that
// errors.Is(err, context.Canceled) holds whatever pgx wrapped.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	switch {
	case s.closed.Load():
		return fmt.Errorf("storage: %s: %w (%w)", op, storage.ErrClosed, err)
	case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
		return fmt.Errorf("storage: %s: %w: %w", op, ctx.Err(), err)
	}
	return fmt.Errorf("storage: %s: %w", op, err)
}

// failWrite is fail for the error of the statement that commits a write
// (a single-statement write, a batch, or the COMMIT of a transaction). It
// adds [storage.ErrOutcomeUnknown] unless the error shows that the write
// did not commit: an error the server reported for the statement (a
// constraint violation, a canceled statement), or one pgx raised before
// sending anything (pgconn.SafeToRetry). A broken connection, a timeout
// while waiting for the answer, or a server that ended the session (a FATAL
// error, such as pg_terminate_backend's) leave it unknown: the statement
// may have committed before the answer was lost.
func (s *Store) failWrite(ctx context.Context, op string, err error) error {
	if outcomeUnknown(err) {
		err = fmt.Errorf("%w: %w", storage.ErrOutcomeUnknown, err)
	}
	return s.fail(ctx, op, err)
}

// outcomeUnknown reports whether err, from the statement that commits a
// write, leaves it unknown whether the write committed (see failWrite).
func outcomeUnknown(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Severity == "FATAL" || pgErr.Severity == "PANIC"
	}
	return !pgconn.SafeToRetry(err)
}

// acquire takes a connection from the pool for a write. Its failure sent
// nothing, so it is never an unknown outcome (pgxpool's own acquisition
// inside QueryRow reports connection failures that pgconn.SafeToRetry
// does not recognize).
func (s *Store) acquire(ctx context.Context, op string) (*pgxpool.Conn, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return c, nil
}

// check checks what every method checks before touching the database: the
// context, then (after the caller validated its arguments) that the store is
// open.
func (s *Store) check(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	if s.closed.Load() {
		return fmt.Errorf("storage: %s: %w", op, storage.ErrClosed)
	}
	return nil
}

// collect reads every row of a query with scan (pgx.CollectRows), turning a
// failure of the query or of any row into the store's error for op. An
// empty result is nil.
func collect[T any](ctx context.Context, s *Store, op string, rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
