package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftflow/weft/storage"
)

// DueBefore reads the partial index instances_due, which holds only the
// instances whose due is set, in (due, id) order.
func dueBeforeSQL(schema string) string {
	return "SELECT id, due FROM " + schema + ".instances WHERE due IS NOT NULL AND due <= $1 ORDER BY due, id LIMIT $2"
}

// The storable range of a non-zero Due, as in storage.Instance.Validate.
var (
	minDue = time.Unix(0, 0).UTC()
	maxDue = time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC)
)

// DueBefore implements [storage.Store.DueBefore].
func (s *Store) DueBefore(ctx context.Context, t time.Time, limit int) ([]storage.Due, error) {
	op := fmt.Sprintf("due before %v", t)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, err
	}
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	// Every stored Due lies in [minDue, maxDue): clamp t into that range so
	// any time the caller passes can be sent, and no stored Due compares
	// differently. Truncating t to the stored precision keeps "not after t".
	if t.Before(minDue) {
		return nil, nil
	}
	if t.After(maxDue) {
		t = maxDue
	}
	rows, err := s.pool.Query(ctx, s.q.dueBefore, t.Truncate(storage.DuePrecision).UTC(), limit)
	return collect(ctx, s, op, rows, err, func(row pgx.Row) (storage.Due, error) {
		var id []byte
		var at time.Time
		err := row.Scan(&id, &at)
		return storage.Due{ID: string(id), At: at.UTC()}, err
	})
}
