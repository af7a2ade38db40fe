//go:build unix

package crashtest

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on f, waiting for it, and returns the
// function that releases it. The kernel releases it if the process dies.
func lockFile(f *os.File) (unlock func(), err error) {
	fd := int(f.Fd())
	for {
		err = syscall.Flock(fd, syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return func() { _ = syscall.Flock(fd, syscall.LOCK_UN) }, nil
}
