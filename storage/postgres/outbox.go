package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/weftflow/weft/storage"
)

// The outbox is read in position order (its primary key); Ack deletes by the
// unique index on the effect ID. Neither reaches dead letters (see claims.go).

func outboxSQL(schema string) string {
	return "SELECT " + effectColumnsSQL + " FROM " + schema + ".outbox WHERE NOT dead ORDER BY position LIMIT $1"
}

// outboxAfterSQL is outboxSQL from the position after $2.
func outboxAfterSQL(schema string) string {
	return "SELECT " + effectColumnsSQL + " FROM " + schema + ".outbox WHERE NOT dead AND position > $2 ORDER BY position LIMIT $1"
}

// Ack removes effects, which may make their instances' work later, so it
// recomputes their effects_at (migration 4) while holding their row locks:
// ackLockSQL locks the instances of the effects named, in ID order, and
// ackSQL, a later statement of the same transaction whose snapshot
// therefore sees every effect committed on them, deletes and recomputes.
// An effect committed between the two statements on an instance not yet
// locked is recomputed again by lockInstancesSQL and recomputeSQL.

func ackLockSQL(schema string) string {
	return "SELECT id FROM " + schema + ".instances WHERE id IN (SELECT instance FROM " + schema +
		".outbox WHERE id = ANY($1::bytea[]) AND NOT dead) ORDER BY id FOR NO KEY UPDATE"
}

func ackSQL(schema string) string {
	return `WITH del AS (
    DELETE FROM ` + schema + `.outbox WHERE id = ANY($1::bytea[]) AND NOT dead
    RETURNING instance, position
)
UPDATE ` + schema + `.instances i
   SET effects_at = (SELECT min(coalesce(o.not_before, '-infinity')) FROM ` + schema + `.outbox o
                      WHERE o.instance = i.id AND NOT o.dead AND o.position NOT IN (SELECT position FROM del))
 WHERE i.id IN (SELECT instance FROM del)
RETURNING i.id`
}

// lockInstancesSQL locks the rows of the instances $1, in ID order.
func lockInstancesSQL(schema string) string {
	return "SELECT 1 FROM " + schema + ".instances WHERE id = ANY($1::bytea[]) ORDER BY id FOR NO KEY UPDATE"
}

// recomputeSQL recomputes the effects_at of the instances $1 from the
// outbox; the caller's transaction must already hold their row locks.
func recomputeSQL(schema string) string {
	return `UPDATE ` + schema + `.instances i
   SET effects_at = (SELECT min(coalesce(o.not_before, '-infinity')) FROM ` + schema + `.outbox o
                      WHERE o.instance = i.id AND NOT o.dead)
 WHERE i.id = ANY($1::bytea[])`
}

// Outbox implements [storage.Store.Outbox].
//
// Positions are assigned when a write runs and become visible when it
// commits, so a write that overlaps another may show up after effects with
// later positions; writes that do not overlap are ordered as the contract
// says.
func (s *Store) Outbox(ctx context.Context, limit int) ([]storage.Effect, error) {
	return s.OutboxAfter(ctx, 0, limit)
}

// OutboxAfter implements [storage.Pages.OutboxAfter].
func (s *Store) OutboxAfter(ctx context.Context, after uint64, limit int) ([]storage.Effect, error) {
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
	if after == 0 {
		return s.queryEffects(ctx, s.pool, op, s.q.outbox, limit)
	}
	if after >= math.MaxInt64 {
		return nil, nil // positions are bigint
	}
	return s.queryEffects(ctx, s.pool, op, s.q.outboxAfter, limit, int64(after))
}

// Ack implements [storage.Store.Ack] in one round trip, however many IDs:
// two statements sent as one batch, which Postgres runs as one
// transaction.
func (s *Store) Ack(ctx context.Context, ids ...string) error {
	const op = "ack"
	if err := s.check(ctx, op); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	keys := byteKeys(ids)
	var locked, changed [][]byte
	b := &pgx.Batch{}
	b.Queue(s.q.ackLock, keys).Query(func(rows pgx.Rows) error {
		var err error
		locked, err = pgx.CollectRows(rows, pgx.RowTo[[]byte])
		return err
	})
	b.Queue(s.q.ack, keys).Query(func(rows pgx.Rows) error {
		var err error
		changed, err = pgx.CollectRows(rows, pgx.RowTo[[]byte])
		return err
	})
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return err
	}
	defer conn.Release()
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return s.failWrite(ctx, op, err)
	}
	late := unlocked(changed, locked)
	if len(late) == 0 {
		return nil
	}
	// Rare: an effect named by ids committed between the two statements.
	b = &pgx.Batch{}
	b.Queue(s.q.lockInstances, late)
	b.Queue(s.q.recompute, late)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return s.failWrite(ctx, op, err)
	}
	return nil
}

// unlocked returns the IDs of changed that are not in locked.
func unlocked(changed, locked [][]byte) [][]byte {
	in := make(map[string]bool, len(locked))
	for _, id := range locked {
		in[string(id)] = true
	}
	var out [][]byte
	for _, id := range changed {
		if !in[string(id)] {
			out = append(out, id)
		}
	}
	return out
}
