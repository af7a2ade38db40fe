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

// dueAfterSQL is dueBeforeSQL from the row after ($3, $4) in the same
// order: a row comparison, which the index on (due, id) serves as a range.
func dueAfterSQL(schema string) string {
	return "SELECT id, due FROM " + schema + ".instances WHERE due IS NOT NULL AND due <= $1 AND (due, id) > ($3, $4) ORDER BY due, id LIMIT $2"
}

// The storable range of a non-zero Due, as in storage.Instance.Validate.
var (
	minDue = time.Unix(0, 0).UTC()
	maxDue = time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC)
)

// DueBefore implements [storage.Store.DueBefore].
func (s *Store) DueBefore(ctx context.Context, t time.Time, limit int) ([]storage.Due, error) {
	return s.DueAfter(ctx, t, storage.Due{}, limit)
}

// DueAfter implements [storage.Pages.DueAfter].
func (s *Store) DueAfter(ctx context.Context, t time.Time, after storage.Due, limit int) ([]storage.Due, error) {
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
	if t.Before(minDue) || !after.At.Before(maxDue) {
		return nil, nil
	}
	if t.After(maxDue) {
		t = maxDue
	}
	t = t.Truncate(storage.DuePrecision).UTC()
	var rows pgx.Rows
	var err error
	if after.At.Before(minDue) {
		rows, err = s.pool.Query(ctx, s.q.dueBefore, t, limit) // every stored Due comes after after
	} else {
		// Postgres keeps microseconds, as stored Dues are: an after inside
		// a microsecond comes after every entry of that microsecond, so
		// the next microsecond with the empty ID (less than any instance
		// ID; not nil, which would be NULL) stands for it.
		at, id := after.At.Truncate(storage.DuePrecision), []byte(after.ID)
		if !at.Equal(after.At) {
			at, id = at.Add(storage.DuePrecision), []byte{}
		}
		rows, err = s.pool.Query(ctx, s.q.dueAfter, t, limit, at.UTC(), id)
	}
	return collect(ctx, s, op, rows, err, func(row pgx.Row) (storage.Due, error) {
		var id []byte
		var at time.Time
		err := row.Scan(&id, &at)
		return storage.Due{ID: string(id), At: at.UTC()}, err
	})
}
