package storage

import "context"

// AckReleaser is implemented by stores that can acknowledge a leased
// instance's effects and release its lease in one write, so that a host
// whose last effect of an instance finished it (nothing is left to do
// under the lease) makes one call, one round trip to a database server,
// instead of [Claims.AckLeased] and then [Claims.Release]. Hosts test for
// it with a type assertion and fall back to the two calls.
type AckReleaser interface {
	// AckRelease does what AckLeased(ctx, l, ids...) and then Release(ctx,
	// l) do, atomically: the effects go and the lease is released
	// together, or, if l is not the instance's current lease, it fails
	// with [ErrFenced] and changes nothing. With no ids it only releases.
	AckRelease(ctx context.Context, l Lease, ids ...string) error
}

// PendingWithDead is implemented by stores that can tell, with the
// pending effects of a leased instance, whether it has dead letters, so
// that a host about to perform an effect that must wait behind them (a
// teardown, the finishing effect) need not read the dead letters in a
// call of its own when there are none.
type PendingWithDead interface {
	// PendingWithDead returns what Pending(ctx, l, limit) returns, and
	// whether the instance may have dead letters: false means it had none
	// when the effects were read. A store may answer true when unsure.
	// It is fenced as Pending is.
	PendingWithDead(ctx context.Context, l Lease, limit int) (effects []Effect, dead bool, err error)
}
