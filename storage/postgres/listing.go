package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftflow/weft/storage"
)

// Find and Count build their SQL from the filter: each combination reads
// the index made for it (migration 5). Statements differ only by which
// conditions they hold, so pgx prepares each shape once per connection.

// prefixEnd returns the least byte string greater than every string that
// starts with prefix, or nil if there is none (prefix is all 0xff).
func prefixEnd(prefix string) []byte {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xff {
			b[i]++
			return b[:i+1]
		}
	}
	return nil
}

// sqlArgs collects positional arguments.
type sqlArgs []any

func (a *sqlArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// conditions returns the WHERE conditions of f, the cursor c (in order o)
// and the order's own, over the columns of table alias t.
func conditions(args *sqlArgs, f storage.Filter, o storage.Order, c storage.Cursor, t string) []string {
	var conds []string
	if f.Workflow != "" {
		conds = append(conds, t+"workflow = "+args.add([]byte(f.Workflow)))
	}
	if f.Status != "" {
		conds = append(conds, t+"status = "+args.add([]byte(f.Status)))
	}
	if f.IDPrefix != "" {
		conds = append(conds, t+"id >= "+args.add([]byte(f.IDPrefix)))
		if end := prefixEnd(f.IDPrefix); end != nil {
			conds = append(conds, t+"id < "+args.add(end))
		}
	}
	if o == storage.ByDue {
		conds = append(conds, t+"due IS NOT NULL")
		if c.Set {
			conds = append(conds, "("+t+"due, "+t+"id) > ("+args.add(pgtype.Timestamptz{Time: c.Due, Valid: true})+", "+args.add([]byte(c.ID))+")")
		}
	} else if c.Set {
		conds = append(conds, t+"id > "+args.add([]byte(c.ID)))
	}
	return conds
}

func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// findSQL returns the statement of a Find and its arguments.
func (s *Store) findSQL(q storage.Query, c storage.Cursor) (string, []any) {
	schema := quote(s.schema)
	var args sqlArgs
	order := " ORDER BY id"
	if q.Order == storage.ByDue {
		order = " ORDER BY due, id"
	}
	if q.Order == storage.ByID && q.Workflow != "" && q.Status == "" {
		// One status after the other: the workflow's statuses by a
		// loose scan of instances_kind, then a page of each, merged.
		wf := args.add([]byte(q.Workflow))
		inner := conditions(&args, storage.Filter{IDPrefix: q.IDPrefix}, q.Order, c, "i.")
		limit := args.add(q.Limit + 1)
		sql := `WITH RECURSIVE st(kind) AS (
    (SELECT status FROM ` + schema + `.instances WHERE workflow = ` + wf + ` ORDER BY status LIMIT 1)
    UNION ALL
    SELECT (SELECT i.status FROM ` + schema + `.instances i WHERE i.workflow = ` + wf + ` AND i.status > st.kind ORDER BY i.status LIMIT 1)
      FROM st WHERE st.kind IS NOT NULL
)
SELECT ` + instanceColumns + ` FROM st CROSS JOIN LATERAL (
    SELECT i.id, i.version, i.workflow, i.status, i.due, i.data FROM ` + schema + `.instances i
     WHERE i.workflow = ` + wf + ` AND i.status = st.kind` + andAll(inner) + `
     ORDER BY i.id LIMIT ` + limit + `
) page WHERE st.kind IS NOT NULL ORDER BY id LIMIT ` + limit
		return sql, args
	}
	conds := conditions(&args, q.Filter, q.Order, c, "")
	return "SELECT " + instanceColumns + " FROM " + schema + ".instances" + where(conds) + order + " LIMIT " + args.add(q.Limit+1), args
}

// andAll returns conds each preceded by " AND ".
func andAll(conds []string) string {
	var b strings.Builder
	for _, c := range conds {
		b.WriteString(" AND " + c)
	}
	return b.String()
}

// Find implements [storage.Listing.Find]. A page reads about as many index
// entries as it returns: with a workflow and a status from
// instances_kind, with a status from instances_status, with a workflow
// from instances_kind one status at a time, with neither from the primary
// key, and by due time from the due index (skipping instances the filter
// refuses).
func (s *Store) Find(ctx context.Context, q storage.Query) (storage.Page, error) {
	const op = "find"
	if err := ctx.Err(); err != nil {
		return storage.Page{}, fmt.Errorf("storage: %s: %w", op, err)
	}
	c, err := q.Validate()
	if err != nil {
		return storage.Page{}, err
	}
	if err := s.check(ctx, op); err != nil {
		return storage.Page{}, err
	}
	sql, args := s.findSQL(q, c)
	rows, err := s.pool.Query(ctx, sql, args...)
	got, err := collect(ctx, s, op, rows, err, scanInstance)
	if err != nil {
		return storage.Page{}, err
	}
	var p storage.Page
	if len(got) > q.Limit {
		got = got[:q.Limit]
		p.Next = storage.NextCursor(q.Order, got[q.Limit-1])
	}
	p.Instances = got
	return p, nil
}

// Count implements [storage.Listing.Count] with one GROUP BY over the
// index entries of the matching instances (an index-only scan of
// instances_kind or instances_status).
func (s *Store) Count(ctx context.Context, f storage.Filter) (map[string]int, error) {
	const op = "count"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	var args sqlArgs
	conds := conditions(&args, f, storage.ByID, storage.Cursor{}, "")
	rows, err := s.pool.Query(ctx, "SELECT status, count(*) FROM "+quote(s.schema)+".instances"+where(conds)+" GROUP BY status", args...)
	type count struct {
		status string
		n      int64
	}
	got, err := collect(ctx, s, op, rows, err, func(r pgx.Row) (count, error) {
		var st []byte
		var n int64
		err := r.Scan(&st, &n)
		return count{string(st), n}, err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(got))
	for _, c := range got {
		out[c.status] = int(c.n)
	}
	return out, nil
}

// deleteSQL locks the instance's row, and deletes it if its version is $2
// and no effect of it is in the outbox or the dead letters; its lease row
// stays, released, for the token, and its tombstone (migration 7) takes
// the deleted row's version and the bytes $3, replacing the tombstone of
// an earlier deletion of the ID. Effects join an instance only in writes
// that also bump its version (Create, Commit), which the row lock orders
// with this one, so the version check covers effects committed meanwhile.
func deleteSQL(schema string) string {
	return `WITH target AS (
    SELECT i.id, i.version,
           EXISTS (SELECT 1 FROM ` + schema + `.outbox o WHERE o.instance = i.id AND NOT o.dead)
        OR EXISTS (SELECT 1 FROM ` + schema + `.outbox o WHERE o.instance = i.id AND o.dead) AS busy
      FROM ` + schema + `.instances i WHERE i.id = $1 FOR UPDATE
), del AS (
    DELETE FROM ` + schema + `.instances i USING target t
     WHERE i.id = t.id AND t.version = $2 AND NOT t.busy
    RETURNING i.id, i.version
), tomb AS (
    INSERT INTO ` + schema + `.tombstones (id, version, data)
    SELECT del.id, del.version, $3::bytea FROM del
    ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data
), rel AS (
    UPDATE ` + schema + `.leases l SET held = false FROM del WHERE l.instance = del.id
), journal AS (
    DELETE FROM ` + schema + `.journal j USING del WHERE j.instance = del.id
)
SELECT t.version, t.busy, EXISTS (SELECT 1 FROM del) FROM target t`
}

// Delete implements [storage.Retention.Delete] in one statement.
func (s *Store) Delete(ctx context.Context, id string, expect uint64, tombstone []byte) error {
	op := fmt.Sprintf("delete %q", id)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := storage.ValidateID(id); err != nil {
		return err
	}
	if err := s.check(ctx, op); err != nil {
		return err
	}
	var (
		version       int64
		busy, deleted bool
	)
	err := s.pool.QueryRow(ctx, deleteSQL(quote(s.schema)), []byte(id), tokenParam(expect), nonEmpty(tombstone)).Scan(&version, &busy, &deleted)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("storage: %s: instance %w", op, storage.ErrNotFound)
	case err != nil:
		return s.failWrite(ctx, op, err)
	case uint64(version) != expect:
		return fmt.Errorf("storage: %s: %w (expected %d, stored %d)", op, storage.ErrConflict, expect, version)
	case busy:
		return fmt.Errorf("storage: %s: %w in the outbox or the dead letters", op, storage.ErrHasEffects)
	case !deleted:
		return fmt.Errorf("storage: %s: not deleted", op)
	}
	return nil
}
