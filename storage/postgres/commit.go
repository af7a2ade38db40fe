package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftflow/weft/storage"
)

// Create and Commit are one statement each, so one round trip: the record,
// the outbox and the due index (a column of the record) change together or
// not at all. The outbox insert reads the row the record write returns, so
// it runs only if that write happened and takes its positions after the
// instance's row is locked: effects of one instance follow its versions. A
// taken effect ID fails the whole statement on the outbox's unique index.

func createSQL(schema string) string {
	return `WITH ins AS (
    INSERT INTO ` + schema + `.instances (id, version, workflow, status, due, data, effects_at)
    VALUES ($1, 1, $2, $3, $4, $5, ` + effectsAtSQL("$8") + `)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
), eff AS (
    INSERT INTO ` + schema + `.outbox (id, instance, data, not_before)
    SELECT e.id, ins.id, e.data, e.not_before
      FROM ins, unnest($6::bytea[], $7::bytea[], $8::timestamptz[]) WITH ORDINALITY AS e(id, data, not_before, ord)
     ORDER BY e.ord
)
SELECT count(*) FROM ins`
}

// effectsAtSQL is the earliest of the not-before times in the array param
// (the new effects of a write), -infinity for one ready at once, NULL for
// none: what the write contributes to the instance's effects_at (migration
// 4). A commit only adds effects, so least() of it and the stored value is
// the new value, whatever else the outbox holds.
func effectsAtSQL(param string) string {
	return "(SELECT min(coalesce(nb, '-infinity')) FROM unnest(" + param + "::timestamptz[]) AS nb)"
}

// commitSQL returns the new version, or NULL and the version stored before
// the statement (NULL if the instance does not exist).
func commitSQL(schema string) string {
	return `WITH upd AS (
    UPDATE ` + schema + `.instances
       SET version = version + 1, workflow = $3, status = $4, due = $5, data = $6,
           effects_at = least(effects_at, ` + effectsAtSQL("$9") + `)
     WHERE id = $1 AND version = $2
    RETURNING id, version
), eff AS (
    INSERT INTO ` + schema + `.outbox (id, instance, data, not_before)
    SELECT e.id, upd.id, e.data, e.not_before
      FROM upd, unnest($7::bytea[], $8::bytea[], $9::timestamptz[]) WITH ORDINALITY AS e(id, data, not_before, ord)
     ORDER BY e.ord
)
SELECT (SELECT version FROM upd), (SELECT version FROM ` + schema + `.instances WHERE id = $1)`
}

// Create implements [storage.Store.Create].
func (s *Store) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	op := fmt.Sprintf("create %q", inst.ID)
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := inst.Validate(); err != nil {
		return 0, err
	}
	if err := storage.ValidateEffects(inst.ID, effects); err != nil {
		return 0, err
	}
	if err := s.check(ctx, op); err != nil {
		return 0, err
	}
	ids, data, notBefore := effectColumns(effects)
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	var created int64
	err = conn.QueryRow(ctx, s.q.create,
		[]byte(inst.ID), []byte(inst.Workflow), []byte(inst.Status), dueParam(inst), inst.Data,
		ids, data, notBefore,
	).Scan(&created)
	switch {
	case isEffectIDTaken(err):
		return 0, fmt.Errorf("storage: %s: %s: %w", op, takenEffect(err), storage.ErrExists)
	case err != nil:
		return 0, s.failWrite(ctx, op, err)
	case created == 0:
		return 0, fmt.Errorf("storage: %s: instance %w", op, storage.ErrExists)
	}
	s.wakeAfter(len(effects), inst.Due)
	return 1, nil
}

// Commit implements [storage.Store.Commit]. An error wrapping
// [storage.ErrOutcomeUnknown] (a connection lost, or a session ended by the
// server, while the statement or the COMMIT was in flight) leaves the
// outcome unknown: the write may have committed. Other errors mean it did
// not.
func (s *Store) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	id := c.Instance.ID
	op := fmt.Sprintf("commit %q", id)
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := c.Validate(); err != nil {
		return 0, err
	}
	if err := s.check(ctx, op); err != nil {
		return 0, err
	}
	// Stored versions are positive bigints: an Expect beyond them can only
	// conflict, and -1 matches no row.
	expect := int64(-1)
	if c.Expect <= math.MaxInt64 {
		expect = int64(c.Expect)
	}
	ids, data, notBefore := effectColumns(c.Effects)
	var next, stored pgtype.Int8
	inst := c.Instance
	args := []any{[]byte(id), expect, []byte(inst.Workflow), []byte(inst.Status), dueParam(inst), inst.Data,
		ids, data, notBefore}
	var err error
	if c.Lease == nil {
		var conn *pgxpool.Conn
		if conn, err = s.acquire(ctx, op); err != nil {
			return 0, err
		}
		defer conn.Release()
		if err = conn.QueryRow(ctx, s.q.commit, args...).Scan(&next, &stored); err != nil && !isEffectIDTaken(err) {
			return 0, s.failWrite(ctx, op, err)
		}
	} else {
		var done bool
		done, err = s.fencedCommit(ctx, op, *c.Lease, args, &next, &stored)
		if done {
			return 0, err
		}
	}
	switch {
	case isEffectIDTaken(err):
		// The version matched (the insert runs only after the update), so
		// ErrExists is the right answer by the contract's order.
		return 0, fmt.Errorf("storage: %s: %s: %w", op, takenEffect(err), storage.ErrExists)
	case err != nil:
		return 0, s.fail(ctx, op, err)
	case next.Valid:
		s.wakeAfter(len(c.Effects), inst.Due)
		return uint64(next.Int64), nil
	case !stored.Valid:
		return 0, fmt.Errorf("storage: %s: instance %w", op, storage.ErrNotFound)
	case stored.Int64 == expect:
		// The statement's snapshot still had Expect, but a writer that
		// committed while this one waited for the row changed it.
		return 0, fmt.Errorf("storage: %s: %w (expected %d, changed by a concurrent commit)", op, storage.ErrConflict, c.Expect)
	}
	return 0, fmt.Errorf("storage: %s: %w (expected %d, stored %d)", op, storage.ErrConflict, c.Expect, stored.Int64)
}

// fencedCommit runs the commit statement in a transaction that first holds
// the lease row FOR SHARE (see Store.fence), so that a takeover cannot slip
// between the fence check and the write. It reports done with the error to
// return when the fence decided (ErrNotFound, ErrFenced, a failed commit),
// and otherwise the statement's outcome, for Commit to read as unfenced.
func (s *Store) fencedCommit(ctx context.Context, op string, l storage.Lease, args []any, next, stored *pgtype.Int8) (done bool, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return true, s.fail(ctx, op, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if leased, err := s.fence(ctx, tx, s.cq.fence, op, l); err != nil {
		if errors.Is(err, storage.ErrFenced) && !leased {
			// Only instances that exist were ever leased: ErrNotFound
			// comes first.
			var one int
			switch err := tx.QueryRow(ctx, s.cq.exists, []byte(l.Instance)).Scan(&one); {
			case errors.Is(err, pgx.ErrNoRows):
				return true, fmt.Errorf("storage: %s: instance %w", op, storage.ErrNotFound)
			case err != nil:
				return true, s.fail(ctx, op, err)
			}
		}
		return true, err
	}
	if err := tx.QueryRow(ctx, s.q.commit, args...).Scan(next, stored); err != nil {
		return false, err
	}
	if !next.Valid {
		return false, nil // nothing written: Commit reports why
	}
	if err := tx.Commit(ctx); err != nil {
		return true, s.failWrite(ctx, op, err)
	}
	return false, nil
}

// effectColumns returns the IDs, payloads and not-before times of effects
// as arrays (a NULL time for none).
func effectColumns(effects []storage.Effect) (ids, data [][]byte, notBefore []pgtype.Timestamptz) {
	ids = make([][]byte, len(effects))
	data = make([][]byte, len(effects))
	notBefore = make([]pgtype.Timestamptz, len(effects))
	for i, e := range effects {
		ids[i] = []byte(e.ID)
		data[i] = e.Data
		if nb := storage.NormalizeDue(e.NotBefore); !nb.IsZero() {
			notBefore[i] = pgtype.Timestamptz{Time: nb, Valid: true}
		}
	}
	return ids, data, notBefore
}

// dueParam returns inst's Due as the due column stores it: NULL for the zero
// time, else normalized.
func dueParam(inst storage.Instance) pgtype.Timestamptz {
	if inst.Due.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: storage.NormalizeDue(inst.Due), Valid: true}
}
