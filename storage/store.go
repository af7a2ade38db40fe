package storage

import (
	"context"
	"time"
)

// Instance is one stored workflow instance.
//
// The store treats every field except ID, Version and Due as opaque: it keeps
// them and hands them back, nothing more.
type Instance struct {
	// ID identifies the instance. It is unique within a store, non-empty and
	// at most [MaxIDLen] bytes; any bytes are allowed and IDs order byte-wise.
	ID string
	// Workflow is the name of the workflow definition, kept for listing.
	Workflow string
	// Version is the compare-and-set version, set by the store: 1 after
	// Create (one more than a deleted instance's with the ID: see
	// [Retention.Delete]) and one more after every successful Commit. It is
	// ignored on input, except by a Create over a deleted instance's
	// tombstone.
	Version uint64
	// Status is an opaque status kept for listing ("running", "completed", ...).
	Status string
	// Due is when the host must next resume the instance; the zero time means
	// not due. Stores index it (see [Store.DueBefore]) and keep it at
	// microsecond precision in UTC (see [NormalizeDue]).
	Due time.Time
	// Data is the encoded record. A nil and an empty Data are equivalent: a
	// store may return either for both.
	Data []byte
	// Journal, on input to Create and Commit, is appended to the
	// instance's journal in the same atomic write (see [Journal]); nil
	// appends nothing. Load and List return it nil.
	Journal *JournalWrite
}

// Effect is one outbox entry, written atomically with its instance.
type Effect struct {
	// ID identifies the effect. The host derives it deterministically (for
	// example from the instance ID and version) so that a receiver can
	// deduplicate deliveries. It must be non-empty, at most [MaxIDLen] bytes,
	// and not equal to the ID of any effect still in the outbox. Once an
	// effect is acknowledged the store forgets its ID.
	ID string
	// Instance is the ID of the instance whose write produced the effect. It
	// must equal the ID of the instance being created or committed.
	Instance string
	// Data is the opaque effect payload. Nil and empty are equivalent.
	Data []byte
	// NotBefore is when the effect may be performed first (or, after a
	// failed attempt, again); the zero time means at once. Stores index it
	// so that claimers find ready effects without decoding Data.
	NotBefore time.Time
	// Attempts counts failed attempts, kept by the store ([Claims.Retry]);
	// ignored on input.
	Attempts uint32
	// LastError is why the last attempt failed; ignored on input.
	LastError string
	// Seq is the effect's position in the outbox, assigned by the store: it
	// grows with every effect written, so it is the outbox order. Ignored on
	// input.
	Seq uint64
}

// Commit is one atomic write: the new contents of an instance, the version
// the writer based them on, and the effects to append to the outbox.
type Commit struct {
	// Instance is the new contents of the instance, which must exist.
	// Instance.Version is ignored.
	Instance Instance
	// Expect is the version the writer loaded. The commit applies only if the
	// stored version still equals it.
	Expect uint64
	// Effects are appended to the outbox in slice order.
	Effects []Effect
	// Lease, when set, fences the commit: it applies only while Lease is
	// the instance's current lease, else it fails with ErrFenced and writes
	// nothing (see [Claims]). Hosts set it when they commit work they
	// claimed, so that a process paused past its lease cannot commit late.
	Lease *Lease
	// Wake asks a store that is a [Waker] to wake its watchers after the
	// commit even if it writes no effect and sets no due time soon. Hosts
	// set it on a commit that ends an instance without an end effect
	// (engine.WithoutEndEffects), so that a process waiting for that end
	// (engine.Await) hears of it. Other stores ignore it.
	Wake bool
}

// Due is an entry of the due index: an instance and the time it is due at.
type Due struct {
	// ID is the instance ID.
	ID string
	// At is the instance's (normalized) Due time; never zero.
	At time.Time
}

// Store persists workflow instances together with their outbox and due
// index. Every method is safe for concurrent use. See the package
// documentation for the full contract; storagetest.Run checks it.
//
// Every Store also implements [Claims], so that processes sharing it can
// lease its work; storagetest checks them.
type Store interface {
	Claims
	Journal
	Listing   // Find and Count (listing.go)
	Retention // Delete (listing.go)

	// Create stores a new instance together with its first effects,
	// atomically, and returns its version: 1 for an ID never used. For
	// the ID of a deleted instance (see [Retention.Delete]) it applies
	// only if inst.Version names the deleted instance's version, which
	// the host learns from the [DeletedError] of a Create that did not,
	// and stores the instance at the version after it; otherwise
	// inst.Version is ignored. It fails with ErrExists if the ID is
	// taken, a *DeletedError (wrapping [ErrDeleted]) if the ID's tombstone
	// was not named, and ErrExists if an effect ID is already in the
	// outbox, in that order of precedence.
	Create(ctx context.Context, inst Instance, effects []Effect) (version uint64, err error)

	// Load returns the instance with the given ID, or ErrNotFound.
	Load(ctx context.Context, id string) (Instance, error)

	// Commit applies c atomically (record, outbox and due index) if the
	// stored version equals c.Expect, and returns the new version. It fails
	// with ErrNotFound if the instance does not exist, ErrConflict if its
	// version differs from c.Expect, and ErrExists if an effect ID is already
	// in the outbox; a commit failing with one of these sentinels writes
	// nothing. Any other error (an I/O error, a full disk) leaves the outcome
	// unknown, as after a crash: the caller must reload before going on.
	Commit(ctx context.Context, c Commit) (version uint64, err error)

	// Outbox returns the oldest limit unacknowledged effects (all of them if
	// there are fewer), oldest first: in commit order, and within one commit
	// in slice order. It does not remove them; Ack does.
	Outbox(ctx context.Context, limit int) ([]Effect, error)

	// Ack removes the effects with the given IDs from the outbox. Unknown IDs
	// are ignored, so acknowledging is idempotent.
	Ack(ctx context.Context, ids ...string) error

	// DueBefore returns the first limit instances (all of them if there are
	// fewer) whose Due is non-zero and not after t, earliest first, ties
	// broken by ID.
	DueBefore(ctx context.Context, t time.Time, limit int) ([]Due, error)

	// List returns the first limit instances (all of them if there are
	// fewer) with ID greater than after, in ascending byte-wise ID order. An
	// empty after starts at the beginning; passing the last ID of a page
	// fetches the next page, and a page shorter than limit is the last.
	List(ctx context.Context, after string, limit int) ([]Instance, error)

	// Close releases the store's resources. Afterwards every other method
	// returns ErrClosed. Closing a closed store does nothing and returns nil.
	Close() error
}
