package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"github.com/weftflow/weft/storage/storagetest"
)

// open opens a new store in a temporary directory and closes it when t ends.
func open(t testing.TB, opts ...bolt.Option) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "weft.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// reopen closes s and opens its file again with opts.
func reopen(opts ...bolt.Option) storagetest.Option {
	return storagetest.WithReopen(func(t *testing.T, s storage.Store) storage.Store {
		t.Helper()
		path := s.(*bolt.Store).Path()
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		s, err := bolt.Open(path, opts...)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}

// The suite runs without storagetest.WithShared: bbolt locks its file, so
// one process cannot open a store twice (a second Open fails with
// ErrLocked), and the tests of two stores on the same data skip.
func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return open(t, bolt.WithUnsafeNoSync())
	}, reopen(bolt.WithUnsafeNoSync()))
}

// TestConformanceSync runs the suite with fsync on, as in production.
func TestConformanceSync(t *testing.T) {
	if testing.Short() {
		t.Skip("slow with fsync on")
	}
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t) }, reopen())
}
