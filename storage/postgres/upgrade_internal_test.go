package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/storage"
)

// TestUpgradeFromEveryVersion migrates a schema left at each earlier
// version, holding what a store of that version wrote (an instance that is
// due, an effect in its outbox, and from version 7 a tombstone), to the
// current version, by Open and by the script of MigrationSQL, and checks
// that the current store reads all of it and goes on writing: the data
// migrations (0004 computes effects_at from the outbox) and the new
// tables and trigger must work on a schema that is not empty.
func TestUpgradeFromEveryVersion(t *testing.T) {
	pgtest.Need(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	due := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	for from := 1; from < SchemaVersion; from++ {
		for _, byScript := range []bool{false, true} {
			t.Run(fmt.Sprintf("from=%d/script=%v", from, byScript), func(t *testing.T) {
				schema := pgtest.Schema(t, "weft_upgrade_")
				q := quote(schema)
				exec := func(sql string) {
					t.Helper()
					if _, err := conn.Exec(ctx, sql); err != nil {
						t.Fatalf("%v in %s", err, sql)
					}
				}

				// The schema as version from left it.
				tx, err := conn.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, stmt := range append(prologue(schema), searchPathSQL(schema)) {
					if _, err := tx.Exec(ctx, stmt); err != nil {
						t.Fatal(err)
					}
				}
				for _, m := range migrations[:from] {
					if _, err := tx.Exec(ctx, m.sql); err != nil {
						t.Fatalf("%s: %v", m.name, err)
					}
					if _, err := tx.Exec(ctx, recordSQL(schema, m)); err != nil {
						t.Fatal(err)
					}
				}
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				// What a store of that version wrote: the columns of
				// migration 1, and from migration 4 on the outbox's
				// earliest time kept in the instance's row, as Commit
				// keeps it.
				exec("INSERT INTO " + q + ".instances (id, version, workflow, status, due, data) VALUES " +
					"('a', 3, 'w', 'waiting', '" + due.Format(time.RFC3339) + "', 'state-a'), ('b', 1, 'w', 'completed', NULL, 'state-b')")
				exec("INSERT INTO " + q + ".outbox (id, instance, data) VALUES ('a/1', 'a', 'effect-a')")
				if from >= 4 {
					exec("UPDATE " + q + ".instances SET effects_at = '-infinity' WHERE id = 'a'")
				}
				if from >= 7 {
					exec("INSERT INTO " + q + ".tombstones (id, version, data) VALUES ('t', 5, 'gone')")
				}

				var s *Store
				if byScript {
					script, err := MigrationSQL(schema, from)
					if err != nil {
						t.Fatal(err)
					}
					exec(script)
					s, err = Open(ctx, pgtest.DSN(), WithSchema(schema), WithoutMigrate())
					if err != nil {
						t.Fatal(err)
					}
				} else if s, err = Open(ctx, pgtest.DSN(), WithSchema(schema)); err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				checkUpgraded(t, s, from, due)
			})
		}
	}
}

// checkUpgraded reads and writes what TestUpgradeFromEveryVersion left in
// a schema migrated from version from.
func checkUpgraded(t *testing.T, s *Store, from int, due time.Time) {
	t.Helper()
	ctx := t.Context()
	a, err := s.Load(ctx, "a")
	if err != nil || a.Version != 3 || a.Workflow != "w" || a.Status != "waiting" || !a.Due.Equal(due) || string(a.Data) != "state-a" {
		t.Fatalf("Load(a) = %+v, %v; want version 3 of w, waiting, due %v, state-a", a, err, due)
	}
	dues, err := s.DueBefore(ctx, due.Add(time.Hour), 10)
	if err != nil || len(dues) != 1 || dues[0].ID != "a" || !dues[0].At.Equal(due) {
		t.Fatalf("DueBefore = %v, %v; want a at %v", dues, err, due)
	}
	out, err := s.Outbox(ctx, 10)
	if err != nil || len(out) != 1 || out[0].ID != "a/1" || out[0].Instance != "a" || string(out[0].Data) != "effect-a" {
		t.Fatalf("Outbox = %+v, %v; want a/1 of a", out, err)
	}
	// Before a is due, only its effect makes it work: the instance's
	// earliest effect time must have been computed (migration 4) or kept.
	now := due.Add(-time.Hour)
	if next, err := s.NextWork(ctx, now); err != nil || next.After(now) {
		t.Fatalf("NextWork(%v) = %v, %v; want work at once (a has an effect ready)", now, next, err)
	}
	leases, err := s.Claim(ctx, storage.ClaimRequest{Owner: "p", Now: now, TTL: time.Minute, Limit: 10})
	if err != nil || len(leases) != 1 || leases[0].Instance != "a" {
		t.Fatalf("Claim = %+v, %v; want a lease on a", leases, err)
	}
	pending, err := s.Pending(ctx, leases[0], 10)
	if err != nil || len(pending) != 1 || pending[0].ID != "a/1" {
		t.Fatalf("Pending = %+v, %v; want a/1", pending, err)
	}
	if err := s.AckLeased(ctx, leases[0], "a/1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, leases...); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Workflow: "w", Status: "completed", Data: []byte("done")}, Expect: 3,
		Effects: []storage.Effect{{ID: "a/2", Instance: "a"}}}); err != nil || v != 4 {
		t.Fatalf("Commit(a) = %d, %v; want version 4", v, err)
	}
	if counts, err := s.Count(ctx, storage.Filter{Workflow: "w"}); err != nil || counts["completed"] != 2 || len(counts) != 1 {
		t.Fatalf("Count = %v, %v; want 2 completed", counts, err)
	}

	// Deletion and tombstones work whatever version the schema came from,
	// and a tombstone written before the upgrade is kept.
	if err := s.Delete(ctx, "b", 1, []byte("b-gone")); err != nil {
		t.Fatal(err)
	}
	var de *storage.DeletedError
	if _, err := s.Create(ctx, storage.Instance{ID: "b", Workflow: "w", Status: "running"}, nil); !errors.As(err, &de) || de.Version != 1 || string(de.Tombstone) != "b-gone" {
		t.Fatalf("Create over b's tombstone = %v, want a DeletedError at version 1", err)
	}
	if v, err := s.Create(ctx, storage.Instance{ID: "b", Workflow: "w", Status: "running", Version: 1}, nil); err != nil || v != 2 {
		t.Fatalf("Create naming b's tombstone = %d, %v; want version 2", v, err)
	}
	if from >= 7 {
		if _, err := s.Create(ctx, storage.Instance{ID: "t", Workflow: "w", Status: "running"}, nil); !errors.As(err, &de) || de.Version != 5 || string(de.Tombstone) != "gone" {
			t.Fatalf("Create over the tombstone from before the upgrade = %v, want a DeletedError at version 5", err)
		}
	}
}
