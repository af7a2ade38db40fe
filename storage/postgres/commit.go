package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftflow/weft/storage"
)

// Create and Commit are one statement each, so one round trip: the record,
// the outbox and the due index (a column of the record) change together or
// not at all. The outbox insert reads the row the record write returns, so
// it runs only if that write happened and takes its positions after the
// instance's row is locked: effects of one instance follow its versions. A
// taken effect ID fails the whole statement on the outbox's unique index.

// createSQL returns the create statement. Its parameters are the record's
// ($1..$5) and the version the Create names ($6); with effects, their IDs,
// payloads and not-before times are the arrays $7, $8 and $9, the places
// commitSQL gives them. Without effects it has no outbox insert and its
// effects_at is NULL, as commitSQL does for the same reason.
func createSQL(schema string, effects bool) string { return createWith(schema, effects, "") }

// createWith is the create statement with more CTEs after the outbox
// insert (the journal's: see createJournalSQL).
//
// The statement reads, in its snapshot, whether the instance's row exists
// and the ID's tombstone (migration 7), and inserts the row only if it
// does not exist and the tombstone is absent or named by $6, at the
// version after the tombstone's (1 without one). It returns the version
// inserted (NULL if none), whether the row existed, and the tombstone.
//
// The existence check closes the race with a Delete of the ID: an INSERT
// ON CONFLICT DO NOTHING that meets the row of an uncommitted Delete waits
// for it and then inserts, while the tombstone that Delete wrote is not in
// the statement's snapshot. A row in the snapshot, live or being deleted,
// makes the Create fail with ErrExists; without one, a Delete of the row
// committed before the snapshot, so its tombstone is in it. A row another
// Create inserted after the snapshot is met by ON CONFLICT: nothing is
// inserted, and that too is ErrExists. One case is left to the tombstone
// trigger (migration 8): a row that another Create inserted and a Delete
// removed, both committing between this statement's snapshot and its
// insert, is neither in the snapshot nor a conflict, and its tombstone is
// not in the snapshot; the trigger reads the tombstone again after the
// insert and fails the statement (see Store.buried).
func createWith(schema string, effects bool, more string) string {
	effectsAt, eff := "NULL", ""
	if effects {
		effectsAt = effectsAtSQL("$9")
		eff = `, eff AS (
    INSERT INTO ` + schema + `.outbox (id, instance, data, not_before)
    SELECT e.id, ins.id, e.data, e.not_before
      FROM ins, unnest($7::bytea[], $8::bytea[], $9::timestamptz[]) WITH ORDINALITY AS e(id, data, not_before, ord)
     ORDER BY e.ord
)`
	}
	return `WITH pre AS (
    SELECT EXISTS (SELECT 1 FROM ` + schema + `.instances WHERE id = $1) AS live, t.version, t.data
      FROM (VALUES (1)) AS one (x) LEFT JOIN ` + schema + `.tombstones t ON t.id = $1
), ins AS (
    INSERT INTO ` + schema + `.instances (id, version, workflow, status, due, data, effects_at)
    SELECT $1, coalesce(pre.version, 0) + 1, $2, $3, $4, $5, ` + effectsAt + `
      FROM pre
     WHERE NOT pre.live AND (pre.version IS NULL OR pre.version = $6::bigint)
    ON CONFLICT (id) DO NOTHING
    RETURNING id, version
)` + eff + more + `
SELECT (SELECT version FROM ins), pre.live, pre.version, pre.data FROM pre`
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
// the statement (NULL if the instance does not exist). With effects, their
// IDs, payloads and not-before times are the arrays $7, $8 and $9; without,
// the statement has no outbox insert and leaves effects_at alone, and its
// other parameters move up by three: most commits (a workflow's steps)
// append no effect, and the insert's plan nodes cost the server CPU at
// every execution even when they insert nothing.
func commitSQL(schema string, effects bool) string {
	return commitStatement(schema, false, effects, nil)
}

// fencedCommitSQL is commitSQL fenced by the lease token ($10, or $7
// without effects), still one statement: it locks the instance's row, then
// holds its lease row FOR SHARE (a takeover, which
// updates that row, waits for the commit or is seen by it) and writes only
// if the lease is held with that token. Besides the versions it returns the
// lease's token and whether it is held (NULLs if the instance was never
// leased), so that Commit can say why nothing was written.
func fencedCommitSQL(schema string, effects bool) string {
	return commitStatement(schema, true, effects, nil)
}

// commitStatement builds commitSQL and fencedCommitSQL, and with journal
// their variants that append a journal entry (journal.go): its parameters
// follow the others (after the token when fenced), and the statement
// returns one more column, the Seq of the journal's newest entry before it.
func commitStatement(schema string, fenced, effects bool, journal *journalSQL) string {
	n := 7 // the next parameter after the record's $1..$6
	if effects {
		n = 10
	}
	fence, guard, why := "", "", ""
	if fenced {
		// The instance's row before the lease row, as fenceLockSQL and
		// Claim take them.
		fence = `inst AS (
    SELECT id FROM ` + schema + `.instances WHERE id = $1 FOR NO KEY UPDATE
), fence AS (
    SELECT l.token, l.held FROM ` + schema + `.leases l, inst WHERE l.instance = inst.id FOR SHARE OF l
), `
		guard = " AND EXISTS (SELECT 1 FROM fence WHERE held AND token = " + p(n) + ")"
		n++
		why = ",\n       (SELECT token FROM fence), (SELECT held FROM fence)"
	}
	entry := ""
	if journal != nil {
		last := "(SELECT max(seq) FROM " + schema + ".journal WHERE instance = $1)"
		guard += " AND " + p(n) + "::bigint > coalesce(" + last + ", 0)"
		why += ",\n       " + last
		entry = journalCTEs(schema, "upd", n, journal.keep)
	}
	set, eff := "", ""
	if effects {
		set = `,
           effects_at = least(effects_at, ` + effectsAtSQL("$9") + `)`
		eff = `, eff AS (
    INSERT INTO ` + schema + `.outbox (id, instance, data, not_before)
    SELECT e.id, upd.id, e.data, e.not_before
      FROM upd, unnest($7::bytea[], $8::bytea[], $9::timestamptz[]) WITH ORDINALITY AS e(id, data, not_before, ord)
     ORDER BY e.ord
)`
	}
	return `WITH ` + fence + `upd AS (
    UPDATE ` + schema + `.instances
       SET version = version + 1, workflow = $3, status = $4, due = $5, data = $6` + set + `
     WHERE id = $1 AND version = $2` + guard + `
    RETURNING id, version
)` + eff + entry + `
SELECT (SELECT version FROM upd), (SELECT version FROM ` + schema + `.instances WHERE id = $1)` + why
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
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	var (
		created, tomb pgtype.Int8 // the version inserted; the tombstone's
		live          bool        // the row existed in the statement's snapshot
		tombData      []byte
	)
	// Room for every parameter (record, named version, effects and
	// journal entry), so that args is allocated once.
	args := append(make([]any, 0, 13), []byte(inst.ID), []byte(inst.Workflow), []byte(inst.Status), dueParam(inst), inst.Data,
		tokenParam(inst.Version)) // versions are positive bigints: -1 names no tombstone
	eff := 0 // which variant of the statement: without or with effects
	if len(effects) > 0 {
		ids, data, notBefore := effectColumns(effects)
		args = append(args, ids, data, notBefore)
		eff = 1
	}
	query := s.q.create[eff]
	if inst.Journal != nil {
		// No Keep: the entry is the new instance's only one.
		query, args = s.jq.create[eff], append(args, journalParams(&storage.JournalWrite{Entry: inst.Journal.Entry})...)
	}
	err = conn.QueryRow(ctx, query, args...).Scan(&created, &live, &tomb, &tombData)
	switch {
	case isEffectIDTaken(err):
		// The outbox insert runs only after the record's, which the
		// instance and the tombstone allowed: ErrExists is the right
		// answer by the contract's order.
		return 0, fmt.Errorf("storage: %s: %s: %w", op, takenEffect(err), storage.ErrExists)
	case pgCode(err) == codeBuried:
		return 0, s.buried(ctx, conn, op, inst.ID)
	case err != nil:
		return 0, s.failWrite(ctx, op, err)
	case created.Valid:
		s.wakeAfter(len(effects), inst.Due)
		return uint64(created.Int64), nil
	case !live && tomb.Valid && uint64(tomb.Int64) != inst.Version:
		return 0, &storage.DeletedError{ID: inst.ID, Version: uint64(tomb.Int64), Tombstone: tombData}
	}
	// The row existed in the snapshot, or a concurrent Create inserted it.
	return 0, fmt.Errorf("storage: %s: instance %w", op, storage.ErrExists)
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
	var next, stored pgtype.Int8
	inst := c.Instance
	// Room for every parameter (record, effects, token, journal entry and
	// Keep), so that args is allocated once.
	args := append(make([]any, 0, 16), []byte(id), expect, []byte(inst.Workflow), []byte(inst.Status), dueParam(inst), inst.Data)
	eff := 0 // which variant of the statement: without or with effects
	if len(c.Effects) > 0 {
		ids, data, notBefore := effectColumns(c.Effects)
		args = append(args, ids, data, notBefore)
		eff = 1
	}
	var (
		token pgtype.Int8
		held  pgtype.Bool
		last  pgtype.Int8 // the journal's newest Seq before the statement
	)
	conn, err := s.acquire(ctx, op)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	journal := inst.Journal
	keep := 0
	if journal != nil && journal.Keep != nil {
		keep = 1
	}
	switch {
	case c.Lease == nil && journal == nil:
		err = conn.QueryRow(ctx, s.q.commit[eff], args...).Scan(&next, &stored)
	case c.Lease == nil:
		args = append(args, journalParams(journal)...)
		err = conn.QueryRow(ctx, s.jq.commit[eff][keep], args...).Scan(&next, &stored, &last)
	case journal == nil:
		args = append(args, tokenParam(c.Lease.Token))
		err = conn.QueryRow(ctx, s.q.fencedCommit[eff], args...).Scan(&next, &stored, &token, &held)
	default:
		args = append(args, tokenParam(c.Lease.Token))
		args = append(args, journalParams(journal)...)
		err = conn.QueryRow(ctx, s.jq.fencedCommit[eff][keep], args...).Scan(&next, &stored, &token, &held, &last)
	}
	if err != nil && !isEffectIDTaken(err) {
		return 0, s.failWrite(ctx, op, err)
	}
	if err == nil && !next.Valid && stored.Valid && c.Lease != nil {
		// The contract's order: not found, then fenced, then conflict.
		switch {
		case !token.Valid || !held.Bool:
			return 0, fmt.Errorf("storage: %s: lease token %d: %w (current lease: none)", op, c.Lease.Token, storage.ErrFenced)
		case token.Int64 != tokenParam(c.Lease.Token):
			return 0, fmt.Errorf("storage: %s: lease token %d: %w (current lease: token %d)", op, c.Lease.Token, storage.ErrFenced, token.Int64)
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
		if c.Wake {
			s.requestWake()
		}
		return uint64(next.Int64), nil
	case !stored.Valid:
		return 0, fmt.Errorf("storage: %s: instance %w", op, storage.ErrNotFound)
	case stored.Int64 == expect && journal != nil && last.Valid && uint64(last.Int64) >= journal.Entry.Seq:
		return 0, fmt.Errorf("storage: %s: journal entry seq %d is not after the last entry's %d: %w",
			op, journal.Entry.Seq, last.Int64, storage.ErrInvalid)
	case stored.Int64 == expect:
		// The statement's snapshot still had Expect, but a writer that
		// committed while this one waited for the row changed it.
		return 0, fmt.Errorf("storage: %s: %w (expected %d, changed by a concurrent commit)", op, storage.ErrConflict, c.Expect)
	}
	return 0, fmt.Errorf("storage: %s: %w (expected %d, stored %d)", op, storage.ErrConflict, c.Expect, stored.Int64)
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
