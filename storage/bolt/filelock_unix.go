//go:build !windows && !plan9 && !solaris && !aix && !android

package bolt

import (
	"errors"
	"os"
	"syscall"
	"time"

	berrors "go.etcd.io/bbolt/errors"
)

// lockRetry is how long lockShared waits between attempts.
const lockRetry = 50 * time.Millisecond

// lockShared takes a shared flock on f, the lock a read-only bbolt open
// takes, so that no read-write holder changes the file while checkFile
// reads it. It tries once if timeout is zero or less and fails with bbolt's
// ErrTimeout if the lock is still held by then. Closing f releases it.
func lockShared(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return err
		case !time.Now().Before(deadline):
			return berrors.ErrTimeout
		}
		time.Sleep(min(lockRetry, time.Until(deadline)))
	}
}

// unlock releases a flock on f explicitly. Closing f alone does not when a
// memory map of the file is left behind: the map keeps the open file, and
// with it the lock, alive.
func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
