package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
)

// diskFull makes writes to a bbolt file fail with ENOSPC on demand: it
// points the file's descriptor at /dev/full, and back.
type diskFull struct {
	t     *testing.T
	mu    sync.Mutex
	file  *os.File // the file bbolt opened
	saved int      // a duplicate of the original descriptor while full
}

// options captures the file bbolt opens. The large initial mmap keeps bbolt
// from remapping (which reads the file's descriptor) while writes fail, and
// NoGrowSync keeps it from truncating the file, so that the first failing
// system call is a write.
func (d *diskFull) options(o *bbolt.Options) {
	o.InitialMmapSize = 16 << 20
	o.NoGrowSync = true
	o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		d.mu.Lock()
		d.file = f
		d.mu.Unlock()
		return f, err
	}
}

// fill points the descriptor at /dev/full. The duplicate keeps the original
// open file description, and so bbolt's lock, alive.
func (d *diskFull) fill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		d.t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	fd := int(d.file.Fd())
	if d.saved, err = syscall.Dup(fd); err != nil {
		d.t.Fatal(err)
	}
	if err := syscall.Dup3(int(full.Fd()), fd, syscall.O_CLOEXEC); err != nil {
		d.t.Fatal(err)
	}
}

// free restores the original descriptor.
func (d *diskFull) free() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := syscall.Dup3(d.saved, int(d.file.Fd()), syscall.O_CLOEXEC); err != nil {
		d.t.Fatal(err)
	}
	syscall.Close(d.saved)
}

// TestWriteFailure fills the disk under a store: the failing writes return
// errors wrapping ENOSPC, later writes are refused, and after reopening
// every acknowledged write is there and no failed one is.
func TestWriteFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	disk := &diskFull{t: t}
	s := mustOpen(t, path, bolt.WithBoltOptions(disk.options))
	fill(t, s)
	ctx := context.Background()
	spareFreePages(t, s)
	acked := snapshot(t, s)

	disk.fill()
	// Several concurrent writes, which may share the failing transaction.
	errs := make([]error, 10)
	var wg sync.WaitGroup
	for g := range errs {
		wg.Go(func() {
			if g == 0 {
				_, errs[g] = s.Commit(ctx, storage.Commit{
					Instance: storage.Instance{ID: "a", Due: base.Add(time.Minute), Data: []byte("lost")},
					Expect:   4,
					Effects:  []storage.Effect{eff("a", "a/lost")},
				})
				return
			}
			id := fmt.Sprintf("new-%d", g)
			_, errs[g] = s.Create(ctx, storage.Instance{ID: id, Due: base}, []storage.Effect{eff(id, id+"/1")})
		})
	}
	wg.Wait()
	unknown := 0
	for g, err := range errs {
		if !errors.Is(err, bolt.ErrWriteFailed) {
			t.Errorf("write %d on a full disk = %v, want ErrWriteFailed", g, err)
		}
		if errors.Is(err, storage.ErrOutcomeUnknown) {
			unknown++
		}
	}
	// The writes of the failing transaction may have reached the file;
	// those refused after it (in a later batch) did not.
	if unknown == 0 {
		t.Errorf("no write on a full disk matches storage.ErrOutcomeUnknown: %v", errs)
	}
	if !errors.Is(errs[0], syscall.ENOSPC) {
		t.Errorf("Commit on a full disk = %v, want an error wrapping ENOSPC", errs[0])
	}
	t.Logf("Commit on a full disk: %v", errs[0])

	// The store refuses writes from now on, even once space is back, but
	// still serves what was committed.
	disk.free()
	_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "b"}, Expect: 2})
	if !errors.Is(err, bolt.ErrWriteFailed) || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Commit after a failed write = %v, want ErrWriteFailed wrapping ENOSPC", err)
	}
	if errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Errorf("Commit refused after a failed write = %v, matches storage.ErrOutcomeUnknown, but it wrote nothing", err)
	}
	if err := s.Ack(ctx, "a/2"); !errors.Is(err, bolt.ErrWriteFailed) {
		t.Errorf("Ack after a failed write = %v, want ErrWriteFailed", err)
	}
	if d := diff(acked, snapshot(t, s)); d != "" {
		t.Errorf("state after the failed writes (-acknowledged +got):\n%s", d)
	}
	mustClose(t, s)

	s = mustOpen(t, path)
	defer mustClose(t, s)
	if d := diff(acked, snapshot(t, s)); d != "" {
		t.Errorf("state after reopening (-acknowledged +got):\n%s", d)
	}
	// The reopened store writes again.
	if _, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 4}); err != nil {
		t.Errorf("Commit after reopening: %v", err)
	}
}

// spareFreePages leaves free pages in the file for the writes under test
// to reuse. A transaction that needs pages past the end of the file makes
// bbolt stat the file before it writes anything, and the /dev/full
// descriptor answers that with size 0 ("file size too small"): a failure
// of the harness, not the one a full disk gives. With pages to reuse, the
// first failing system call is the write, as on a real full disk.
func spareFreePages(t *testing.T, s storage.Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Create(ctx, storage.Instance{ID: "spare", Data: make([]byte, 1<<20)}, nil); err != nil {
		t.Fatal(err)
	}
	for v := uint64(1); v <= 2; v++ { // the second write frees what the first left pending
		if _, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "spare", Data: []byte{byte(v)}}, Expect: v}); err != nil {
			t.Fatal(err)
		}
	}
}
