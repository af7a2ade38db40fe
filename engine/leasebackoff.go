package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/weftflow/weft/storage"
)

// When the work on a leased instance fails (a store error, a panic in a
// step, a lost position), the process keeps the lease, so that no process
// claims the instance again at once. It keeps it for a backoff that grows
// with the instance's consecutive failures, from leaseBackoffMin, doubling
// up to the lease's time to live: a transient error costs a second, not
// the whole TTL, and an instance that keeps failing is tried about once a
// TTL, by whichever process claims it first.

const leaseBackoffMin = time.Second

// maxLeaseFailures bounds how many instances' failure counts a process
// keeps: an instance that failed here and was then ended elsewhere is
// never worked on here again, so its count would stay.
const maxLeaseFailures = 4096

// leaseFailures counts the consecutive failures of the work on each
// leased instance, in this process.
type leaseFailures struct {
	mu sync.Mutex
	n  map[string]int
}

// failed counts a failure of the work on instance id and returns how long
// to hold its lease, at most ttl.
func (f *leaseFailures) failed(id string, ttl time.Duration) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil || len(f.n) >= maxLeaseFailures {
		f.n = make(map[string]int) // (the others start over: at worst, sooner retries)
	}
	f.n[id]++
	d := leaseBackoffMin
	for i := 1; i < f.n[id] && d < ttl; i++ {
		d *= 2
	}
	return min(d, ttl)
}

// succeeded forgets instance id's failures.
func (f *leaseFailures) succeeded(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.n, id) // (a no-op on the nil map of a process that never failed)
}

// holdFailed keeps the lease l of an instance whose work failed for its
// backoff: it renews l to expire then, which shortens it (a lease lost
// meanwhile is left alone). It does so even as Run stops, so that a
// failure just before the stop does not hold the instance for the TTL.
func (e *Engine) holdFailed(ctx context.Context, l storage.Lease) {
	conf := e.leases()
	d := e.leaseFails.failed(l.Instance, conf.ttl)
	if d >= conf.ttl {
		return // held until it expires
	}
	rctx, stop := context.WithTimeout(context.WithoutCancel(ctx), releaseWithin)
	defer stop()
	if _, err := e.store.Renew(rctx, l, e.clock.Now(), d); err != nil && !errors.Is(err, storage.ErrFenced) {
		e.log.Warn("engine: shortening the lease of a failed instance failed; it is held until it expires", "instance", l.Instance, "err", err)
	}
}
