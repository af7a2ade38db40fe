package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftflow/weft/storage"
)

// instanceColumns are the columns scanInstance reads, in its order.
const instanceColumns = "id, version, workflow, status, due, data"

func loadSQL(schema string) string {
	return "SELECT " + instanceColumns + " FROM " + schema + ".instances WHERE id = $1"
}

// Load implements [storage.Store.Load].
func (s *Store) Load(ctx context.Context, id string) (storage.Instance, error) {
	op := fmt.Sprintf("load %q", id)
	if err := s.check(ctx, op); err != nil {
		return storage.Instance{}, err
	}
	inst, err := scanInstance(s.pool.QueryRow(ctx, s.q.load, []byte(id)))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return storage.Instance{}, fmt.Errorf("storage: %s: instance %w", op, storage.ErrNotFound)
	case err != nil:
		return storage.Instance{}, s.fail(ctx, op, err)
	}
	return inst, nil
}

// scanInstance reads a row of instanceColumns.
func scanInstance(row pgx.Row) (storage.Instance, error) {
	var (
		id, workflow, status, data []byte
		version                    int64
		due                        pgtype.Timestamptz
	)
	if err := row.Scan(&id, &version, &workflow, &status, &due, &data); err != nil {
		return storage.Instance{}, err
	}
	inst := storage.Instance{
		ID:       string(id),
		Workflow: string(workflow),
		Version:  uint64(version),
		Status:   string(status),
		Data:     data,
	}
	if due.Valid {
		inst.Due = due.Time.UTC()
	}
	return inst, nil
}
