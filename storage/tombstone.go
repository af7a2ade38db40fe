package storage

import (
	"errors"
	"fmt"
)

// A tombstone is what [Retention.Delete] leaves of a deleted instance:
// its last version and bytes its host chose. The store hands it back when
// the ID is created again, so that the new instance carries on from the
// deleted one instead of repeating it: its versions follow the deleted
// instance's (a compare-and-set based on the deleted instance cannot
// apply to the new one), and the host can carry on its own numbering
// (weft's engine continues the effect and callback numbers, so that a
// receiver de-duplicating on effect IDs does not take the new instance's
// effects for repeats of the old one's).

// ErrDeleted means [Store.Create] met the tombstone of a deleted instance
// with the same ID and the Create did not name its version. The error is
// a [*DeletedError], which carries the tombstone. Nothing was written.
var ErrDeleted = errors.New("instance deleted")

// DeletedError is how [Store.Create] reports [ErrDeleted]: the tombstone
// the Create must name (Instance.Version = Version) to create the ID again.
type DeletedError struct {
	// ID is the instance ID.
	ID string
	// Version is the deleted instance's last version.
	Version uint64
	// Tombstone is what the host gave [Retention.Delete] to keep.
	Tombstone []byte
}

// Error says which ID was deleted, at what version.
func (e *DeletedError) Error() string {
	return fmt.Sprintf("storage: create %q: %v at version %d: a Create must name that version to use the ID again", e.ID, ErrDeleted, e.Version)
}

// Unwrap returns [ErrDeleted], so that errors.Is(err, ErrDeleted) holds.
func (e *DeletedError) Unwrap() error { return ErrDeleted }
