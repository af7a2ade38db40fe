package postgres_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/weftflow/weft/storage"
)

// TestCreateSeesATombstoneWrittenWhileItRuns closes the window the
// conformance suite's two-party TombstoneRace cannot reach: another Create
// of the ID and a Delete of what it made both commit while a Create's
// statement runs. Here one transaction stands for both: it inserts the
// ID's row, the Create under test waits for that row in the unique index,
// and the transaction then deletes the row, writes the tombstone and
// commits. The row is no conflict and the tombstone is not in the
// Create's snapshot; without the tombstone trigger (migration 8) the
// Create stored the instance below the tombstone.
func TestCreateSeesATombstoneWrittenWhileItRuns(t *testing.T) {
	schema := newSchema(t)
	s := openSchema(t, schema)
	ctx := t.Context()
	q := pgx.Identifier{schema}.Sanitize()

	// "b" has a tombstone at version 3 before the race: the Create under
	// test names it, and the race buries the ID again at version 4.
	if _, err := s.Create(ctx, storage.Instance{ID: "b", Version: 0}, nil); err != nil {
		t.Fatal(err)
	}
	for v := uint64(1); v < 3; v++ {
		if _, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "b"}, Expect: v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "b", 3, []byte("first")); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		id    string
		named uint64 // the tombstone the Create under test names
		raced int64  // the version the racing transaction inserts and buries
	}{
		{"a", 0, 1},
		{"b", 3, 4},
	} {
		t.Run(c.id, func(t *testing.T) {
			effect := storage.Effect{ID: c.id + "/e", Instance: c.id, Data: []byte("payload")}
			err := blockThenTx(t, schema,
				"INSERT INTO "+q+".instances (id, version, workflow, status) VALUES ('"+c.id+"', "+strconv.FormatInt(c.raced, 10)+", '', '')",
				func() error {
					_, err := s.Create(ctx, storage.Instance{ID: c.id, Version: c.named}, []storage.Effect{effect})
					return err
				},
				func(tx pgx.Tx, _ *pgx.Conn, _ int) {
					for _, stmt := range []string{
						"DELETE FROM " + q + ".instances WHERE id = '" + c.id + "'",
						"INSERT INTO " + q + ".tombstones (id, version, data) VALUES ('" + c.id + "', " + strconv.FormatInt(c.raced, 10) + ", 'raced')" +
							" ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data",
					} {
						if _, err := tx.Exec(ctx, stmt); err != nil {
							t.Fatalf("%v in %s", err, stmt)
						}
					}
					if err := tx.Commit(ctx); err != nil {
						t.Fatal(err)
					}
				})
			var del *storage.DeletedError
			if !errors.As(err, &del) || !errors.Is(err, storage.ErrDeleted) {
				t.Fatalf("Create racing a create and a delete of %q = %v, want a *storage.DeletedError", c.id, err)
			}
			if del.ID != c.id || del.Version != uint64(c.raced) || string(del.Tombstone) != "raced" {
				t.Fatalf("DeletedError = %+v, want ID %q, version %d, tombstone %q", del, c.id, c.raced, "raced")
			}
			if _, err := s.Load(ctx, c.id); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Load after the refused Create = %v, want ErrNotFound", err)
			}
			// Nothing of the refused statement stayed: the effect ID is
			// free, and the Create that names the new tombstone stores
			// the instance above it.
			v, err := s.Create(ctx, storage.Instance{ID: c.id, Version: uint64(c.raced)}, []storage.Effect{effect})
			if err != nil || v != uint64(c.raced)+1 {
				t.Fatalf("Create naming the tombstone = version %d, %v; want %d", v, err, c.raced+1)
			}
		})
	}
}
