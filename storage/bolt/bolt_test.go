package bolt_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
)

var base = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

// state is everything a store observably holds.
type state struct {
	Instances []storage.Instance
	Outbox    []storage.Effect
	Due       []storage.Due
}

func snapshot(t testing.TB, s storage.Store) state {
	t.Helper()
	ctx := context.Background()
	var st state
	var err error
	if st.Instances, err = s.List(ctx, "", 1<<20); err != nil {
		t.Fatalf("List: %v", err)
	}
	if st.Outbox, err = s.Outbox(ctx, 1<<20); err != nil {
		t.Fatalf("Outbox: %v", err)
	}
	if st.Due, err = s.DueBefore(ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1<<20); err != nil {
		t.Fatalf("DueBefore: %v", err)
	}
	return st
}

func diff(want, got any) string { return cmp.Diff(want, got, cmpopts.EquateEmpty()) }

// mustOpen opens path and fails t on error; the caller closes the store.
func mustOpen(t testing.TB, path string, opts ...bolt.Option) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

func mustClose(t testing.TB, s *bolt.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func eff(inst, id string) storage.Effect {
	return storage.Effect{ID: id, Instance: inst, Data: []byte("data:" + id)}
}

// fill writes a little of everything to s.
func fill(t testing.TB, s storage.Store) {
	t.Helper()
	ctx := context.Background()
	for i, id := range []string{"a", "b", "c\x00d", "é"} {
		inst := storage.Instance{ID: id, Workflow: "wf", Status: "running", Due: base.Add(time.Duration(i) * 1500 * time.Nanosecond), Data: []byte("v1 " + id)}
		if _, err := s.Create(ctx, inst, []storage.Effect{eff(id, id+"/1")}); err != nil {
			t.Fatalf("Create(%q): %v", id, err)
		}
	}
	for v := uint64(1); v <= 3; v++ {
		inst := storage.Instance{ID: "a", Workflow: "wf", Status: "waiting", Due: base.Add(time.Duration(v) * time.Hour), Data: fmt.Appendf(nil, "v%d", v+1)}
		if _, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: v, Effects: []storage.Effect{eff("a", fmt.Sprintf("a/%d", v+1))}}); err != nil {
			t.Fatalf("Commit(a, %d): %v", v, err)
		}
	}
	// Clear b's Due, acknowledge an effect.
	if _, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "b", Status: "completed"}, Expect: 1}); err != nil {
		t.Fatalf("Commit(b): %v", err)
	}
	if err := s.Ack(ctx, "b/1", "unknown"); err != nil {
		t.Fatalf("Ack: %v", err)
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	s := mustOpen(t, path)
	fill(t, s)
	before := snapshot(t, s)
	if len(before.Instances) != 4 || len(before.Outbox) != 6 || len(before.Due) != 3 {
		t.Fatalf("unexpected state before reopening: %+v", before)
	}
	mustClose(t, s)

	s = mustOpen(t, path)
	defer mustClose(t, s)
	if d := diff(before, snapshot(t, s)); d != "" {
		t.Fatalf("state after reopening (-before +after):\n%s", d)
	}
	// The outbox sequence survives: new effects come after the old ones.
	ctx := context.Background()
	if _, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "é"}, Expect: 1, Effects: []storage.Effect{eff("é", "é/2")}}); err != nil {
		t.Fatal(err)
	}
	out, err := s.Outbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if last := out[len(out)-1].ID; last != "é/2" {
		t.Errorf("last effect after reopening = %q, want é/2", last)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	s := mustOpen(t, path)

	start := time.Now()
	_, err := bolt.Open(path, bolt.WithTimeout(100*time.Millisecond))
	if !errors.Is(err, bolt.ErrLocked) || !errors.Is(err, berrors.ErrTimeout) {
		t.Fatalf("second Open = %v, want ErrLocked wrapping berrors.ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("second Open waited %v with a 100ms timeout", waited)
	}
	if _, err := bolt.Open(path, bolt.WithTimeout(0)); !errors.Is(err, bolt.ErrLocked) {
		t.Errorf("Open without waiting = %v, want ErrLocked", err)
	}
	// Read-only needs a shared lock, which the read-write holder blocks.
	if _, err := bolt.Open(path, bolt.WithReadOnly(), bolt.WithTimeout(0)); !errors.Is(err, bolt.ErrLocked) {
		t.Errorf("read-only Open while open read-write = %v, want ErrLocked", err)
	}

	// Once the holder closes, the file opens.
	mustClose(t, s)
	s = mustOpen(t, path, bolt.WithTimeout(0))
	mustClose(t, s)
}

func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "weft.db")
	s := mustOpen(t, path)
	fill(t, s)
	want := snapshot(t, s)
	mustClose(t, s)

	ro1 := mustOpen(t, path, bolt.WithReadOnly())
	defer mustClose(t, ro1)
	ro2 := mustOpen(t, path, bolt.WithReadOnly()) // shared lock: several readers
	defer mustClose(t, ro2)
	for _, ro := range []*bolt.Store{ro1, ro2} {
		if d := diff(want, snapshot(t, ro)); d != "" {
			t.Errorf("read-only snapshot (-want +got):\n%s", d)
		}
	}

	ctx := context.Background()
	_, err := ro1.Create(ctx, storage.Instance{ID: "new"}, nil)
	if !errors.Is(err, bolt.ErrReadOnly) {
		t.Errorf("Create on a read-only store = %v, want ErrReadOnly", err)
	}
	_, err = ro1.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 4})
	if !errors.Is(err, bolt.ErrReadOnly) {
		t.Errorf("Commit on a read-only store = %v, want ErrReadOnly", err)
	}
	if err := ro1.Ack(ctx, "a/1"); !errors.Is(err, bolt.ErrReadOnly) {
		t.Errorf("Ack on a read-only store = %v, want ErrReadOnly", err)
	}
	if d := diff(want, snapshot(t, ro1)); d != "" {
		t.Errorf("read-only store changed (-want +got):\n%s", d)
	}

	// A read-write open waits for the readers.
	if _, err := bolt.Open(path, bolt.WithTimeout(0)); !errors.Is(err, bolt.ErrLocked) {
		t.Errorf("read-write Open while open read-only = %v, want ErrLocked", err)
	}

	// Read-only never creates or initialises a file.
	missing := filepath.Join(dir, "missing.db")
	if _, err := bolt.Open(missing, bolt.WithReadOnly()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read-only Open of a missing file = %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read-only Open created %s", missing)
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := bolt.Open(empty, bolt.WithReadOnly()); !errors.Is(err, bolt.ErrNotWeftStore) {
		t.Errorf("read-only Open of an empty file = %v, want ErrNotWeftStore", err)
	}
}

// rawBolt creates a bbolt file at path and runs fn in a write transaction.
func rawBolt(t *testing.T, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// openRejected checks that opening path, read-write and read-only, fails
// with want and leaves the file byte for byte as it was.
func openRejected(t *testing.T, path string, want error) {
	t.Helper()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]bolt.Option{nil, {bolt.WithReadOnly()}} {
		s, err := bolt.Open(path, opts...)
		if err == nil {
			s.Close()
		}
		if !errors.Is(err, want) {
			t.Errorf("Open(%s, %d options) = %v, want %v", path, len(opts), err, want)
		} else if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("a rejected Open changed %s", path)
	}
}

func TestNotWeftStore(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{10, 4096, 64 << 10} {
		path := filepath.Join(dir, fmt.Sprintf("random-%d", size))
		if err := os.WriteFile(path, randomBytes(size), 0o600); err != nil {
			t.Fatal(err)
		}
		openRejected(t, path, bolt.ErrNotWeftStore)
	}

	foreign := filepath.Join(dir, "foreign.db")
	rawBolt(t, foreign, func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("users"))
		if err != nil {
			return err
		}
		return b.Put([]byte("alice"), []byte("admin"))
	})
	openRejected(t, foreign, bolt.ErrNotWeftStore)

	// A "meta"-like bucket without a format version is not enough.
	fake := filepath.Join(dir, "fake.db")
	rawBolt(t, fake, func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte("weft"))
		return err
	})
	openRejected(t, fake, bolt.ErrNotWeftStore)

	// A bbolt file without any bucket is as good as a new file.
	blank := filepath.Join(dir, "blank.db")
	rawBolt(t, blank, func(*bbolt.Tx) error { return nil })
	s := mustOpen(t, blank)
	fill(t, s)
	mustClose(t, s)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestFormatTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	s := mustOpen(t, path)
	fill(t, s)
	mustClose(t, s)
	rawBolt(t, path, func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("weft")).Put([]byte("format"), binary.BigEndian.AppendUint64(nil, 2))
	})
	openRejected(t, path, bolt.ErrFormatTooNew)
}

func TestCorruptRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	s := mustOpen(t, path)
	fill(t, s)
	mustClose(t, s)
	rawBolt(t, path, func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("instances")).Put([]byte("b"), []byte{0x80}) // truncated uvarint
	})
	s = mustOpen(t, path)
	defer mustClose(t, s)
	ctx := context.Background()
	if _, err := s.Load(ctx, "b"); !errors.Is(err, bolt.ErrCorrupt) {
		t.Errorf("Load of a corrupt record = %v, want ErrCorrupt", err)
	}
	if _, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "b"}, Expect: 2}); !errors.Is(err, bolt.ErrCorrupt) {
		t.Errorf("Commit on a corrupt record = %v, want ErrCorrupt", err)
	}
	if _, err := s.Load(ctx, "a"); err != nil {
		t.Errorf("Load of an intact record: %v", err)
	}
}

// TestGroupCommit commits to distinct instances from many goroutines with
// fsync on: every write succeeds, transactions are shared, and everything is
// there after reopening.
func TestGroupCommit(t *testing.T) {
	const (
		goroutines = 200
		commits    = 5 // per goroutine, after Create
	)
	path := filepath.Join(t.TempDir(), "weft.db")
	s := mustOpen(t, path)
	ctx := context.Background()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			id := fmt.Sprintf("inst-%03d", g)
			if _, err := s.Create(ctx, storage.Instance{ID: id, Data: []byte("0")}, []storage.Effect{eff(id, id+"@1")}); err != nil {
				t.Errorf("Create(%q): %v", id, err)
				return
			}
			for v := uint64(1); v <= commits; v++ {
				inst := storage.Instance{ID: id, Due: base.Add(time.Duration(g) * time.Second), Data: fmt.Appendf(nil, "%d", v)}
				got, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: v, Effects: []storage.Effect{eff(id, fmt.Sprintf("%s@%d", id, v+1))}})
				if err != nil || got != v+1 {
					t.Errorf("Commit(%q, %d) = %d, %v", id, v, got, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	stats := s.Stats()
	t.Logf("%d writes in %d transactions (%.1f writes per transaction)",
		stats.Writes, stats.Transactions, float64(stats.Writes)/float64(stats.Transactions))
	if want := uint64(goroutines * (commits + 1)); stats.Writes != want {
		t.Errorf("Stats().Writes = %d, want %d", stats.Writes, want)
	}
	if stats.Transactions >= stats.Writes {
		t.Errorf("no group commit: %d writes in %d transactions", stats.Writes, stats.Transactions)
	}
	mustClose(t, s)

	s = mustOpen(t, path)
	defer mustClose(t, s)
	st := snapshot(t, s)
	if len(st.Instances) != goroutines || len(st.Outbox) != goroutines*(commits+1) || len(st.Due) != goroutines {
		t.Fatalf("after reopening: %d instances, %d effects, %d due; want %d, %d, %d",
			len(st.Instances), len(st.Outbox), len(st.Due), goroutines, goroutines*(commits+1), goroutines)
	}
	for g, inst := range st.Instances {
		want := storage.Instance{ID: fmt.Sprintf("inst-%03d", g), Version: commits + 1,
			Due: base.Add(time.Duration(g) * time.Second), Data: fmt.Appendf(nil, "%d", commits)}
		if d := diff(want, inst); d != "" {
			t.Errorf("instance %d after reopening (-want +got):\n%s", g, d)
		}
	}
}

// TestRacingCAS races writers on one instance from the same version: exactly
// one wins, in every round.
func TestRacingCAS(t *testing.T) {
	const writers = 100
	s := open(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, storage.Instance{ID: "x"}, nil); err != nil {
		t.Fatal(err)
	}
	for round := uint64(1); round <= 5; round++ {
		errs := make([]error, writers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range writers {
			wg.Go(func() {
				<-start
				_, errs[g] = s.Commit(ctx, storage.Commit{
					Instance: storage.Instance{ID: "x", Data: fmt.Appendf(nil, "writer %d", g)},
					Expect:   round,
					Effects:  []storage.Effect{eff("x", fmt.Sprintf("x@%d", round+1))},
				})
			})
		}
		close(start)
		wg.Wait()
		winners := 0
		for g, err := range errs {
			switch {
			case err == nil:
				winners++
			case !errors.Is(err, storage.ErrConflict):
				t.Errorf("round %d: writer %d: %v, want ErrConflict", round, g, err)
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d winners, want 1", round, winners)
		}
	}
	st := snapshot(t, s)
	if len(st.Outbox) != 5 || st.Instances[0].Version != 6 {
		t.Errorf("after 5 rounds: version %d, %d effects; want 6, 5", st.Instances[0].Version, len(st.Outbox))
	}
}

// TestCloseDuringWrites closes the store while writers are busy: every write
// either succeeds, and is there after reopening, or fails with ErrClosed.
func TestCloseDuringWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	s := mustOpen(t, path)
	ctx := context.Background()
	const goroutines = 50
	created := make([]bool, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			_, err := s.Create(ctx, storage.Instance{ID: fmt.Sprint(g)}, nil)
			switch {
			case err == nil:
				created[g] = true
			case !errors.Is(err, storage.ErrClosed):
				t.Errorf("Create: %v", err)
			}
		})
	}
	time.Sleep(time.Millisecond)
	mustClose(t, s)
	wg.Wait()

	s = mustOpen(t, path)
	defer mustClose(t, s)
	for g, ok := range created {
		_, err := s.Load(ctx, fmt.Sprint(g))
		if ok && err != nil {
			t.Errorf("acknowledged Create(%d) lost: %v", g, err)
		}
		if !ok && !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("failed Create(%d) stored: %v", g, err)
		}
	}
}

// TestWriteTo copies a store in use and opens the copy read-only.
func TestWriteTo(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, filepath.Join(dir, "weft.db"))
	defer mustClose(t, s)
	fill(t, s)
	want := snapshot(t, s)

	f, err := os.Create(filepath.Join(dir, "copy.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// The original is still open read-write: the copy is not locked.
	c := mustOpen(t, f.Name(), bolt.WithReadOnly(), bolt.WithTimeout(0))
	defer mustClose(t, c)
	if d := diff(want, snapshot(t, c)); d != "" {
		t.Errorf("copy (-original +copy):\n%s", d)
	}
}

// TestOpenWritesNothing opens and closes an existing store: the file stays
// byte for byte the same.
func TestOpenWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	s := mustOpen(t, path)
	fill(t, s)
	mustClose(t, s)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]bolt.Option{nil, {bolt.WithReadOnly()}} {
		s = mustOpen(t, path, opts...)
		snapshot(t, s)
		mustClose(t, s)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("opening, reading and closing the store changed the file")
	}
}

// TestCorruptKeys stores records under keys no write could have made, as
// damaged pages can make a key run into its value: reads fail with
// ErrCorrupt rather than return an instance, effect or due entry whose ID
// is invalid.
func TestCorruptKeys(t *testing.T) {
	long := strings.Repeat("k", storage.MaxIDLen+1)
	for _, tc := range []struct {
		name string
		put  func(tx *bbolt.Tx) error
		read func(s *bolt.Store) error
	}{
		{"instance under an overlong ID", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("instances")).Put([]byte(long), []byte{1, 0, 0, 0})
		}, func(s *bolt.Store) error {
			_, err := s.List(context.Background(), "", 100)
			return err
		}},
		{"due entry with an overlong ID", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("due")).Put(append(append(make([]byte, 8), 0), long...), nil)
		}, func(s *bolt.Store) error {
			_, err := s.DueBefore(context.Background(), base.Add(1000*time.Hour), 100)
			return err
		}},
		{"effect of an overlong instance ID", func(tx *bbolt.Tx) error {
			v := binary.AppendUvarint(nil, 1)
			v = append(v, 'e')
			v = binary.AppendUvarint(v, uint64(len(long)))
			v = append(v, long...)
			return tx.Bucket([]byte("outbox")).Put(binary.BigEndian.AppendUint64(nil, 1<<40), v)
		}, func(s *bolt.Store) error {
			_, err := s.Outbox(context.Background(), 100)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "weft.db")
			s := mustOpen(t, path)
			fill(t, s)
			mustClose(t, s)
			rawBolt(t, path, tc.put)
			s = mustOpen(t, path, bolt.WithReadOnly())
			defer mustClose(t, s)
			if err := tc.read(s); !errors.Is(err, bolt.ErrCorrupt) {
				t.Errorf("read = %v, want ErrCorrupt", err)
			}
		})
	}
}
