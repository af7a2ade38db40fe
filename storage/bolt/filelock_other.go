//go:build windows || plan9 || solaris || aix || android

package bolt

import (
	"os"
	"time"
)

// lockShared does nothing where bbolt does not lock with flock: checkFile
// then reads the file unlocked, and a writer in another process changing
// the file under it can make it fail spuriously.
func lockShared(*os.File, time.Duration) error { return nil }

// unlock does nothing here: bbolt's lock goes with the file.
func unlock(*os.File) {}
