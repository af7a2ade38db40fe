package storage

import "errors"

// Sentinel errors. Stores wrap them with the operation and the instance ID,
// as in
//
//	storage: commit "order-17": version conflict (expected 3, stored 4)
//
// so test for them with [errors.Is], never by comparing strings or values.
var (
	// ErrNotFound means the instance does not exist (Load, Commit).
	ErrNotFound = errors.New("not found")

	// ErrExists means an ID is taken: Create of an existing instance ID, or
	// an effect whose ID equals that of an effect still in the outbox.
	ErrExists = errors.New("already exists")

	// ErrConflict means the stored version differs from Commit.Expect: someone
	// else committed first. Reload and retry. Nothing was written.
	ErrConflict = errors.New("version conflict")

	// ErrClosed means the store was closed.
	ErrClosed = errors.New("store closed")

	// ErrInvalid means the arguments are unusable on their own, whatever the
	// store holds: an empty or too long ID, an effect with an empty ID or
	// belonging to another instance, two effects with the same ID in one
	// write, a Due outside the storable range, or a limit that is not
	// positive.
	ErrInvalid = errors.New("invalid argument")

	// ErrFenced means a lease is no longer the instance's current one (it
	// expired and was taken over, or was released): the write it guarded
	// was refused and nothing changed. See [Claims].
	ErrFenced = errors.New("lease fenced")

	// ErrLeased means another process holds a live lease on the instance
	// ([Claims.Acquire]).
	ErrLeased = errors.New("instance leased")

	// ErrOutcomeUnknown means a write was sent but the store cannot tell
	// whether it took effect (the connection to the database broke during
	// the commit, or the store failed while the write was in flight).
	// Reload before retrying: the instance's version says.
	ErrOutcomeUnknown = errors.New("outcome unknown")

	// ErrHasEffects means [Retention.Delete] found effects of the
	// instance still in the outbox or in the dead letters: deleting it
	// now could lose what it asked the world to do. Nothing was deleted.
	ErrHasEffects = errors.New("instance has effects")
)
