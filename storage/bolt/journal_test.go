package bolt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/weftflow/weft/storage"
)

// TestJournalGroupCommit: commits with journal entries that share a
// transaction each append their own entry and apply their own Keep, and a
// commit refused in the batch (a stale Seq) appends nothing and does not
// disturb the others.
func TestJournalGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "weft.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n, rounds = 16, 6
	for i := range n {
		id := fmt.Sprintf("i%02d", i)
		if _, err := s.Create(ctx, storage.Instance{ID: id, Journal: &storage.JournalWrite{Entry: storage.JournalEntry{Seq: 1}}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	before := s.Stats()
	for r := range rounds {
		seq := uint64(r + 2)
		var wg sync.WaitGroup
		errs := make([]error, 2*n)
		for i := range n {
			id := fmt.Sprintf("i%02d", i)
			wg.Add(2)
			go func() { // the next entry; a base every other round, keeping the last 2
				defer wg.Done()
				e := storage.JournalEntry{Seq: seq, Time: time.Unix(int64(seq), 0), Data: []byte(id)}
				if seq%2 == 0 {
					e.Base = []byte("base")
				}
				_, errs[2*i] = s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: id,
					Journal: &storage.JournalWrite{Entry: e, Keep: &storage.JournalKeep{Last: 2}}}, Expect: seq - 1})
			}()
			go func() { // a stale Seq on a stale version: refused
				defer wg.Done()
				_, errs[2*i+1] = s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: id,
					Journal: &storage.JournalWrite{Entry: storage.JournalEntry{Seq: 1}}}, Expect: seq})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			switch {
			case i%2 == 0 && err != nil:
				t.Fatalf("round %d: Commit: %v", r, err)
			case i%2 == 1 && !errors.Is(err, storage.ErrInvalid) && !errors.Is(err, storage.ErrConflict):
				t.Fatalf("round %d: a stale Commit returned %v", r, err)
			}
		}
	}
	after := s.Stats()
	if tx, w := after.Transactions-before.Transactions, after.Writes-before.Writes; tx >= w {
		t.Logf("no group commit happened (%d transactions for %d writes): the test proved less", tx, w)
	}
	// Seq 1..7, bases on 2, 4, 6; keeping the last 2 (6, 7) starts at 6.
	for i := range n {
		id := fmt.Sprintf("i%02d", i)
		got, err := s.ReadJournal(ctx, id, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Seq != 6 || got[1].Seq != 7 || string(got[1].Data) != id {
			t.Errorf("journal of %s: %+v, want Seq 6 and 7 with data %q", id, got, id)
		}
	}
}

// TestJournalDamagedEntry: an entry that does not decode is reported as
// ErrCorrupt by ReadJournal, TrimJournal and a Commit whose Keep reads
// it, and the refused writes change nothing.
func TestJournalDamagedEntry(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, storage.Instance{ID: "a", Journal: &storage.JournalWrite{Entry: storage.JournalEntry{Seq: 1, Data: []byte("x")}}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		// A data length beyond the value.
		return tx.Bucket(bucketJournal).Put(journalKey([]byte("a"), 1), []byte{0, 9, 'x'})
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.ReadJournal(ctx, "a", 0, 0); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ReadJournal of a damaged entry: %v, want ErrCorrupt", err)
	}
	if _, err := s.TrimJournal(ctx, "a", storage.JournalKeep{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("TrimJournal over a damaged entry: %v, want ErrCorrupt", err)
	}
	_, err = s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Data: []byte("new")},
		Expect: 1, Effects: []storage.Effect{{ID: "e", Instance: "a"}}})
	if err != nil {
		t.Fatalf("a Commit without a journal entry: %v", err)
	}
	_, err = s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Data: []byte("newer"),
		Journal: &storage.JournalWrite{Entry: storage.JournalEntry{Seq: 2, Base: []byte("b")}, Keep: &storage.JournalKeep{}}}, Expect: 2})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a Commit whose Keep reads a damaged entry: %v, want ErrCorrupt", err)
	}
	inst, err := s.Load(ctx, "a")
	if err != nil || inst.Version != 2 || string(inst.Data) != "new" {
		t.Fatalf("after the refused Commit: %+v, %v; want version 2, data new", inst, err)
	}
	if got, err := s.ReadJournal(ctx, "a", 2, 0); err != nil || len(got) != 0 {
		t.Errorf("the refused Commit left entries: %+v, %v", got, err)
	}
}
