package storage

import (
	"context"
	"fmt"
	"time"
)

// Claims let several processes share one store without doing the same work
// twice. An instance has work when it is due (Due set and not after now) or
// when it has a ready effect (not dead-lettered, NotBefore not after now). A
// process claims such instances for a bounded time and gets a [Lease]; only
// the holder of an instance's current lease performs its work. A lease that
// runs out is taken over by the next claimer, with a higher fence token, and
// every write made with an older token ([Commit.Lease], [Claims.AckLeased],
// [Claims.Pending], [Claims.Retry], [Claims.DeadLetter], [Claims.Renew],
// [Claims.Release]) fails with [ErrFenced]: a process paused past its lease
// (a zombie) cannot undo its successor's work.
//
// Whose clock decides: every method takes the caller's now. Adapters shared
// by several machines may use their own clock instead and say so in their
// documentation (see [Clocked]); then expiry and readiness are decided by
// one clock, and skew between the machines only shifts when work starts.
//
// Effect retry state lives in the store ([Effect.Attempts],
// [Effect.NotBefore], [Effect.LastError]), so backoff survives restarts and
// moves with the lease. An effect that keeps failing is dead-lettered: it
// stays in the store, out of the outbox, listed by [Claims.DeadLetters],
// until [Claims.Requeue] puts it back.
type Claims interface {
	// Claim leases up to req.Limit instances that have work at req.Now and
	// hold no live lease (none, or one that expired at or before req.Now),
	// earliest work first: an instance's work time is the earliest of its
	// Due and its ready effects' NotBefore (an effect with no NotBefore
	// counts as earliest of all), ties broken by instance ID. Each returned
	// lease has a Token greater than every token the store issued before
	// for that instance, and expires at req.Now + req.TTL (normalized as
	// [NormalizeDue] does). It returns no leases, and no error, when no
	// instance has work.
	Claim(ctx context.Context, req ClaimRequest) ([]Lease, error)

	// Acquire leases the instance id whether or not it has work, as Claim
	// would. It fails with ErrNotFound if the instance does not exist and
	// with ErrLeased if another live lease holds it.
	Acquire(ctx context.Context, id string, req ClaimRequest) (Lease, error)

	// Renew extends a live lease to now + ttl, keeping its token. It fails
	// with ErrFenced if the lease is no longer the instance's current one or
	// has expired (Expires not after now), and with ErrInvalid if ttl is
	// less than [DuePrecision].
	Renew(ctx context.Context, l Lease, now time.Time, ttl time.Duration) (Lease, error)

	// Release ends leases early, so that the next claimer need not wait for
	// them to expire: a host releases a batch of claimed instances in one
	// call. It releases every lease in ls that is still its instance's
	// current one (an expired but still current lease included) and fails
	// with ErrFenced, naming the instances, if some were not; those change
	// nothing. With no leases it does nothing. Invalid leases (see
	// [Lease.Validate]) fail the whole call with ErrInvalid.
	Release(ctx context.Context, ls ...Lease) error

	// Pending returns up to limit effects of the leased instance that are in
	// the outbox (not dead-lettered), in outbox order, whatever their
	// NotBefore. It fails with ErrFenced for a stale lease.
	Pending(ctx context.Context, l Lease, limit int) ([]Effect, error)

	// AckLeased removes effects of the leased instance from the outbox, like
	// Store.Ack but fenced: a stale lease gets ErrFenced and removes nothing.
	// IDs that are unknown, dead-lettered or of another instance are
	// ignored.
	AckLeased(ctx context.Context, l Lease, ids ...string) error

	// Retry records a failed attempt of the leased instance's effect id: its
	// Attempts, NotBefore and LastError become those of r. It fails with
	// ErrFenced for a stale lease and ErrNotFound for an unknown effect.
	Retry(ctx context.Context, l Lease, id string, r RetryState) error

	// DeadLetter moves the effect id out of the outbox into the dead
	// letters, recording r as its last attempt. Same errors as Retry.
	DeadLetter(ctx context.Context, l Lease, id string, r RetryState) error

	// DeadLetters returns up to limit dead-lettered effects with ID greater
	// than after, by ID, for tools.
	DeadLetters(ctx context.Context, after string, limit int) ([]Effect, error)

	// Requeue moves dead-lettered effects back into the outbox, ready at
	// once, with Attempts reset to 0 and LastError kept, and returns how
	// many it moved. A requeued effect goes to the end of the outbox with a
	// new Seq. Unknown IDs are ignored.
	Requeue(ctx context.Context, ids ...string) (int, error)

	// NextWork returns when Claim will next find work: now itself if some
	// instance that holds no live lease has work at now; else the earliest
	// later time at which an instance will have work and hold no live lease
	// (a due time, an effect's NotBefore, or the expiry of a lease on an
	// instance with work, whichever is latest for that instance); else the
	// zero time. Hosts sleep until then (or until woken).
	NextWork(ctx context.Context, now time.Time) (time.Time, error)
}

// ClaimRequest says who claims, when, for how long, and how much.
type ClaimRequest struct {
	Owner string        // names the claiming process, for tools and logs
	Now   time.Time     // the claimer's clock (see Claims on whose clock decides)
	TTL   time.Duration // how long the lease lasts; at least DuePrecision
	Limit int           // at most this many leases (Claim only); must be positive
}

// Validate reports whether r is usable by Claim: its TTL must pass
// [ValidateTTL] and its Limit [ValidateLimit]. Acquire checks the TTL
// alone. Errors wrap [ErrInvalid].
func (r ClaimRequest) Validate() error {
	if err := ValidateTTL(r.TTL); err != nil {
		return err
	}
	return ValidateLimit(r.Limit)
}

// ValidateTTL reports whether d is usable as a lease's time to live: it
// must be at least [DuePrecision], the precision at which stores keep
// Lease.Expires, so that a new lease is live. Errors wrap [ErrInvalid].
func ValidateTTL(d time.Duration) error {
	if d < DuePrecision {
		return fmt.Errorf("storage: lease TTL %v is less than %v: %w", d, DuePrecision, ErrInvalid)
	}
	return nil
}

// Validate reports whether l can name a lease: its Instance must pass
// [ValidateID]. Errors wrap [ErrInvalid].
func (l Lease) Validate() error {
	if problem := checkID(l.Instance); problem != "" {
		return fmt.Errorf("storage: lease: %s: %w", problem, ErrInvalid)
	}
	return nil
}

// Validate reports whether the effect id of lease l can be given retry
// state r: l must pass [Lease.Validate], id [ValidateID], and a non-zero
// r.NotBefore must lie in the range of a Due. Errors wrap [ErrInvalid].
func (r RetryState) Validate(l Lease, id string) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if err := ValidateID(id); err != nil {
		return err
	}
	if !inDueRange(r.NotBefore) {
		return fmt.Errorf("storage: effect %q: not-before %v outside [%v, %v): %w",
			id, r.NotBefore, minDue, maxDue, ErrInvalid)
	}
	return nil
}

// Lease is a process's claim on one instance's work.
type Lease struct {
	Instance string    // the leased instance
	Owner    string    // the claimer, as in ClaimRequest
	Token    uint64    // the fence token: grows with every lease of the instance
	Expires  time.Time // the lease is live before this time
}

// RetryState is an effect's delivery state after a failed attempt.
type RetryState struct {
	Attempts  uint32    // failed attempts so far
	NotBefore time.Time // do not try again before this time
	LastError string    // why the last attempt failed
}

// Clocked is implemented by adapters that decide time with their own clock
// (a database server's) rather than the caller's now.
type Clocked interface {
	// StoreClock reports whether the store's clock decides readiness and
	// lease expiry.
	StoreClock() bool
}
