package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftflow/weft/storage"
)

// The outbox is read in position order (its primary key); Ack deletes by the
// unique index on the effect ID.

func outboxSQL(schema string) string {
	return "SELECT position, id, instance, data, not_before FROM " + schema + ".outbox ORDER BY position LIMIT $1"
}

func ackSQL(schema string) string {
	return "DELETE FROM " + schema + ".outbox WHERE id = ANY($1::bytea[])"
}

// Outbox implements [storage.Store.Outbox].
//
// Positions are assigned when a write runs and become visible when it
// commits, so a write that overlaps another may show up after effects with
// later positions; writes that do not overlap are ordered as the contract
// says.
func (s *Store) Outbox(ctx context.Context, limit int) ([]storage.Effect, error) {
	const op = "outbox"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, err
	}
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.q.outbox, limit)
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	defer rows.Close()
	var out []storage.Effect
	for rows.Next() {
		var (
			pos                int64
			id, instance, data []byte
			notBefore          pgtype.Timestamptz
		)
		if err := rows.Scan(&pos, &id, &instance, &data, &notBefore); err != nil {
			return nil, s.fail(ctx, op, err)
		}
		e := storage.Effect{ID: string(id), Instance: string(instance), Data: data, Seq: uint64(pos)}
		if notBefore.Valid {
			e.NotBefore = storage.NormalizeDue(notBefore.Time)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return out, nil
}

// Ack implements [storage.Store.Ack] in one statement, however many IDs.
func (s *Store) Ack(ctx context.Context, ids ...string) error {
	const op = "ack"
	if err := s.check(ctx, op); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	keys := make([][]byte, len(ids))
	for i, id := range ids {
		keys[i] = []byte(id)
	}
	if _, err := s.pool.Exec(ctx, s.q.ack, keys); err != nil {
		return s.fail(ctx, op, err)
	}
	return nil
}
