package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/weftflow/weft/storage"
)

// The journal's values and keys join the frozen layout of format 1 (see
// golden_test.go); its bucket is created by the first entry appended, so
// files without journals keep their layout.

func init() {
	valueCases = append(valueCases,
		journalEntryCase("journal-entry", storage.JournalEntry{Seq: 7, Time: goldenDue, Data: []byte{0xa2, 0x01, 0x07, 0x02, 0x61, 0x65}}),
		journalEntryCase("journal-entry-base", storage.JournalEntry{Seq: 8, Time: goldenDue.Add(time.Second), Data: []byte{0xa1, 0x01, 0x08}, Base: goldenRecord}),
		journalEntryCase("journal-entry-empty", storage.JournalEntry{Seq: 1}),
		valueCase{name: "journal-key",
			encode: func() []byte { return journalKey([]byte("order-1"), 7) },
			decode: func(raw []byte) (string, []byte, error) {
				id, seq, err := parseJournalKey(raw)
				return fmt.Sprintf("id=%q seq=%d\n", id, seq), journalKey(id, seq), err
			}},
	)
}

func journalEntryCase(name string, e storage.JournalEntry) valueCase {
	key := journalKey([]byte("order-1"), e.Seq)
	return valueCase{name: name,
		encode: func() []byte { return encodeJournalEntry(e) },
		decode: func(raw []byte) (string, []byte, error) {
			got, err := decodeJournalEntry(instancePrefix([]byte("order-1")), key, raw)
			tm := "none"
			if !got.Time.IsZero() {
				tm = got.Time.Format(time.RFC3339Nano)
			}
			return fmt.Sprintf("seq=%d time=%s data=%x base=%x\n", got.Seq, tm, got.Data, got.Base), encodeJournalEntry(got), err
		}}
}

// parseJournalKey splits a journal key into its instance ID and Seq.
func parseJournalKey(k []byte) ([]byte, uint64, error) {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) != n+8 {
		return nil, 0, fmt.Errorf("journal key %x: %w", k, ErrCorrupt)
	}
	return k[w : w+int(n)], binary.BigEndian.Uint64(k[w+int(n):]), nil
}

// TestJournalLeavesOldLayout: a store of format 1 written before
// journals has an empty journal for every instance, writes without a
// journal entry do not create the journal bucket, and the first entry
// does; the file still opens read-only and keeps its entries.
func TestJournalLeavesOldLayout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	copyFile(t, filepath.Join(boltGoldenDir, goldenStore), path)
	hasBucket := func() bool {
		t.Helper()
		db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		found := false
		if err := db.View(func(tx *bbolt.Tx) error { found = tx.Bucket(bucketJournal) != nil; return nil }); err != nil {
			t.Fatal(err)
		}
		return found
	}

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadJournal(ctx, "order-1", 0, 0); err != nil || len(got) != 0 {
		t.Fatalf("ReadJournal of an instance of an old file = %v, %v; want none", got, err)
	}
	if n, err := s.TrimJournal(ctx, "order-1", storage.JournalKeep{}); err != nil || n != 0 {
		t.Fatalf("TrimJournal of an instance of an old file = %d, %v; want 0", n, err)
	}
	inst, err := s.Load(ctx, "order-2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: inst.Version}); err != nil {
		t.Fatal(err)
	}
	// A rejected journal entry creates nothing either.
	_, err = s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "order-2", Journal: &storage.JournalWrite{Entry: storage.JournalEntry{Seq: 3}}}, Expect: 1})
	if err == nil {
		t.Fatal("a Commit on a stale version succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if hasBucket() {
		t.Fatal("writes without journal entries created the journal bucket")
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	inst.Journal = &storage.JournalWrite{Entry: storage.JournalEntry{Seq: 3, Time: goldenDue, Data: []byte("e3"), Base: goldenRecord}}
	if _, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: inst.Version + 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !hasBucket() {
		t.Fatal("the first journal entry did not create the journal bucket")
	}
	s, err = Open(path, WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.ReadJournal(ctx, "order-2", 0, 0)
	if err != nil || len(got) != 1 || got[0].Seq != 3 || string(got[0].Data) != "e3" {
		t.Fatalf("ReadJournal after reopening read-only = %+v, %v", got, err)
	}
	if _, err := s.TrimJournal(ctx, "order-2", storage.JournalKeep{}); err == nil {
		t.Fatal("TrimJournal of a read-only store succeeded")
	}
}
