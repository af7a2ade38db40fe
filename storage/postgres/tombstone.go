package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftflow/weft/storage"
)

// codeBuried is the SQLSTATE of the tombstone trigger (migration 8): an
// insert into instances at or below the ID's tombstone, which Create's
// snapshot did not hold because a Delete committed while it ran.
const codeBuried = "WT001"

// buriedSQL reads, with a fresh snapshot, what Create's statement reads in
// its own: whether the ID's row exists, and its tombstone.
func buriedSQL(schema string) string {
	return `SELECT EXISTS (SELECT 1 FROM ` + schema + `.instances WHERE id = $1), t.version, t.data
  FROM (VALUES (1)) AS one (x) LEFT JOIN ` + schema + `.tombstones t ON t.id = $1`
}

// buried answers a Create that the tombstone trigger refused: nothing of it
// was written. The tombstone it missed is read again and returned as a
// [storage.DeletedError], unless an instance of the ID is live by now
// (ErrExists comes first, as in Create).
func (s *Store) buried(ctx context.Context, conn *pgxpool.Conn, op, id string) error {
	var (
		live bool
		tomb pgtype.Int8
		data []byte
	)
	if err := conn.QueryRow(ctx, s.q.buried, []byte(id)).Scan(&live, &tomb, &data); err != nil {
		return s.fail(ctx, op, fmt.Errorf("a tombstone was written during the create, and reading it failed (nothing was created): %w", err))
	}
	if live || !tomb.Valid {
		return fmt.Errorf("storage: %s: instance %w", op, storage.ErrExists)
	}
	return &storage.DeletedError{ID: id, Version: uint64(tomb.Int64), Tombstone: data}
}
