package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftflow/weft/storage"
)

var (
	_ storage.Claims          = (*Store)(nil)
	_ storage.AckReleaser     = (*Store)(nil)
	_ storage.PendingWithDead = (*Store)(nil)
)

// Leases live in their own table (migration 3), one row per instance ever
// leased, kept after release so that tokens only grow. Fenced calls read the
// lease row FOR SHARE in the transaction of their write, and every grant
// updates it, so a takeover and a fenced write of the old lease serialize:
// whichever commits second sees the other. The caller's now decides expiry
// and readiness (the adapter does not implement storage.Clocked).

// grantSQL issues a lease on the instances of the rows of cand (columns id)
// that hold no live lease at $1; $2 is the owner, $3 the expiry. The
// conditional upsert re-reads the lease row after waiting for its lock, so
// two claimers never both get a lease on one instance.
func grantSQL(schema string) string {
	return `INSERT INTO ` + schema + `.leases AS l (instance, owner, token, held, expires)
    SELECT id, $2::bytea, 1, true, $3::timestamptz FROM cand ORDER BY id
    ON CONFLICT (instance) DO UPDATE
       SET owner = EXCLUDED.owner, token = l.token + 1, held = true, expires = EXCLUDED.expires
     WHERE NOT (l.held AND l.expires > $1::timestamptz)
    RETURNING instance, owner, token, expires`
}

// claimSQL takes the candidates in work order from the index
// instances_work (migration 4), locking their instance rows with SKIP
// LOCKED so that concurrent claimers pass over each other's candidates
// instead of queuing on them. It reads the instances with work in order and
// stops after $4 of them without a live lease: its cost grows with the
// limit and the live leases it passes over, not with the backlog.
func claimSQL(schema string) string {
	return `WITH cand AS (
    SELECT i.id, i.work_at FROM ` + schema + `.instances i
     WHERE i.work_at IS NOT NULL AND i.work_at <= $1::timestamptz
       AND NOT EXISTS (SELECT 1 FROM ` + schema + `.leases l WHERE l.instance = i.id AND l.held AND l.expires > $1)
     ORDER BY i.work_at, i.id
     LIMIT $4
       FOR NO KEY UPDATE OF i SKIP LOCKED
), granted AS (` + grantSQL(schema) + `)
SELECT g.instance, g.owner, g.token, g.expires FROM granted g JOIN cand c ON c.id = g.instance ORDER BY c.work_at, c.id`
}

// acquireSQL grants a lease on instance $4 if it exists and holds no live
// lease.
func acquireSQL(schema string) string {
	return `WITH cand AS (SELECT id FROM ` + schema + `.instances WHERE id = $4::bytea)
` + grantSQL(schema)
}

// leaseSQL reads the lease of an instance that exists: a deleted
// instance's lease row stays, for its token (see Store.Delete).
func leaseSQL(schema string) string {
	return "SELECT l.owner, l.token, l.held, l.expires FROM " + schema + ".leases l JOIN " + schema +
		".instances i ON i.id = l.instance WHERE l.instance = $1"
}

// fenceSQL reads the lease of a read (see Store.fenced).
func fenceSQL(schema string) string {
	return "SELECT token, held FROM " + schema + ".leases WHERE instance = $1"
}

// fenceDeadSQL is fenceSQL that also says whether the instance has dead
// letters (from the index outbox_dead_instance), for PendingWithDead.
func fenceDeadSQL(schema string) string {
	return "SELECT token, held, EXISTS (SELECT 1 FROM " + schema + ".outbox WHERE instance = $1 AND dead) FROM " +
		schema + ".leases WHERE instance = $1"
}

// leaseHeldSQL is the condition under which a statement sent after
// fenceLockSQL writes: lease token tok of instance inst is current.
func leaseHeldSQL(schema, inst, tok string) string {
	return "EXISTS (SELECT 1 FROM " + schema + ".leases WHERE instance = " + inst + " AND token = " + tok + " AND held)"
}

// fenceLockSQL is fenceSQL that also locks the instance's row, for fenced
// writes that recompute its effects_at (see effectsAfterSQL).
//
// It locks the instance's row before the lease row, the order Claim takes
// them in (instance rows with SKIP LOCKED, then the lease rows it grants):
// with the opposite order a fenced write and a claim whose snapshot still
// saw the instance unleased deadlocked (storagetest SharedClaims, 1 run in
// 6).
func fenceLockSQL(schema string) string {
	return "WITH i AS (SELECT id FROM " + schema + ".instances WHERE id = $1 FOR NO KEY UPDATE)" +
		" SELECT l.token, l.held FROM " + schema + ".leases l, i WHERE l.instance = i.id FOR SHARE OF l"
}

func renewSQL(schema string) string {
	return "UPDATE " + schema + ".leases SET expires = $4 WHERE instance = $1 AND token = $2 AND held AND expires > $3 RETURNING owner"
}

// releaseSQL releases the leases ($1 instances, $2 tokens) that are
// current. It locks their rows in instance order, as Claim's grant does,
// so that a batch release and a claim waiting for one of its rows cannot
// deadlock.
func releaseSQL(schema string) string {
	return `WITH cur AS (
    SELECT l.instance FROM ` + schema + `.leases l
      JOIN unnest($1::bytea[], $2::bigint[]) AS r(instance, token) ON l.instance = r.instance AND l.token = r.token
     WHERE l.held
     ORDER BY l.instance
       FOR NO KEY UPDATE OF l
)
UPDATE ` + schema + `.leases AS l SET held = false FROM cur
 WHERE l.instance = cur.instance AND l.held
RETURNING l.instance`
}

// releaseOneSQL releases lease token $2 of instance $1 if it is current;
// it runs after fenceLockSQL, which holds the lease row, so it needs no
// lock order of its own.
func releaseOneSQL(schema string) string {
	return "UPDATE " + schema + ".leases SET held = false WHERE instance = $1 AND token = $2 AND held"
}

// effectColumnsSQL are the columns scanEffect reads, in its order.
const effectColumnsSQL = "position, id, instance, data, not_before, attempts, last_error"

func pendingSQL(schema string) string {
	return "SELECT " + effectColumnsSQL + " FROM " + schema + ".outbox WHERE instance = $1 AND NOT dead ORDER BY position LIMIT $2"
}

// ackLeasedSQL deletes effects of instance $2 and recomputes its
// effects_at, if $3 is its current lease token; it runs after
// fenceLockSQL.
func ackLeasedSQL(schema string) string {
	return `WITH del AS (
    DELETE FROM ` + schema + `.outbox WHERE id = ANY($1::bytea[]) AND instance = $2 AND NOT dead
       AND ` + leaseHeldSQL(schema, "$2", "$3") + `
    RETURNING position, not_before, true AS dead
)
UPDATE ` + schema + `.instances SET effects_at = ` + effectsAfterSQL(schema, "$2", "del") + `
 WHERE id = $2 AND EXISTS (SELECT 1 FROM del)`
}

// retrySQL sets an outbox effect's retry state ($6 makes it a dead letter)
// and recomputes its instance's effects_at, if $7 is the instance's
// current lease token; it runs after fenceLockSQL. It updates no row if
// the effect is not in the instance's outbox.
func retrySQL(schema string) string {
	return `WITH upd AS (
    UPDATE ` + schema + `.outbox SET attempts = $3, not_before = $4, last_error = $5, dead = $6
     WHERE id = $1 AND instance = $2 AND NOT dead AND ` + leaseHeldSQL(schema, "$2", "$7") + `
    RETURNING position, not_before, dead
)
UPDATE ` + schema + `.instances SET effects_at = ` + effectsAfterSQL(schema, "$2", "upd") + `
 WHERE id = $2 AND EXISTS (SELECT 1 FROM upd)`
}

func deadLettersSQL(schema string) string {
	return "SELECT " + effectColumnsSQL + " FROM " + schema + ".outbox WHERE dead AND id > $1 ORDER BY id LIMIT $2"
}

// requeueSQL moves a dead letter back to the end of the outbox: a new
// position from the identity, ready at once, attempts reset.
// An effect ready at once is the earliest work there is, so its instance's
// effects_at becomes -infinity whatever else happens to the row.
func requeueSQL(schema string) string {
	return `WITH req AS (
    UPDATE ` + schema + `.outbox SET position = DEFAULT, attempts = 0, not_before = NULL, dead = false
     WHERE id = $1 AND dead
    RETURNING instance
)
UPDATE ` + schema + `.instances SET effects_at = '-infinity' WHERE id IN (SELECT instance FROM req)`
}

// nextWorkSQL returns the earliest time, not before $1, at which an
// instance has work and no live lease, or NULL if no instance will have
// work: the least of the first instance in work order without a live lease
// (read from instances_work, passing over the leased ones) and, for each
// live lease on an instance with work, the later of its expiry and the
// work (read from leases_held, each lease's instance looked up by its key:
// the LIMIT keeps the planner from joining every instance, which it would
// do on stale statistics).
func nextWorkSQL(schema string) string {
	return `SELECT least(
    (SELECT greatest(i.work_at, $1::timestamptz) FROM ` + schema + `.instances i
      WHERE i.work_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM ` + schema + `.leases l WHERE l.instance = i.id AND l.held AND l.expires > $1)
      ORDER BY i.work_at, i.id LIMIT 1),
    (SELECT min(greatest(w.work_at, l.expires)) FROM ` + schema + `.leases l,
       LATERAL (SELECT i.work_at FROM ` + schema + `.instances i
                 WHERE i.id = l.instance AND i.work_at IS NOT NULL LIMIT 1) w
      WHERE l.held AND l.expires > $1))`
}

// effectsAfterSQL recomputes the effects_at of instance param after the
// statement's CTE changed (whose rows are position, not_before, dead: the
// changed effects' new state, or dead for removed ones) replaced some of its
// outbox rows. The statement's snapshot does not see its own CTE's writes,
// so the changed rows are read from the CTE. It must run while the
// transaction holds the instance's row lock taken by an earlier statement:
// then its snapshot sees every effect committed before it.
func effectsAfterSQL(schema, param, changed string) string {
	return `(SELECT min(x) FROM (
        SELECT coalesce(o.not_before, '-infinity') AS x FROM ` + schema + `.outbox o
         WHERE o.instance = ` + param + ` AND NOT o.dead AND o.position NOT IN (SELECT position FROM ` + changed + `)
        UNION ALL
        SELECT coalesce(not_before, '-infinity') FROM ` + changed + ` WHERE NOT dead
    ) m)`
}

// claimQueries holds the claims SQL, with the schema name filled in once.
type claimQueries struct {
	claim, acquire, lease, fence string
	fenceLock                    string
	renew, release, releaseOne   string
	fenceDead, pending           string
	ackLeased, retry             string
	deadLetters, requeue         string
	nextWork                     string
}

func newClaimQueries(schema string) claimQueries {
	return claimQueries{
		claim:       claimSQL(schema),
		acquire:     acquireSQL(schema),
		lease:       leaseSQL(schema),
		fence:       fenceSQL(schema),
		fenceLock:   fenceLockSQL(schema),
		renew:       renewSQL(schema),
		release:     releaseSQL(schema),
		releaseOne:  releaseOneSQL(schema),
		pending:     pendingSQL(schema),
		fenceDead:   fenceDeadSQL(schema),
		ackLeased:   ackLeasedSQL(schema),
		retry:       retrySQL(schema),
		deadLetters: deadLettersSQL(schema),
		requeue:     requeueSQL(schema),
		nextWork:    nextWorkSQL(schema),
	}
}

// timeParam returns t as the database compares it: truncated to the stored
// precision, which changes no comparison with a stored (truncated) time.
func timeParam(t time.Time) time.Time { return t.Truncate(storage.DuePrecision).UTC() }

// Claim implements [storage.Claims.Claim] in one statement.
func (s *Store) Claim(ctx context.Context, req storage.ClaimRequest) ([]storage.Lease, error) {
	const op = "claim"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, s.cq.claim,
		timeParam(req.Now), []byte(req.Owner), storage.NormalizeDue(req.Now.Add(req.TTL)), req.Limit)
	if err != nil {
		return nil, s.failWrite(ctx, op, err)
	}
	// The statement commits when its last row is sent: a failure while
	// reading them leaves the grants unknown too.
	leases, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Lease, error) { return scanLease(r) })
	if err != nil {
		return nil, s.failWrite(ctx, op, err)
	}
	if len(leases) == 0 {
		return nil, nil
	}
	return leases, nil
}

// scanLease reads a row of instance, owner, token, expires.
func scanLease(row pgx.Row) (storage.Lease, error) {
	var (
		id, owner []byte
		token     int64
		expires   time.Time
	)
	if err := row.Scan(&id, &owner, &token, &expires); err != nil {
		return storage.Lease{}, err
	}
	return storage.Lease{Instance: string(id), Owner: string(owner), Token: uint64(token), Expires: expires.UTC()}, nil
}

// Acquire implements [storage.Claims.Acquire].
func (s *Store) Acquire(ctx context.Context, id string, req storage.ClaimRequest) (storage.Lease, error) {
	op := fmt.Sprintf("acquire %q", id)
	if err := ctx.Err(); err != nil {
		return storage.Lease{}, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := storage.ValidateID(id); err != nil {
		return storage.Lease{}, err
	}
	if err := storage.ValidateTTL(req.TTL); err != nil {
		return storage.Lease{}, err
	}
	if err := s.check(ctx, op); err != nil {
		return storage.Lease{}, err
	}
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return storage.Lease{}, err
	}
	defer conn.Release()
	l, err := scanLease(conn.QueryRow(ctx, s.cq.acquire,
		timeParam(req.Now), []byte(req.Owner), storage.NormalizeDue(req.Now.Add(req.TTL)), []byte(id)))
	switch {
	case err == nil:
		return l, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return storage.Lease{}, s.failWrite(ctx, op, err)
	}
	// No lease issued: the instance is missing or leased.
	var (
		owner   []byte
		token   int64
		held    bool
		expires time.Time
	)
	err = conn.QueryRow(ctx, s.cq.lease, []byte(id)).Scan(&owner, &token, &held, &expires)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return storage.Lease{}, fmt.Errorf("storage: %s: instance %w", op, storage.ErrNotFound)
	case err != nil:
		return storage.Lease{}, s.fail(ctx, op, err)
	}
	return storage.Lease{}, fmt.Errorf("storage: %s: %w by %q until %v", op, storage.ErrLeased, owner, expires.UTC())
}

// Renew implements [storage.Claims.Renew].
func (s *Store) Renew(ctx context.Context, l storage.Lease, now time.Time, ttl time.Duration) (storage.Lease, error) {
	op := fmt.Sprintf("renew %q", l.Instance)
	if err := ctx.Err(); err != nil {
		return storage.Lease{}, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := l.Validate(); err != nil {
		return storage.Lease{}, err
	}
	if err := storage.ValidateTTL(ttl); err != nil {
		return storage.Lease{}, err
	}
	if err := s.check(ctx, op); err != nil {
		return storage.Lease{}, err
	}
	expires := storage.NormalizeDue(now.Add(ttl))
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return storage.Lease{}, err
	}
	defer conn.Release()
	var owner []byte
	err = conn.QueryRow(ctx, s.cq.renew, []byte(l.Instance), tokenParam(l.Token), timeParam(now), expires).Scan(&owner)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return storage.Lease{}, fmt.Errorf("storage: %s: lease token %d: %w (not the current lease, or expired)",
			op, l.Token, storage.ErrFenced)
	case err != nil:
		return storage.Lease{}, s.failWrite(ctx, op, err)
	}
	return storage.Lease{Instance: l.Instance, Owner: string(owner), Token: l.Token, Expires: expires}, nil
}

// tokenParam returns a token as the bigint column holds it; tokens beyond
// it were never issued, and -1 matches none.
func tokenParam(t uint64) int64 {
	if t > 1<<63-1 {
		return -1
	}
	return int64(t)
}

// Release implements [storage.Claims.Release]: one statement for all the
// leases. It does not wait for the release to reach the disk
// (synchronous_commit off for its transaction): a release lost in a crash
// of the server only leaves the lease held until it expires, which the
// contract allows of any lease, and the tokens it issued stay durable
// because Claim waits. So releasing a batch costs one round trip, not a
// WAL flush.
func (s *Store) Release(ctx context.Context, ls ...storage.Lease) error {
	op := "release"
	if len(ls) == 1 {
		op = fmt.Sprintf("release %q", ls[0].Instance)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	for _, l := range ls {
		if err := l.Validate(); err != nil {
			return err
		}
	}
	if len(ls) == 0 {
		return nil
	}
	if err := s.check(ctx, op); err != nil {
		return err
	}
	instances := make([][]byte, len(ls))
	tokens := make([]int64, len(ls))
	for i, l := range ls {
		instances[i], tokens[i] = []byte(l.Instance), tokenParam(l.Token)
	}
	released := map[string]bool{}
	b := &pgx.Batch{}
	b.Queue(asyncCommitSQL)
	b.Queue(s.cq.release, instances, tokens).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id []byte
			if err := rows.Scan(&id); err != nil {
				return err
			}
			released[string(id)] = true
		}
		return rows.Err()
	})
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return err
	}
	defer conn.Release()
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return s.failWrite(ctx, op, err)
	}
	var fenced []error
	for _, l := range ls {
		if !released[l.Instance] {
			fenced = append(fenced, fmt.Errorf("storage: release %q: lease token %d: %w (not the current lease)", l.Instance, l.Token, storage.ErrFenced))
		}
	}
	return errors.Join(fenced...)
}

// asyncCommitSQL, sent in a batch (one implicit transaction) before a
// write, makes that transaction's commit not wait for the WAL flush.
const asyncCommitSQL = "SELECT set_config('synchronous_commit', 'off', true)"

// fenced sends, as one batch (one round trip, run by Postgres as one
// implicit transaction), the query fence and the statements queue adds,
// and fails with ErrFenced unless l was its instance's current lease.
//
// For a write, fence is s.cq.fenceLock: it locks the instance's row and
// the lease row FOR SHARE, so that no grant overtakes the write, and every
// statement queued after it takes its snapshot after those locks: each
// must itself write only while l is the current lease (leaseHeldSQL), as
// nothing runs between the fence and them to stop them. A read uses
// s.cq.fence, a plain read of the lease: a read's fence needs no lock (a
// holder whose lease is lost after it reads is fenced at its next write),
// and without one the transaction writes nothing and does not wait for a
// WAL flush at its end. write says which of the two, for the error a lost
// connection gives (see Store.failWrite).
//
// A fence may return more columns after the token and held: they are
// scanned into extra.
func (s *Store) fenced(ctx context.Context, fence, op string, l storage.Lease, write bool, queue func(b *pgx.Batch), extra ...any) error {
	var (
		token int64
		held  bool
		found bool
		read  bool // the fence's answer arrived
	)
	b := &pgx.Batch{}
	b.Queue(fence, []byte(l.Instance)).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			found = true
			if err := rows.Scan(append([]any{&token, &held}, extra...)...); err != nil {
				return err
			}
		}
		read = rows.Err() == nil
		return rows.Err()
	})
	queue(b)
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return err
	}
	defer conn.Release()
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		var pgErr *pgconn.PgError
		if !write || !read && errors.As(err, &pgErr) {
			// The server failed the fence, the batch's first statement
			// (even ending the session): nothing after it ran.
			return s.fail(ctx, op, err)
		}
		return s.failWrite(ctx, op, err)
	}
	switch {
	case !found, !held:
		return fmt.Errorf("storage: %s: lease token %d: %w (current lease: none)", op, l.Token, storage.ErrFenced)
	case token != tokenParam(l.Token):
		return fmt.Errorf("storage: %s: lease token %d: %w (current lease: token %d)", op, l.Token, storage.ErrFenced, token)
	}
	return nil
}

// Pending implements [storage.Claims.Pending].
func (s *Store) Pending(ctx context.Context, l storage.Lease, limit int) ([]storage.Effect, error) {
	out, _, err := s.pending(ctx, l, limit, false)
	return out, err
}

// PendingWithDead implements [storage.PendingWithDead]: Pending's batch,
// whose fence also reads whether the instance has dead letters, where a
// host would otherwise read the dead letters in a call of its own.
func (s *Store) PendingWithDead(ctx context.Context, l storage.Lease, limit int) ([]storage.Effect, bool, error) {
	return s.pending(ctx, l, limit, true)
}

// pending is Pending, which also reads whether the instance has dead
// letters if withDead (else it reports false).
func (s *Store) pending(ctx context.Context, l storage.Lease, limit int, withDead bool) ([]storage.Effect, bool, error) {
	op := fmt.Sprintf("pending %q", l.Instance)
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := l.Validate(); err != nil {
		return nil, false, err
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, false, err
	}
	if err := s.check(ctx, op); err != nil {
		return nil, false, err
	}
	var out []storage.Effect
	dead := false
	fence, extra := s.cq.fence, []any(nil)
	if withDead {
		fence, extra = s.cq.fenceDead, []any{&dead}
	}
	err := s.fenced(ctx, fence, op, l, false, func(b *pgx.Batch) {
		b.Queue(s.cq.pending, []byte(l.Instance), limit).Query(func(rows pgx.Rows) error {
			var err error
			out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.Effect, error) {
				return scanEffect(row)
			})
			return err
		})
	}, extra...)
	if err != nil {
		return nil, false, err
	}
	if len(out) == 0 {
		out = nil
	}
	return out, dead, nil
}

// queryer is a pool or a transaction.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// queryEffects runs a query whose rows are effectColumnsSQL.
func (s *Store) queryEffects(ctx context.Context, q queryer, op, sql string, args ...any) ([]storage.Effect, error) {
	rows, err := q.Query(ctx, sql, args...)
	return collect(ctx, s, op, rows, err, scanEffect)
}

// scanEffect reads a row of effectColumnsSQL.
func scanEffect(row pgx.Row) (storage.Effect, error) {
	var (
		pos, attempts                 int64
		id, instance, data, lastError []byte
		notBefore                     pgtype.Timestamptz
	)
	if err := row.Scan(&pos, &id, &instance, &data, &notBefore, &attempts, &lastError); err != nil {
		return storage.Effect{}, err
	}
	e := storage.Effect{
		ID: string(id), Instance: string(instance), Data: data, Seq: uint64(pos),
		Attempts: uint32(attempts), LastError: string(lastError),
	}
	if notBefore.Valid {
		e.NotBefore = storage.NormalizeDue(notBefore.Time)
	}
	return e, nil
}

// AckLeased implements [storage.Claims.AckLeased].
func (s *Store) AckLeased(ctx context.Context, l storage.Lease, ids ...string) error {
	return s.ackLeased(ctx, l, false, ids)
}

// AckRelease implements [storage.AckReleaser]: AckLeased's batch with the
// release of l as its last statement, so one round trip and one
// transaction instead of two. The release, like the delete, writes only
// while l is current (releaseOneSQL), and the fence says whether it was.
func (s *Store) AckRelease(ctx context.Context, l storage.Lease, ids ...string) error {
	return s.ackLeased(ctx, l, true, ids)
}

// ackLeased is AckLeased, which also releases l if release.
func (s *Store) ackLeased(ctx context.Context, l storage.Lease, release bool, ids []string) error {
	op := fmt.Sprintf("ack %q", l.Instance)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := l.Validate(); err != nil {
		return err
	}
	if err := s.check(ctx, op); err != nil {
		return err
	}
	return s.fenced(ctx, s.cq.fenceLock, op, l, true, func(b *pgx.Batch) {
		if len(ids) > 0 {
			b.Queue(s.cq.ackLeased, byteKeys(ids), []byte(l.Instance), tokenParam(l.Token))
		}
		if release {
			b.Queue(s.cq.releaseOne, []byte(l.Instance), tokenParam(l.Token))
		}
	})
}

// byteKeys returns ids as bytea values.
func byteKeys(ids []string) [][]byte {
	keys := make([][]byte, len(ids))
	for i, id := range ids {
		keys[i] = []byte(id)
	}
	return keys
}

// Retry implements [storage.Claims.Retry].
func (s *Store) Retry(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	return s.setRetry(ctx, "retry", l, id, r, false)
}

// DeadLetter implements [storage.Claims.DeadLetter].
func (s *Store) DeadLetter(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	return s.setRetry(ctx, "dead letter", l, id, r, true)
}

func (s *Store) setRetry(ctx context.Context, verb string, l storage.Lease, id string, r storage.RetryState, dead bool) error {
	op := fmt.Sprintf("%s %q", verb, l.Instance)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := r.Validate(l, id); err != nil {
		return err
	}
	if err := s.check(ctx, op); err != nil {
		return err
	}
	var notBefore pgtype.Timestamptz
	if nb := storage.NormalizeDue(r.NotBefore); !nb.IsZero() {
		notBefore = pgtype.Timestamptz{Time: nb, Valid: true}
	}
	var changed int64
	err := s.fenced(ctx, s.cq.fenceLock, op, l, true, func(b *pgx.Batch) {
		b.Queue(s.cq.retry, []byte(id), []byte(l.Instance),
			int64(r.Attempts), notBefore, []byte(r.LastError), dead, tokenParam(l.Token)).Exec(func(tag pgconn.CommandTag) error {
			changed = tag.RowsAffected()
			return nil
		})
	})
	switch {
	case err != nil:
		return err
	case changed == 0:
		return fmt.Errorf("storage: %s: effect %q %w in its outbox", op, id, storage.ErrNotFound)
	}
	return nil
}

// DeadLetters implements [storage.Claims.DeadLetters].
func (s *Store) DeadLetters(ctx context.Context, after string, limit int) ([]storage.Effect, error) {
	const op = "dead letters"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, err
	}
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	return s.queryEffects(ctx, s.pool, op, s.cq.deadLetters, []byte(after), limit)
}

// Requeue implements [storage.Claims.Requeue]: one transaction, one update
// per ID so that the new positions follow the order of ids.
func (s *Store) Requeue(ctx context.Context, ids ...string) (int, error) {
	const op = "requeue"
	if err := s.check(ctx, op); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, s.fail(ctx, op, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	n := 0
	for _, id := range ids {
		tag, err := tx.Exec(ctx, s.cq.requeue, []byte(id))
		if err != nil {
			return 0, s.fail(ctx, op, err)
		}
		n += int(tag.RowsAffected())
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, s.failWrite(ctx, op, err)
	}
	if n > 0 {
		s.requestWake()
	}
	return n, nil
}

// NextWork implements [storage.Claims.NextWork].
func (s *Store) NextWork(ctx context.Context, now time.Time) (time.Time, error) {
	const op = "next work"
	if err := s.check(ctx, op); err != nil {
		return time.Time{}, err
	}
	var next pgtype.Timestamptz
	param := timeParam(now)
	if err := s.pool.QueryRow(ctx, s.cq.nextWork, param).Scan(&next); err != nil {
		return time.Time{}, s.fail(ctx, op, err)
	}
	switch {
	case !next.Valid:
		return time.Time{}, nil
	case !next.Time.After(param):
		return now, nil
	}
	return next.Time.UTC(), nil
}
