//go:build !unix

package crashtest

import (
	"errors"
	"os"
)

// lockFile is not available here: a shared receiver log needs flock.
func lockFile(*os.File) (unlock func(), err error) {
	return nil, errors.New("crashtest: a shared receiver log needs flock (Unix)")
}
