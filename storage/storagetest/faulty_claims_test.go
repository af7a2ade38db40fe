package storagetest_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
	"github.com/weftflow/weft/storage/storagetest"
)

// The suite must fail stores whose claims are wrong in the ways that let
// two processes do the same work: a lease handed out twice, a fence that
// Ack ignores, tokens that go back after reopening. These tests plant such
// stores over memory.Store and check, in a child process as for the due
// index (faulty_test.go), that the suite fails each in the subtests that
// check that promise.

// The claims methods of handle fail once it is closed, like the others.

func (h *handle) Claim(ctx context.Context, req storage.ClaimRequest) ([]storage.Lease, error) {
	if err := h.check("claim"); err != nil {
		return nil, err
	}
	return h.Store.Claim(ctx, req)
}

func (h *handle) Acquire(ctx context.Context, id string, req storage.ClaimRequest) (storage.Lease, error) {
	if err := h.check("acquire"); err != nil {
		return storage.Lease{}, err
	}
	return h.Store.Acquire(ctx, id, req)
}

func (h *handle) Renew(ctx context.Context, l storage.Lease, now time.Time, ttl time.Duration) (storage.Lease, error) {
	if err := h.check("renew"); err != nil {
		return storage.Lease{}, err
	}
	return h.Store.Renew(ctx, l, now, ttl)
}

func (h *handle) Release(ctx context.Context, ls ...storage.Lease) error {
	if err := h.check("release"); err != nil {
		return err
	}
	return h.Store.Release(ctx, ls...)
}

func (h *handle) Pending(ctx context.Context, l storage.Lease, limit int) ([]storage.Effect, error) {
	if err := h.check("pending"); err != nil {
		return nil, err
	}
	return h.Store.Pending(ctx, l, limit)
}

func (h *handle) AckLeased(ctx context.Context, l storage.Lease, ids ...string) error {
	if err := h.check("ack"); err != nil {
		return err
	}
	return h.Store.AckLeased(ctx, l, ids...)
}

func (h *handle) Retry(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	if err := h.check("retry"); err != nil {
		return err
	}
	return h.Store.Retry(ctx, l, id, r)
}

func (h *handle) DeadLetter(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	if err := h.check("dead letter"); err != nil {
		return err
	}
	return h.Store.DeadLetter(ctx, l, id, r)
}

func (h *handle) DeadLetters(ctx context.Context, after string, limit int) ([]storage.Effect, error) {
	if err := h.check("dead letters"); err != nil {
		return nil, err
	}
	return h.Store.DeadLetters(ctx, after, limit)
}

func (h *handle) Requeue(ctx context.Context, ids ...string) (int, error) {
	if err := h.check("requeue"); err != nil {
		return 0, err
	}
	return h.Store.Requeue(ctx, ids...)
}

func (h *handle) NextWork(ctx context.Context, now time.Time) (time.Time, error) {
	if err := h.check("next work"); err != nil {
		return time.Time{}, err
	}
	return h.Store.NextWork(ctx, now)
}

const envClaimsFault = "WEFT_STORAGETEST_CLAIMS_FAULT"

// A claimFault says how a plantedClaims store breaks its claims.
type claimFault string

const (
	claimsCorrect claimFault = ""
	leaseTwice    claimFault = "lease twice"    // Claim hands out live leases again
	ackUnfenced   claimFault = "ack unfenced"   // AckLeased ignores the lease
	tokensBack    claimFault = "tokens go back" // tokens restart from 1 after a reopen
)

// plantedClaims is a handle whose claims break as its fault says.
type plantedClaims struct {
	*handle
	fault claimFault
	st    *plantState // shared by the stores over the same data
}

// plantState is what the faults remember across stores over one memory.Store.
type plantState struct {
	mu     sync.Mutex
	issued map[string]storage.Lease // leaseTwice: leases handed out and not released
	base   map[string]uint64        // tokensBack: subtracted from the real tokens
	last   map[string]uint64        // tokensBack: the last real token of each instance
}

// out turns a real lease into the one the store hands out.
func (p *plantedClaims) out(l storage.Lease) storage.Lease {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	p.st.last[l.Instance] = max(p.st.last[l.Instance], l.Token)
	if p.fault == leaseTwice {
		p.st.issued[l.Instance] = l
	}
	l.Token -= p.st.base[l.Instance]
	return l
}

// in turns a lease the store handed out into the real one.
func (p *plantedClaims) in(l storage.Lease) storage.Lease {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	l.Token += p.st.base[l.Instance]
	return l
}

func (p *plantedClaims) Claim(ctx context.Context, req storage.ClaimRequest) ([]storage.Lease, error) {
	ls, err := p.handle.Claim(ctx, req)
	if err != nil {
		return nil, err
	}
	var again []storage.Lease
	if p.fault == leaseTwice {
		p.st.mu.Lock()
		for id, l := range p.st.issued {
			if l.Expires.After(req.Now) && !slices.ContainsFunc(ls, func(x storage.Lease) bool { return x.Instance == id }) {
				again = append(again, l)
			}
		}
		p.st.mu.Unlock()
		slices.SortFunc(again, func(a, b storage.Lease) int { return strings.Compare(a.Instance, b.Instance) })
	}
	for i, l := range ls {
		ls[i] = p.out(l)
	}
	for _, l := range again {
		if len(ls) < req.Limit {
			ls = append(ls, l)
		}
	}
	return ls, nil
}

func (p *plantedClaims) Acquire(ctx context.Context, id string, req storage.ClaimRequest) (storage.Lease, error) {
	l, err := p.handle.Acquire(ctx, id, req)
	if err != nil {
		return l, err
	}
	return p.out(l), nil
}

func (p *plantedClaims) Renew(ctx context.Context, l storage.Lease, now time.Time, ttl time.Duration) (storage.Lease, error) {
	r, err := p.handle.Renew(ctx, p.in(l), now, ttl)
	if err != nil {
		return r, err
	}
	return p.out(r), nil
}

func (p *plantedClaims) Release(ctx context.Context, ls ...storage.Lease) error {
	in := make([]storage.Lease, len(ls))
	for i, l := range ls {
		in[i] = p.in(l)
	}
	err := p.handle.Release(ctx, in...)
	if err == nil {
		p.st.mu.Lock()
		for _, l := range ls {
			delete(p.st.issued, l.Instance)
		}
		p.st.mu.Unlock()
	}
	return err
}

func (p *plantedClaims) Pending(ctx context.Context, l storage.Lease, limit int) ([]storage.Effect, error) {
	return p.handle.Pending(ctx, p.in(l), limit)
}

func (p *plantedClaims) AckLeased(ctx context.Context, l storage.Lease, ids ...string) error {
	if p.fault == ackUnfenced {
		return p.handle.Ack(ctx, ids...)
	}
	return p.handle.AckLeased(ctx, p.in(l), ids...)
}

func (p *plantedClaims) Retry(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	return p.handle.Retry(ctx, p.in(l), id, r)
}

func (p *plantedClaims) DeadLetter(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	return p.handle.DeadLetter(ctx, p.in(l), id, r)
}

func (p *plantedClaims) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	if c.Lease != nil {
		l := p.in(*c.Lease)
		c.Lease = &l
	}
	return p.handle.Commit(ctx, c)
}

// reopen closes p and opens a new store over the same data; with
// tokensBack, its tokens start again from 1.
func (p *plantedClaims) reopen() *plantedClaims {
	p.Close()
	if p.fault == tokensBack {
		p.st.mu.Lock()
		for id, last := range p.st.last {
			p.st.base[id] = last
		}
		p.st.mu.Unlock()
	}
	return &plantedClaims{handle: newHandle(p.handle.mem), fault: p.fault, st: p.st}
}

// runClaimsSuite runs the conformance suite on plantedClaims stores with
// fault f, reopening and sharing them.
func runClaimsSuite(t *testing.T, f claimFault) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return &plantedClaims{
			handle: newHandle(memory.New()),
			fault:  f,
			st:     &plantState{issued: map[string]storage.Lease{}, base: map[string]uint64{}, last: map[string]uint64{}},
		}
	}, storagetest.WithReopen(func(t *testing.T, s storage.Store) storage.Store {
		return s.(*plantedClaims).reopen()
	}), storagetest.WithShared(func(t *testing.T, first storage.Store) storage.Store {
		p := first.(*plantedClaims)
		return &plantedClaims{handle: newHandle(p.handle.mem), fault: p.fault, st: p.st}
	}))
}

// TestPlantedClaimsControl runs the same stores without a fault: they pass,
// so that the failures below come from the faults alone.
func TestPlantedClaimsControl(t *testing.T) {
	runClaimsSuite(t, claimsCorrect)
}

// TestClaimsFaultChild runs the suite on a store with a claims fault. It
// does nothing unless TestSuiteFailsBrokenClaims runs it in a child process.
func TestClaimsFaultChild(t *testing.T) {
	f := claimFault(os.Getenv(envClaimsFault))
	if f == claimsCorrect {
		t.Skip("run in a child process by TestSuiteFailsBrokenClaims")
	}
	runClaimsSuite(t, f)
}

// TestSuiteFailsBrokenClaims checks that the suite fails each planted
// claims fault, in at least the subtests that check the broken promise.
func TestSuiteFailsBrokenClaims(t *testing.T) {
	for _, tc := range []struct {
		fault claimFault
		must  []string // subtests that must fail
		says  string   // what some failure message must say
	}{
		// ConcurrentClaims and SharedClaims catch it only when a claim
		// lands while another worker holds the lease: usually, not always.
		{leaseTwice, []string{"ClaimOnlyWork", "ClaimExclusive", "SharedTakeover", "Model"}, "handed out twice"},
		{ackUnfenced, []string{"Fenced", "SharedTakeover", "Model"}, "lease fenced"},
		{tokensBack, []string{"ClaimsAfterReopen", "Model"}, "never go back"},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			t.Parallel()
			got, out := failedInChild(t, "TestClaimsFaultChild", "^TestClaimsFaultChild$", envClaimsFault, string(tc.fault), "-rapid.checks=100")
			wantFailed(t, got, tc.must, anyOther)
			if !bytes.Contains(out, []byte(tc.says)) {
				t.Errorf("no failure says %q:\n%s", tc.says, out)
			}
		})
	}
}
