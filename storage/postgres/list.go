package postgres

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/storage"
)

// List reads the primary key index in order: bytea compares byte-wise, as Go
// compares strings.
func listSQL(schema string) string {
	return "SELECT " + instanceColumns + " FROM " + schema + ".instances WHERE id > $1 ORDER BY id LIMIT $2"
}

// List implements [storage.Store.List].
func (s *Store) List(ctx context.Context, after string, limit int) ([]storage.Instance, error) {
	op := fmt.Sprintf("list after %q", after)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, err
	}
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.q.list, []byte(after), limit)
	return collect(ctx, s, op, rows, err, scanInstance)
}
