package planted_test

import (
	"context"
	"strings"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
)

// Bugs in how several hosts share a store: each must be caught by the
// simulator running the engines' own dispatcher (RunDue, ProcessInstance)
// on several hosts.

// forgetfulAcks is an adapter whose AckLeased reports success but keeps
// the last of the effects it was given in the outbox.
type forgetfulAcks struct{ storage.Store }

func (f forgetfulAcks) AckLeased(ctx context.Context, l storage.Lease, ids ...string) error {
	if len(ids) > 0 {
		ids = ids[:len(ids)-1]
	}
	return f.Store.AckLeased(ctx, l, ids...)
}

// Without faults, each effect must be performed exactly once: an effect
// left in the outbox after its acknowledgement is performed again.
func TestAcknowledgementLost(t *testing.T) {
	r := &simulate.Recorder{TestName: t.Name()}
	simulate.Check(r, askWF, simulate.Options[request]{
		NoCrashes: true, // no fault may explain a repeat
		Store:     func(s storage.Store) storage.Store { return forgetfulAcks{s} },
	})
	wantReport(t, r, simulate.InvEffects, "no crash or stalled host")
}

// forgetfulAckRelease is an adapter whose AckRelease (the engine's one
// write when an instance's work under its lease ends) releases the lease
// but keeps the last effect it was given.
type forgetfulAckRelease struct{ storage.Store }

func (f forgetfulAckRelease) AckRelease(ctx context.Context, l storage.Lease, ids ...string) error {
	if len(ids) > 0 {
		ids = ids[:len(ids)-1]
	}
	return f.Store.(storage.AckReleaser).AckRelease(ctx, l, ids...)
}

func TestAckReleaseLosesAnAck(t *testing.T) {
	wantCaught(t, simulate.InvEffects, func(tb *simulate.Recorder) {
		simulate.Check(tb, askWF, simulate.Options[request]{
			Store: func(s storage.Store) storage.Store { return forgetfulAckRelease{s} },
		})
	})
}

// noAcks is an adapter whose AckLeased checks the lease, and then
// acknowledges nothing.
type noAcks struct{ storage.Store }

func (n noAcks) AckLeased(ctx context.Context, l storage.Lease, _ ...string) error {
	return n.Store.AckLeased(ctx, l)
}

func TestAcknowledgementSkipped(t *testing.T) {
	wantCaught(t, simulate.InvEffects, func(tb *simulate.Recorder) {
		simulate.Check(tb, askWF, simulate.Options[request]{
			Store: func(s storage.Store) storage.Store { return noAcks{s} },
		})
	})
}

type bill struct{ Paid int }

// payWF's first effect is an activity's: a host stalled in it commits the
// result after another host took over, under its superseded lease.
var payWF = dsl.MustCompile[bill]("pay", dsl.While("bills", func(s *bill) bool { return s.Paid < 3 },
	dsl.Call("charge", func(ctx context.Context, s bill) (int, error) { return 1, nil },
		func(s *bill, n int) { s.Paid += n }),
))

// unfencedCommits is an adapter that ignores Commit.Lease: a host paused
// past its lease can still commit (here the compare-and-set on the version
// turns it away, so only the fencing check sees it).
type unfencedCommits struct{ storage.Store }

func (u unfencedCommits) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	c.Lease = nil
	return u.Store.Commit(ctx, c)
}

func TestCommitNotFenced(t *testing.T) {
	wantCaught(t, simulate.InvFencing, func(tb *simulate.Recorder) {
		simulate.Check(tb, payWF, simulate.Options[bill]{
			Store: func(s storage.Store) storage.Store { return unfencedCommits{s} },
		})
	})
}

// unfencedAcks is an adapter whose AckLeased ignores the lease.
type unfencedAcks struct{ storage.Store }

func (u unfencedAcks) AckLeased(ctx context.Context, _ storage.Lease, ids ...string) error {
	return u.Store.Ack(ctx, ids...)
}

func TestAcknowledgementNotFenced(t *testing.T) {
	wantCaught(t, simulate.InvFencing, func(tb *simulate.Recorder) {
		simulate.Check(tb, askWF, simulate.Options[request]{
			Store: func(s storage.Store) storage.Store { return unfencedAcks{s} },
		})
	})
}

// oneToken is an adapter whose leases all carry fence token 1, so that no
// write can tell a stale lease from the current one.
type oneToken struct{ storage.Store }

func (o oneToken) Claim(ctx context.Context, req storage.ClaimRequest) ([]storage.Lease, error) {
	ls, err := o.Store.Claim(ctx, req)
	for i := range ls {
		ls[i].Token = 1
	}
	return ls, err
}

func (o oneToken) Acquire(ctx context.Context, id string, req storage.ClaimRequest) (storage.Lease, error) {
	l, err := o.Store.Acquire(ctx, id, req)
	l.Token = 1
	return l, err
}

func TestFenceTokensDoNotGrow(t *testing.T) {
	wantCaught(t, simulate.InvFencing, func(tb *simulate.Recorder) {
		simulate.Check(tb, askWF, simulate.Options[request]{
			Store: func(s storage.Store) storage.Store { return oneToken{s} },
		})
	})
}

// hiddenTeardowns is an adapter whose Pending leaves out teardown
// effects, so that the engine performs an instance's end before them.
type hiddenTeardowns struct{ storage.Store }

func (h hiddenTeardowns) Pending(ctx context.Context, l storage.Lease, limit int) ([]storage.Effect, error) {
	effects, err := h.Store.Pending(ctx, l, limit)
	out := effects[:0]
	for _, se := range effects {
		if oe, err := outbox.Decode(se); err != nil || oe.Kind != interp.EffectTeardown {
			out = append(out, se)
		}
	}
	return out, err
}

func TestEndBeforeTeardown(t *testing.T) {
	wantCaught(t, simulate.InvSetupTeardown, func(tb *simulate.Recorder) {
		simulate.Check(tb, askWF, simulate.Options[request]{
			Store: func(s storage.Store) storage.Store { return hiddenTeardowns{s} },
		})
	})
}

// wantReport asserts that r recorded a failure of invariant inv whose
// report contains detail.
func wantReport(t *testing.T, r *simulate.Recorder, inv, detail string) {
	t.Helper()
	if !r.Failed() {
		t.Fatalf("the simulator missed the planted bug (want %q to fire)", inv)
	}
	msg := r.Report()
	if !strings.Contains(msg, "invariant broken: "+inv) || !strings.Contains(msg, detail) {
		t.Fatalf("the simulator reported the wrong invariant or detail; want %q with %q, got:\n%s", inv, detail, msg)
	}
	t.Logf("caught, as expected:\n%s", firstLines(msg, 12))
}
