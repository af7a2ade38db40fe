package bolt

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"pgregory.net/rapid"

	"github.com/weftflow/weft/storage"
)

// indexState reads whether s's file is marked as not keeping the claims
// indexes, and whether they agree with the outbox.
func indexState(t interface {
	Helper()
	Fatal(...any)
}, s *Store) (marked, agree bool) {
	t.Helper()
	if err := s.db.View(func(tx *bbolt.Tx) error {
		marked = unindexed(tx)
		var err error
		agree, err = indexesAgree(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return marked, agree
}

func indexEntries(t testing.TB, s *Store) int {
	t.Helper()
	n := 0
	if err := s.db.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketReady).Stats().KeyN + tx.Bucket(bucketByInstance).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// A store nobody reads the claims indexes of does not write them, and
// says so in the file; the first reader finds every effect written
// before it, and the writes after it keep the indexes.
func TestIndexesKeptOnceRead(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "weft.db"), WithUnsafeNoSync())
	if _, err := s.Create(ctx, storage.Instance{ID: "a"}, effectsOf("a", "a/1", "a/2")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, storage.Instance{ID: "b"}, effectsOf("b", "b/1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, "a/1"); err != nil {
		t.Fatal(err)
	}
	if marked, _ := indexState(t, s); !marked || indexEntries(t, s) != 0 {
		t.Fatalf("before any reader: marked %v, %d index entries; want marked and none", marked, indexEntries(t, s))
	}
	next, err := s.NextWork(ctx, time.Now())
	if err != nil || next.IsZero() {
		t.Fatalf("NextWork = %v, %v; want now", next, err)
	}
	if marked, agree := indexState(t, s); marked || !agree {
		t.Fatalf("after NextWork: marked %v, agree %v", marked, agree)
	}
	if got := pendingIDs(t, s, "a"); !slices.Equal(got, []string{"a/2"}) {
		t.Fatalf("Pending(a) = %v", got)
	}
	if _, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "b"}, Expect: 1, Effects: effectsOf("b", "b/2")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, "b/1"); err != nil {
		t.Fatal(err)
	}
	if marked, agree := indexState(t, s); marked || !agree {
		t.Fatalf("writes after a reader: marked %v, agree %v; want the indexes kept", marked, agree)
	}
}

// Every reader of the indexes makes them current first: Claim, Pending,
// NextWork and Delete, whichever comes first.
func TestIndexesFirstReader(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	for _, c := range []struct {
		name string
		read func(t *testing.T, s *Store)
	}{
		{"Claim", func(t *testing.T, s *Store) {
			ls, err := s.Claim(ctx, storage.ClaimRequest{Owner: "p", Now: now, TTL: time.Minute, Limit: 10})
			if err != nil || len(ls) != 2 {
				t.Fatalf("Claim = %v, %v; want a and b", ls, err)
			}
		}},
		{"Pending", func(t *testing.T, s *Store) {
			if got := pendingIDs(t, s, "b"); !slices.Equal(got, []string{"b/1"}) {
				t.Fatalf("Pending(b) = %v", got)
			}
		}},
		{"PendingWithDead", func(t *testing.T, s *Store) {
			l, err := s.Acquire(ctx, "a", storage.ClaimRequest{Owner: "p", Now: now, TTL: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			effs, dead, err := s.PendingWithDead(ctx, l, 10)
			if err != nil || len(effs) != 2 || dead {
				t.Fatalf("PendingWithDead(a) = %v, %v, %v", effs, dead, err)
			}
		}},
		{"NextWork", func(t *testing.T, s *Store) {
			if next, err := s.NextWork(ctx, now); err != nil || !next.Equal(now) {
				t.Fatalf("NextWork = %v, %v; want %v", next, err, now)
			}
		}},
		{"Delete", func(t *testing.T, s *Store) {
			if err := s.Delete(ctx, "b", 1, nil); !errors.Is(err, storage.ErrHasEffects) {
				t.Fatalf("Delete(b), with an effect in the outbox: %v; want ErrHasEffects", err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t) // a/1, a/2, b/1, no reader yet
			s := openAt(t, path, WithUnsafeNoSync())
			if marked, _ := indexState(t, s); !marked {
				t.Fatal("the file written without readers is not marked")
			}
			c.read(t, s)
			if marked, agree := indexState(t, s); marked || !agree {
				t.Fatalf("after %s: marked %v, agree %v", c.name, marked, agree)
			}
		})
	}
}

// A read-only store cannot rebuild the indexes of a marked file: its
// readers go by the outbox instead.
func TestIndexesReadOnlyUnindexed(t *testing.T) {
	ctx := context.Background()
	path := writeFile(t)
	s := openAt(t, path, WithUnsafeNoSync())
	l, err := s.Acquire(ctx, "a", storage.ClaimRequest{Owner: "p", Now: time.Now(), TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro := openAt(t, path, WithReadOnly())
	effs, err := ro.Pending(ctx, l, 10)
	if err != nil || len(effs) != 2 || effs[0].ID != "a/1" || effs[1].ID != "a/2" {
		t.Fatalf("read-only Pending(a) = %v, %v; want a/1 and a/2", effs, err)
	}
	now := time.Now()
	if next, err := ro.NextWork(ctx, now); err != nil || !next.Equal(now) {
		t.Fatalf("read-only NextWork = %v, %v; want %v", next, err, now)
	}
	if marked, _ := indexState(t, ro); !marked {
		t.Fatal("a read-only store changed the file")
	}
}

// The indexes under random writes, acknowledgements, retries, deletes,
// reopens and reads, over up to a dozen instances: whenever they are
// read, Pending, Claim and Delete agree with a model of the outbox, and
// whenever the file is not marked, the indexes agree with the outbox.
func TestIndexesProperty(t *testing.T) {
	dir, runs := t.TempDir(), 0
	far := time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		runs++
		path := filepath.Join(dir, fmt.Sprintf("run-%d.db", runs))
		s, err := Open(path, WithUnsafeNoSync())
		if err != nil {
			rt.Fatal(err)
		}
		defer func() { s.Close() }()
		var ids []string
		for i := range rapid.IntRange(1, 12).Draw(rt, "instances") {
			ids = append(ids, fmt.Sprintf("i%d", i))
		}
		versions := map[string]uint64{}
		deleted := map[string]uint64{} // the version of each deleted ID's tombstone
		outbox := map[string]string{}  // effect -> instance
		delayed := map[string]bool{}   // effects retried to a far not-before time
		lease := func(id string) storage.Lease {
			l, err := s.Acquire(ctx, id, storage.ClaimRequest{Owner: "p", Now: time.Now(), TTL: time.Minute})
			if err != nil {
				rt.Fatal(err)
			}
			return l
		}
		n := 0
		for i, steps := 0, rapid.IntRange(1, 60).Draw(rt, "steps"); i < steps; i++ {
			id := rapid.SampledFrom(ids).Draw(rt, "instance")
			switch rapid.IntRange(0, 7).Draw(rt, "op") {
			case 0: // write effects
				var effs []storage.Effect
				for range rapid.IntRange(0, 3).Draw(rt, "effects") {
					n++
					e := storage.Effect{ID: fmt.Sprintf("%s/%d", id, n), Instance: id}
					if rapid.IntRange(0, 3).Draw(rt, "not before") == 0 { // delayed from the start
						e.NotBefore = far
						delayed[e.ID] = true
					}
					effs = append(effs, e)
					outbox[e.ID] = id
				}
				var v uint64
				if versions[id] == 0 {
					v, err = s.Create(ctx, storage.Instance{ID: id, Version: deleted[id]}, effs)
				} else {
					v, err = s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: id}, Expect: versions[id], Effects: effs})
				}
				if err != nil {
					rt.Fatal(err)
				}
				versions[id] = v
			case 1: // acknowledge some
				var acked []string
				for _, e := range slices.Sorted(maps.Keys(outbox)) {
					if rapid.Bool().Draw(rt, "ack "+e) {
						acked = append(acked, e)
					}
				}
				if err := s.Ack(ctx, acked...); err != nil {
					rt.Fatal(err)
				}
				for _, e := range acked {
					delete(outbox, e)
					delete(delayed, e)
				}
			case 2: // reopen
				if err := s.Close(); err != nil {
					rt.Fatal(err)
				}
				if s, err = Open(path, WithUnsafeNoSync()); err != nil {
					rt.Fatal(err)
				}
			case 3: // read one instance's effects
				if versions[id] == 0 {
					continue
				}
				l := lease(id)
				effs, err := s.Pending(ctx, l, 1000)
				if err != nil {
					rt.Fatal(err)
				}
				var got, want []string
				for _, e := range effs {
					got = append(got, e.ID)
					if e.NotBefore.Equal(far) != delayed[e.ID] {
						rt.Fatalf("Pending(%s): %s not before %v; delayed %v", id, e.ID, e.NotBefore, delayed[e.ID])
					}
				}
				for e, inst := range outbox {
					if inst == id {
						want = append(want, e)
					}
				}
				if !sameSet(got, want) {
					rt.Fatalf("Pending(%s) = %v, want %v", id, got, want)
				}
				if err := s.Release(ctx, l); err != nil {
					rt.Fatal(err)
				}
			case 4: // claim what has work now
				ls, err := s.Claim(ctx, storage.ClaimRequest{Owner: "p", Now: time.Now(), TTL: time.Minute, Limit: 100})
				if err != nil {
					rt.Fatal(err)
				}
				var got, want []string
				for _, l := range ls {
					got = append(got, l.Instance)
				}
				for e, inst := range outbox {
					if !delayed[e] && !slices.Contains(want, inst) {
						want = append(want, inst)
					}
				}
				if !sameSet(got, want) {
					rt.Fatalf("Claim = %v, want the instances with effects ready now %v", got, want)
				}
				if err := s.Release(ctx, ls...); err != nil {
					rt.Fatal(err)
				}
			case 5: // retry one effect to a far not-before time
				var mine []string
				for _, e := range slices.Sorted(maps.Keys(outbox)) {
					if outbox[e] == id {
						mine = append(mine, e)
					}
				}
				if len(mine) == 0 {
					continue
				}
				e := rapid.SampledFrom(mine).Draw(rt, "retried")
				l := lease(id)
				if err := s.Retry(ctx, l, e, storage.RetryState{Attempts: 1, NotBefore: far, LastError: "x"}); err != nil {
					rt.Fatal(err)
				}
				if err := s.Release(ctx, l); err != nil {
					rt.Fatal(err)
				}
				delayed[e] = true
			case 6: // delete: refused while the instance has effects
				if versions[id] == 0 {
					continue
				}
				has := false
				for _, inst := range outbox {
					has = has || inst == id
				}
				err := s.Delete(ctx, id, versions[id], nil)
				switch {
				case has && !errors.Is(err, storage.ErrHasEffects):
					rt.Fatalf("Delete(%s), with effects in the outbox: %v; want ErrHasEffects", id, err)
				case !has && err != nil:
					rt.Fatalf("Delete(%s), with no effects: %v", id, err)
				case !has:
					deleted[id] = versions[id] // its tombstone's version
					delete(versions, id)
				}
			case 7: // nothing but a check
			}
			if marked, agree := indexState(rt, s); !marked && !agree {
				rt.Fatalf("the file is not marked, but its claims indexes disagree with the outbox")
			}
		}
	})
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// The write a first reader makes for the indexes fails as the reader
// would have: on a read-only store, Claim and Delete name themselves once.
func TestIndexesReadOnlyWrites(t *testing.T) {
	ctx := context.Background()
	path := writeFile(t) // marked
	ro := openAt(t, path, WithReadOnly())
	_, err := ro.Claim(ctx, storage.ClaimRequest{Owner: "p", Now: time.Now(), TTL: time.Minute, Limit: 1})
	if !errors.Is(err, ErrReadOnly) || strings.Count(err.Error(), "storage: claim") != 1 {
		t.Fatalf("read-only Claim: %v; want ErrReadOnly, named once", err)
	}
	err = ro.Delete(ctx, "a", 1, nil)
	if !errors.Is(err, ErrReadOnly) || strings.Count(err.Error(), `storage: delete "a"`) != 1 {
		t.Fatalf("read-only Delete: %v; want ErrReadOnly, named once", err)
	}
}
