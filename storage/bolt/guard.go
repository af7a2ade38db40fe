package bolt

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"go.etcd.io/bbolt"
)

// bboltPanic is the error guard makes of a panic inside bbolt. It wraps
// ErrCorrupt.
type bboltPanic struct{ p any }

func (e *bboltPanic) Error() string {
	return fmt.Sprintf("%v: bbolt failed reading the file: %v", ErrCorrupt, e.p)
}

func (e *bboltPanic) Unwrap() error { return ErrCorrupt }

// panicked reports whether err came from a panic that guard recovered.
func panicked(err error) bool {
	var p *bboltPanic
	return errors.As(err, &p)
}

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
			err = &bboltPanic{p}
		}
	}()
	return fn()
}

// A panic inside bbolt's own transaction code (beginning, committing or
// rolling back) can leave bbolt's locks held, and then every later
// transaction, and bbolt's Close, waits for them forever. So a store whose
// bbolt panicked there is wedged: it refuses every later call with
// ErrCorrupt and closes with abandon instead of bbolt's Close. A panic in
// the code a transaction runs (reading a damaged page) is harmless: the
// transaction is rolled back as usual.

// wedgedGrace is how long a write in flight when the store is wedged waits
// for the writer before its outcome is reported unknown.
const wedgedGrace = time.Second

// wedge marks the store wedged if err is a panic guard recovered.
func (s *Store) wedge(err error) {
	if panicked(err) && !s.wedged.Swap(true) {
		close(s.wedgedCh)
	}
}

// errWedged is the error of a call on a wedged store.
func (s *Store) errWedged() error {
	return fmt.Errorf("bolt: %s: %w: bbolt failed inside a transaction before; close and reopen the store", s.path, ErrCorrupt)
}

// view runs fn in a read transaction under guard.
func (s *Store) view(fn func(tx *bbolt.Tx) error) error {
	if s.wedged.Load() {
		return s.errWedged()
	}
	var tx *bbolt.Tx
	if err := guard(func() (err error) { tx, err = s.db.Begin(false); return err }); err != nil {
		s.wedge(err)
		return err
	}
	err := guard(func() error { return fn(tx) })
	if rerr := guard(tx.Rollback); rerr != nil {
		s.wedge(rerr)
		if err == nil {
			err = rerr
		}
	}
	return err
}

// rollback rolls tx back, wedging the store if bbolt panics doing so.
func (s *Store) rollback(tx *bbolt.Tx) {
	s.wedge(guard(tx.Rollback))
}

// closeDB closes db, whose file is f, after a failed Open: with bbolt's
// Close, unless err is a panic guard recovered, which may have left bbolt's
// locks held.
func closeDB(db *bbolt.DB, f *os.File, err error) {
	if panicked(err) {
		abandon(f)
		return
	}
	_ = db.Close()
}

// abandon closes a bbolt DB's file f and releases its lock without bbolt's
// Close, whose locks a panic may hold. bbolt's memory map of the file stays
// until the process ends.
func abandon(f *os.File) {
	if f != nil {
		unlock(f)
		_ = f.Close()
	}
}

// guardedOpen is bbolt.Open under guard; it returns the file bbolt opened
// too, for abandon. If bbolt panics, guardedOpen releases the lock bbolt
// took and closes the file; bbolt's memory map of the file, if it made
// one, stays until the process ends.
func guardedOpen(path string, bo *bbolt.Options) (db *bbolt.DB, file *os.File, err error) {
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
		abandon(file)
		file = nil
	}
	return db, file, err
}
