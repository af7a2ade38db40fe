package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/weftflow/weft/storage"
)

// rawUpdate changes the file at path with bbolt directly, as another
// (older) weft would.
func rawUpdate(t *testing.T, path string, f func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(f); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func openAt(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func effectsOf(instance string, ids ...string) []storage.Effect {
	out := make([]storage.Effect, len(ids))
	for i, id := range ids {
		out[i] = storage.Effect{ID: id, Instance: instance, Data: []byte(id)}
	}
	return out
}

// writeFile makes a store at path with two instances and three effects,
// and returns the path.
func writeFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "weft.db")
	s := openAt(t, path, WithUnsafeNoSync())
	ctx := context.Background()
	if _, err := s.Create(ctx, storage.Instance{ID: "a"}, effectsOf("a", "a/1", "a/2")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, storage.Instance{ID: "b"}, effectsOf("b", "b/1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func pendingIDs(t *testing.T, s *Store, id string) []string {
	t.Helper()
	ctx := context.Background()
	l, err := s.Acquire(ctx, id, storage.ClaimRequest{Owner: "t", Now: time.Now(), TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release(ctx, l)
	effs, err := s.Pending(ctx, l, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range effs {
		ids = append(ids, e.ID)
	}
	return ids
}

// A file written before claims existed (format 1 without the claims
// buckets) opens read-write, gains the buckets, and its effects are work.
func TestOldFileGainsClaims(t *testing.T) {
	path := writeFile(t)
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		for _, name := range claimBuckets {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return nil
	})

	// Read-only, nothing is written: claims reads see every effect as
	// ready work, and claims writes are refused.
	ro := openAt(t, path, WithReadOnly())
	ctx := context.Background()
	if next, err := ro.NextWork(ctx, time.Unix(0, 0)); err != nil || !next.Equal(time.Unix(0, 0)) {
		t.Fatalf("NextWork on an old file, read-only = %v, %v, want now", next, err)
	}
	if dead, err := ro.DeadLetters(ctx, "", 10); err != nil || len(dead) != 0 {
		t.Fatalf("DeadLetters on an old file, read-only = %v, %v", dead, err)
	}
	if _, err := ro.Claim(ctx, storage.ClaimRequest{Now: time.Now(), TTL: time.Minute, Limit: 5}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Claim read-only = %v, want ErrReadOnly", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}

	s := openAt(t, path, WithUnsafeNoSync())
	ls, err := s.Claim(ctx, storage.ClaimRequest{Owner: "p", Now: time.Now(), TTL: time.Minute, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 || ls[0].Instance != "a" || ls[1].Instance != "b" {
		t.Fatalf("Claim on an upgraded file = %+v, want a and b", ls)
	}
	for _, l := range ls {
		if err := s.Release(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if got := pendingIDs(t, s, "a"); !slices.Equal(got, []string{"a/1", "a/2"}) {
		t.Fatalf("Pending(a) = %v", got)
	}
}

// An older weft that does not know the claims indexes writes and
// acknowledges effects without them; the next open rebuilds them, keeping
// retry state, leases and dead letters.
func TestIndexesRebuiltAfterOldWriter(t *testing.T) {
	path := writeFile(t)
	ctx := context.Background()
	s := openAt(t, path, WithUnsafeNoSync())
	l, err := s.Acquire(ctx, "a", storage.ClaimRequest{Owner: "p", Now: time.Now(), TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	far := time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.Retry(ctx, l, "a/2", storage.RetryState{Attempts: 2, NotBefore: far, LastError: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeadLetter(ctx, l, "a/1", storage.RetryState{Attempts: 9, LastError: "y"}); err != nil {
		t.Fatal(err)
	}
	// A read of the indexes makes them current (see keyUnindexed): the
	// older writer below then leaves them disagreeing with the outbox.
	if _, err := s.NextWork(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// As format-1 code without claims would: append c/1 of b, and
	// acknowledge b/1, touching only the outbox and the effect index.
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		seq := u64(binary.BigEndian.Uint64(meta.Get(keySeq)) + 1)
		if err := meta.Put(keySeq, seq); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOutbox).Put(seq, encodeEffect(storage.Effect{ID: "c/1", Instance: "b", Data: []byte("c")})); err != nil {
			return err
		}
		if err := tx.Bucket(bucketEffects).Put([]byte("c/1"), seq); err != nil {
			return err
		}
		old := tx.Bucket(bucketEffects).Get([]byte("b/1"))
		if err := tx.Bucket(bucketOutbox).Delete(append([]byte(nil), old...)); err != nil {
			return err
		}
		return tx.Bucket(bucketEffects).Delete([]byte("b/1"))
	})
	var consistent bool
	s2 := openAt(t, path, WithReadOnly())
	if err := s2.db.View(func(tx *bbolt.Tx) error {
		var err error
		consistent, err = claimsConsistent(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if consistent {
		t.Fatal("the consistency check missed an older writer's changes")
	}
	s2.Close()

	s = openAt(t, path, WithUnsafeNoSync())
	if err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		consistent, err = claimsConsistent(tx)
		return err
	}); err != nil || !consistent {
		t.Fatalf("claims indexes after reopening: consistent %v, %v", consistent, err)
	}
	// a's lease survived; its retry state too.
	if _, err := s.Acquire(ctx, "a", storage.ClaimRequest{Owner: "q", Now: time.Now(), TTL: time.Hour}); !errors.Is(err, storage.ErrLeased) {
		t.Fatalf("Acquire(a) = %v, want ErrLeased", err)
	}
	effs, err := s.Pending(ctx, l, 10)
	if err != nil || len(effs) != 1 || effs[0].ID != "a/2" || effs[0].Attempts != 2 || !effs[0].NotBefore.Equal(far) {
		t.Fatalf("Pending(a) = %+v, %v", effs, err)
	}
	dead, err := s.DeadLetters(ctx, "", 10)
	if err != nil || len(dead) != 1 || dead[0].ID != "a/1" || dead[0].Attempts != 9 {
		t.Fatalf("DeadLetters = %+v, %v", dead, err)
	}
	// b's work is c/1 alone: the acknowledged b/1 left no index entry.
	ls, err := s.Claim(ctx, storage.ClaimRequest{Owner: "p", Now: time.Now(), TTL: time.Minute, Limit: 5})
	if err != nil || len(ls) != 1 || ls[0].Instance != "b" {
		t.Fatalf("Claim = %+v, %v, want b", ls, err)
	}
	if err := s.Release(ctx, ls[0]); err != nil {
		t.Fatal(err)
	}
	if got := pendingIDs(t, s, "b"); !slices.Equal(got, []string{"c/1"}) {
		t.Fatalf("Pending(b) = %v, want [c/1]", got)
	}
}

// An older weft does not know dead letters and may reuse a dead-lettered
// ID; Requeue then leaves the dead letter where it is rather than put two
// effects with one ID in the outbox.
func TestRequeueWaitsForReusedID(t *testing.T) {
	path := writeFile(t)
	ctx := context.Background()
	s := openAt(t, path, WithUnsafeNoSync())
	l, err := s.Acquire(ctx, "a", storage.ClaimRequest{Owner: "p", Now: time.Now(), TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeadLetter(ctx, l, "a/1", storage.RetryState{Attempts: 9}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		seq := u64(binary.BigEndian.Uint64(meta.Get(keySeq)) + 1)
		if err := meta.Put(keySeq, seq); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOutbox).Put(seq, encodeEffect(storage.Effect{ID: "a/1", Instance: "a", Data: []byte("again")})); err != nil {
			return err
		}
		return tx.Bucket(bucketEffects).Put([]byte("a/1"), seq)
	})
	s = openAt(t, path, WithUnsafeNoSync())
	if n, err := s.Requeue(ctx, "a/1"); err != nil || n != 0 {
		t.Fatalf("Requeue of a dead letter whose ID is pending again = %d, %v, want 0", n, err)
	}
	if dead, err := s.DeadLetters(ctx, "", 10); err != nil || len(dead) != 1 {
		t.Fatalf("DeadLetters = %v, %v", dead, err)
	}
	if err := s.Ack(ctx, "a/1"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Requeue(ctx, "a/1"); err != nil || n != 1 {
		t.Fatalf("Requeue after the reused ID was acknowledged = %d, %v, want 1", n, err)
	}
	out, err := s.Outbox(ctx, 10)
	if err != nil || len(out) != 3 || out[2].ID != "a/1" || string(out[2].Data) != "a/1" {
		t.Fatalf("Outbox = %+v, %v", out, err)
	}
}
