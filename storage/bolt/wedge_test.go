package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
)

// TestWedgedStoreCloses damages both meta pages of an open store's file,
// so that bbolt panics while it begins a transaction, holding its own
// locks. The store must refuse every later call with ErrCorrupt, Close at
// once instead of waiting for those locks forever, and release the file,
// which the next Open refuses as damaged.
func TestWedgedStoreCloses(t *testing.T) {
	ctx := context.Background()
	for _, first := range []string{"read", "write"} {
		t.Run(first, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "w.db")
			s, err := bolt.Open(path, bolt.WithUnsafeNoSync())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Create(ctx, storage.Instance{ID: "a", Workflow: "wf", Status: "running", Data: []byte("x")}, nil); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			ps := int64(os.Getpagesize())
			for _, at := range []int64{20, ps + 20} { // the version field of each meta page
				if _, err := f.WriteAt([]byte{0x7f}, at); err != nil {
					t.Fatal(err)
				}
			}
			_ = f.Close()

			load := func() error { _, err := s.Load(ctx, "a"); return err }
			create := func() error {
				_, err := s.Create(ctx, storage.Instance{ID: "b", Workflow: "wf", Status: "running"}, nil)
				return err
			}
			calls := []func() error{load, create, load}
			if first == "write" {
				calls = []func() error{create, load, create}
			}
			// bbolt's locks held by a panic hang the calls, not fail
			// them: run them where a hang can be seen.
			done := make(chan error, 1)
			go func() {
				for i, call := range calls {
					if err := call(); !errors.Is(err, bolt.ErrCorrupt) {
						done <- fmt.Errorf("call %d on the damaged store = %v, want ErrCorrupt", i, err)
						return
					}
				}
				if err := s.Close(); err != nil {
					done <- fmt.Errorf("Close = %w", err)
				}
				done <- nil
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("a call on the wedged store, or its Close, hangs")
			}
			if s2, err := bolt.Open(path, bolt.WithTimeout(0)); !errors.Is(err, bolt.ErrCorrupt) {
				if s2 != nil {
					_ = s2.Close()
				}
				t.Fatalf("reopening = %v, want ErrCorrupt (and not ErrLocked)", err)
			}
		})
	}
}
