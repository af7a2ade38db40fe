package bolt

import (
	"fmt"
	"os"
	"runtime/debug"

	"go.etcd.io/bbolt"
)

// guard runs fn, which reads the memory-mapped file through bbolt, so that
// damage fn runs into becomes an error wrapping ErrCorrupt instead of
// killing the process: bbolt panics on pages that are not what it expects,
// and a read of a page the file does not hold faults (SIGBUS or SIGSEGV),
// which SetPanicOnFault turns into a panic on this goroutine.
//
// checkFile has already refused the damage that would crash bbolt where no
// panic can be recovered (in Open, and in endless recursion over a tree
// that loops); guard catches what remains.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: bbolt failed reading the file: %v", ErrCorrupt, p)
		}
	}()
	return fn()
}

// view is db.View under guard.
func (s *Store) view(fn func(tx *bbolt.Tx) error) error {
	return guard(func() error { return s.db.View(fn) })
}

// guardedOpen is bbolt.Open under guard. If bbolt panics, guardedOpen
// releases the lock bbolt took and closes the file; bbolt's memory map of
// the file, if it made one, stays until the process ends.
func guardedOpen(path string, bo *bbolt.Options) (db *bbolt.DB, err error) {
	var file *os.File
	openFile := bo.OpenFile
	if openFile == nil {
		openFile = os.OpenFile
	}
	bo.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := openFile(name, flag, perm)
		file = f
		return f, err
	}
	err = guard(func() error {
		var err error
		db, err = bbolt.Open(path, fileMode, bo)
		return err
	})
	if db == nil && file != nil { // bbolt closed it already unless it panicked
		unlock(file)
		_ = file.Close()
	}
	return db, err
}
