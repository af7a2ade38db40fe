package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftflow/weft/storage"
)

// The journal (migration 6) is written by the statement that writes the
// record: Create and Commit with an Instance.Journal add CTEs that insert
// the entry from the row the record write returns, so the entry goes in
// only with the record, in the same round trip. A Commit's Seq check is a
// condition of its UPDATE (the entry must come after the journal's newest
// row), so a stale Seq writes nothing; the statement returns that newest
// Seq so that Commit can say why. A Keep is a DELETE CTE over the rows the
// statement sees plus the new entry (a statement's CTEs do not see each
// other's writes).

// journalQueries holds the journal's SQL, with the schema name filled in.
type journalQueries struct {
	create       [2]string    // createSQL with the entry, without and with effects
	commit       [2][2]string // commitSQL with the entry: [effects][keep], without and with each
	fencedCommit [2][2]string // fencedCommitSQL likewise
	read, trim   string
}

func newJournalQueries(schema string) journalQueries {
	q := journalQueries{
		create: [2]string{createJournalSQL(schema, false), createJournalSQL(schema, true)},
		read:   readJournalSQL(schema),
		trim:   trimJournalSQL(schema),
	}
	for eff := range 2 {
		for keep := range 2 {
			q.commit[eff][keep] = commitStatement(schema, false, eff == 1, &journalSQL{keep: keep == 1})
			q.fencedCommit[eff][keep] = commitStatement(schema, true, eff == 1, &journalSQL{keep: keep == 1})
		}
	}
	return q
}

// journalSQL says what a write statement does with the journal.
type journalSQL struct {
	keep bool // apply a Keep
}

// journalParams are the parameters of an entry: $n is its Seq, then its
// Time, Data and Base, then, with a Keep, Keep.Last and Keep.Since.
func journalParams(w *storage.JournalWrite) []any {
	e := w.Entry
	args := []any{int64(e.Seq), entryTimeParam(e.Time), e.Data, nonEmpty(e.Base)}
	if w.Keep != nil {
		args = append(args, int64(w.Keep.Last), sinceParam(w.Keep.Since))
	}
	return args
}

// p returns the placeholder of parameter n.
func p(n int) string { return "$" + strconv.Itoa(n) }

// journalCTEs returns the CTEs (each preceded by a comma) that append the
// entry whose parameters start at $n to the journal of the instance $1,
// if the CTE row returned a row, and apply the Keep.
func journalCTEs(schema, row string, n int, keep bool) string {
	s := `, jins AS (
    INSERT INTO ` + schema + `.journal (instance, seq, time, data, base)
    SELECT ` + row + `.id, ` + p(n) + `::bigint, ` + p(n+1) + `::timestamptz, ` + p(n+2) + `::bytea, ` + p(n+3) + `::bytea FROM ` + row + `
)`
	if !keep {
		return s
	}
	return s + `, jall AS (
    SELECT seq, time, ` + startSQL("seq", "base") + ` AS start FROM ` + schema + `.journal WHERE instance = $1
    UNION ALL
    SELECT ` + p(n) + `::bigint, ` + p(n+1) + `::timestamptz, ` + startSQL(p(n)+"::bigint", p(n+3)+"::bytea") + `
), jcut AS (
    DELETE FROM ` + schema + `.journal j USING ` + row + `
     WHERE j.instance = $1 AND j.seq < ` + cutSQL("jall", p(n+4)+"::bigint", p(n+5)+"::timestamptz") + `
)`
}

// startSQL is whether an entry is a starting point: Seq 1 or a Base.
func startSQL(seq, base string) string {
	return "(" + seq + " = 1 OR coalesce(octet_length(" + base + "), 0) > 0)"
}

// cutSQL is the trim rule of storage.JournalKeep (see JournalKeep.Cut) over
// the CTE entries (seq, time, start): the Seq of the entry the kept window
// starts at, NULL to keep everything. The first wanted entry is the
// oldest of the last Last (the newest at least) and of those whose time is
// not before Since (least() ignores the NULL of a zero Since); the window
// starts at the latest starting point at or before it.
func cutSQL(entries, last, since string) string {
	return `(SELECT max(a.seq) FROM ` + entries + ` a WHERE a.start AND a.seq <= least(
        coalesce((SELECT seq FROM ` + entries + ` ORDER BY seq DESC OFFSET (greatest(` + last + `, 1) - 1) LIMIT 1),
                 (SELECT min(seq) FROM ` + entries + `)),
        (SELECT min(seq) FROM ` + entries + ` WHERE time >= ` + since + `)))`
}

// createJournalSQL is createSQL appending the entry $10.. ($7.. without
// effects, after the named version $6; no Keep: the entry is the new
// instance's only one, and the Seq check has nothing to compare with).
func createJournalSQL(schema string, effects bool) string {
	n := 7
	if effects {
		n = 10
	}
	return createWith(schema, effects, journalCTEs(schema, "ins", n, false))
}

// readJournalSQL reads entries $2.. of instance $1, up to $3 (NULL: all).
func readJournalSQL(schema string) string {
	return `SELECT seq, time, data, base FROM ` + schema + `.journal
 WHERE instance = $1 AND seq >= $2 ORDER BY seq LIMIT $3`
}

// trimJournalSQL applies the Keep ($2 Last, $3 Since) to instance $1's
// journal and returns how many entries it removed.
func trimJournalSQL(schema string) string {
	return `WITH jall AS (
    SELECT seq, time, ` + startSQL("seq", "base") + ` AS start FROM ` + schema + `.journal WHERE instance = $1
), del AS (
    DELETE FROM ` + schema + `.journal WHERE instance = $1 AND seq < ` + cutSQL("jall", "$2::bigint", "$3::timestamptz") + `
    RETURNING 1
)
SELECT count(*) FROM del`
}

// entryTimeParam is an entry's Time as the time column keeps it: NULL for the
// zero time, else normalized.
func entryTimeParam(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: storage.NormalizeDue(t), Valid: true}
}

// sinceParam is Keep.Since for comparing with stored times: NULL for the
// zero time, else rounded up to the microsecond (a stored time, a whole
// microsecond, is not before Since exactly when it is not before that).
func sinceParam(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	if r := storage.NormalizeDue(t); !r.Equal(t) {
		t = r.Add(storage.DuePrecision)
	}
	return pgtype.Timestamptz{Time: t.UTC(), Valid: true}
}

// nonEmpty returns b, or nil (NULL) if it is empty.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// ReadJournal implements [storage.Journal.ReadJournal].
func (s *Store) ReadJournal(ctx context.Context, id string, from uint64, limit int) ([]storage.JournalEntry, error) {
	op := fmt.Sprintf("read journal %q", id)
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	if from > storage.MaxJournalSeq {
		return nil, nil // past every stored Seq
	}
	var lim pgtype.Int8
	if limit > 0 {
		lim = pgtype.Int8{Int64: int64(limit), Valid: true}
	}
	rows, err := s.pool.Query(ctx, s.jq.read, []byte(id), int64(from), lim)
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	defer rows.Close()
	var out []storage.JournalEntry
	for rows.Next() {
		var (
			seq  int64
			at   pgtype.Timestamptz
			e    storage.JournalEntry
			data []byte
			base []byte
		)
		if err := rows.Scan(&seq, &at, &data, &base); err != nil {
			return nil, s.fail(ctx, op, err)
		}
		e.Seq = uint64(seq)
		if at.Valid {
			e.Time = at.Time.UTC()
		}
		e.Data, e.Base = data, base
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return out, nil
}

// TrimJournal implements [storage.Journal.TrimJournal]. It is one
// statement.
func (s *Store) TrimJournal(ctx context.Context, id string, keep storage.JournalKeep) (int, error) {
	op := fmt.Sprintf("trim journal %q", id)
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := keep.Validate(); err != nil {
		return 0, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := s.check(ctx, op); err != nil {
		return 0, err
	}
	var n int64
	if err := s.pool.QueryRow(ctx, s.jq.trim, []byte(id), int64(keep.Last), sinceParam(keep.Since)).Scan(&n); err != nil {
		return 0, s.failWrite(ctx, op, err)
	}
	return int(n), nil
}
