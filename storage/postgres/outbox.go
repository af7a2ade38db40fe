package postgres

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/storage"
)

// The outbox is read in position order (its primary key); Ack deletes by the
// unique index on the effect ID. Neither reaches dead letters (see claims.go).

func outboxSQL(schema string) string {
	return "SELECT " + effectColumnsSQL + " FROM " + schema + ".outbox WHERE NOT dead ORDER BY position LIMIT $1"
}

func ackSQL(schema string) string {
	return "DELETE FROM " + schema + ".outbox WHERE id = ANY($1::bytea[]) AND NOT dead"
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
	return s.queryEffects(ctx, s.pool, op, s.q.outbox, limit)
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
	if _, err := s.pool.Exec(ctx, s.q.ack, byteKeys(ids)); err != nil {
		return s.fail(ctx, op, err)
	}
	return nil
}
