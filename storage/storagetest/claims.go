package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
)

// Claims tests. Those that set the time skip stores whose own clock
// decides (storage.Clocked); the others use times far enough in the past
// (past) or future (farFuture) to mean the same on any clock.

var (
	// past is before any clock a test runs on.
	past = time.Date(2001, time.February, 3, 4, 5, 6, 0, time.UTC)
	// lease1 is a lease no store issued.
	lease1 = storage.Lease{Instance: "a", Owner: "p", Token: 1}
)

// claimsOf returns s for a claims test; every store implements the claims
// (storage.Store embeds storage.Claims).
func claimsOf(t *testing.T, s storage.Store) storage.Store {
	t.Helper()
	return s
}

// storeClock reports whether s decides time with its own clock.
func storeClock(s storage.Store) bool {
	c, ok := s.(storage.Clocked)
	return ok && c.StoreClock()
}

// needCallerClock skips t if s decides time with its own clock.
func needCallerClock(t *testing.T, s storage.Store) {
	t.Helper()
	if storeClock(s) {
		t.Skip("the store decides time with its own clock (storage.Clocked); this test sets the time")
	}
}

// now is the time claims tests pass when they do not control the time.
func now() time.Time { return time.Now() }

func claimReq(owner string, now time.Time, ttl time.Duration, limit int) storage.ClaimRequest {
	return storage.ClaimRequest{Owner: owner, Now: now, TTL: ttl, Limit: limit}
}

func mustClaim(t tb, s storage.Store, req storage.ClaimRequest) []storage.Lease {
	t.Helper()
	got, err := s.Claim(context.Background(), req)
	if err != nil {
		t.Fatalf("Claim(%+v): %v", req, err)
	}
	if len(got) > req.Limit {
		t.Fatalf("Claim(limit %d) returned %d leases", req.Limit, len(got))
	}
	for _, l := range got {
		if l.Owner != req.Owner || l.Token == 0 {
			t.Fatalf("Claim(%+v) returned lease %+v, not a new lease of owner %q with a positive token: a lease handed out twice?", req, l, req.Owner)
		}
		if !storeClock(s) && !l.Expires.Equal(storage.NormalizeDue(req.Now.Add(req.TTL))) {
			t.Fatalf("Claim at %v for %v: lease expires at %v, want %v", req.Now, req.TTL, l.Expires, storage.NormalizeDue(req.Now.Add(req.TTL)))
		}
	}
	return got
}

func mustAcquire(t tb, s storage.Store, id string, req storage.ClaimRequest) storage.Lease {
	t.Helper()
	l, err := s.Acquire(context.Background(), id, req)
	if err != nil {
		t.Fatalf("Acquire(%q): %v", id, err)
	}
	if l.Instance != id || l.Token == 0 || l.Owner != req.Owner {
		t.Fatalf("Acquire(%q, owner %q) = %+v", id, req.Owner, l)
	}
	return l
}

func mustPending(t tb, s storage.Store, l storage.Lease) []storage.Effect {
	t.Helper()
	got, err := s.Pending(context.Background(), l, all)
	if err != nil {
		t.Fatalf("Pending(%+v): %v", l, err)
	}
	checkSeq(t, "Pending", got)
	return got
}

func mustDeadLetters(t tb, s storage.Store, after string, limit int) []storage.Effect {
	t.Helper()
	got, err := s.DeadLetters(context.Background(), after, limit)
	if err != nil {
		t.Fatalf("DeadLetters(%q, %d): %v", after, limit, err)
	}
	return got
}

func mustNextWork(t tb, s storage.Store, now time.Time) time.Time {
	t.Helper()
	got, err := s.NextWork(context.Background(), now)
	if err != nil {
		t.Fatalf("NextWork(%v): %v", now, err)
	}
	return got
}

// leased returns the instances of leases.
func leased(ls []storage.Lease) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Instance
	}
	return out
}

// wantLeased fails t unless ls lease exactly the instances want, in order.
func wantLeased(t tb, what string, ls []storage.Lease, want ...string) {
	t.Helper()
	if d := diff(want, leased(ls)); d != "" {
		t.Fatalf("%s leased the wrong instances (-want +got):\n%s", what, d)
	}
}

// testClaimOnlyWork: Claim leases due instances and instances with effects,
// never others.
func testClaimOnlyWork(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	mustCreate(t, s, storage.Instance{ID: "due", Due: past})
	mustCreate(t, s, storage.Instance{ID: "later", Due: farFuture})
	mustCreate(t, s, storage.Instance{ID: "idle"})
	mustCreate(t, s, storage.Instance{ID: "effects"}, effects("effects", "effects/1")...)
	mustCreate(t, s, storage.Instance{ID: "acked"}, effects("acked", "acked/1")...)
	mustAck(t, s, "acked/1")

	got := mustClaim(t, s, claimReq("p1", now(), time.Hour, 10))
	// An effect with no NotBefore is the earliest work of all.
	wantLeased(t, "Claim", got, "effects", "due")
	if got := mustClaim(t, s, claimReq("p2", now(), time.Hour, 10)); len(got) != 0 {
		t.Fatalf("a second Claim leased %v, which hold live leases", leased(got))
	}
	// Releasing makes the work claimable again; acknowledging the effects
	// and moving Due to the future leaves no work.
	for _, l := range got {
		if err := s.Release(context.Background(), l); err != nil {
			t.Fatalf("Release(%+v): %v", l, err)
		}
	}
	wantLeased(t, "Claim after Release", mustClaim(t, s, claimReq("p3", now(), time.Hour, 10)), "effects", "due")
	mustAck(t, s, "effects/1")
	mustCommit(t, s, 1, storage.Instance{ID: "due", Due: farFuture})
	if got := mustAcquire(t, s, "idle", claimReq("p4", now(), time.Minute, 0)); got.Instance != "idle" {
		t.Fatalf("Acquire(idle) = %+v", got)
	}
	needCallerClock(t, s)
	if got := mustClaim(t, s, claimReq("p5", at(10*time.Hour), time.Hour, 10)); len(got) != 0 {
		t.Fatalf("Claim leased %v, which have no work", leased(got))
	}
}

// testClaimOrderAndLimit: earliest work first, ties by ID, at most Limit.
func testClaimOrderAndLimit(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	for _, id := range []string{"e", "c", "a", "d", "b"} {
		mustCreate(t, s, storage.Instance{ID: id}, effects(id, id+"/1")...)
	}
	mustCreate(t, s, storage.Instance{ID: "x2", Due: past.Add(2 * time.Second)})
	mustCreate(t, s, storage.Instance{ID: "x1", Due: past.Add(time.Second)})
	want := []string{"a", "b", "c", "d", "e", "x1", "x2"}
	var got []string
	for len(got) < len(want) {
		ls := mustClaim(t, s, claimReq("p", now(), time.Hour, 2))
		if n := min(2, len(want)-len(got)); len(ls) != n {
			t.Fatalf("Claim(limit 2) = %v after %v, want %d leases", leased(ls), got, n)
		}
		got = append(got, leased(ls)...)
	}
	if ls := mustClaim(t, s, claimReq("p", now(), time.Hour, 2)); len(ls) != 0 {
		t.Fatalf("Claim after every instance was leased = %v", leased(ls))
	}
	if d := diff(want, got); d != "" {
		t.Fatalf("claim order: effects with no NotBefore first, then by due time (-want +got):\n%s", d)
	}
}

// testClaimExclusive: one live lease per instance, through Claim and Acquire.
func testClaimExclusive(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	ctx := context.Background()
	mustCreate(t, s, storage.Instance{ID: "a"}, effects("a", "a/1")...)
	mustCreate(t, s, storage.Instance{ID: "b"})
	l := mustClaim(t, s, claimReq("p1", now(), time.Hour, 1))
	wantLeased(t, "Claim", l, "a")
	_, err := s.Acquire(ctx, "a", claimReq("p2", now(), time.Hour, 0))
	wantErr(t, "Acquire of a leased instance", err, storage.ErrLeased, `"a"`)
	_, err = s.Acquire(ctx, "missing", claimReq("p2", now(), time.Hour, 0))
	wantErr(t, "Acquire of a missing instance", err, storage.ErrNotFound, `"missing"`)
	b := mustAcquire(t, s, "b", claimReq("p2", now(), time.Hour, 0))
	_, err = s.Acquire(ctx, "b", claimReq("p1", now(), time.Hour, 0))
	wantErr(t, "second Acquire", err, storage.ErrLeased, `"b"`)
	mustCommit(t, s, 1, storage.Instance{ID: "b", Due: past})
	if got := mustClaim(t, s, claimReq("p3", now(), time.Hour, 5)); len(got) != 0 {
		t.Fatalf("Claim leased %v, which hold live leases", leased(got))
	}
	if got := mustPending(t, s, l[0]); len(got) != 1 || got[0].ID != "a/1" {
		t.Fatalf("Pending(a) = %v, want [a/1]", outboxIDs(got))
	}
	if got := mustPending(t, s, b); len(got) != 0 {
		t.Fatalf("Pending(b) = %v, want none", outboxIDs(got))
	}
}

// testLeaseExpiry: an expired lease is taken over with a higher token, and
// renewing keeps the token.
func testLeaseExpiry(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	needCallerClock(t, s)
	ctx := context.Background()
	mustCreate(t, s, storage.Instance{ID: "a"}, effects("a", "a/1")...)
	first := mustClaim(t, s, claimReq("p1", at(0), time.Minute, 1))[0]

	// Renew just before expiry extends the lease and keeps the token.
	renewed, err := s.Renew(ctx, first, at(time.Minute-time.Microsecond), time.Minute)
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	if renewed.Token != first.Token || !renewed.Expires.Equal(at(2*time.Minute-time.Microsecond)) || renewed.Instance != "a" {
		t.Fatalf("Renew = %+v, want token %d expiring at %v", renewed, first.Token, at(2*time.Minute-time.Microsecond))
	}
	if got := mustClaim(t, s, claimReq("p2", at(time.Minute), time.Minute, 1)); len(got) != 0 {
		t.Fatalf("Claim took over a renewed lease: %+v", got)
	}
	if !mustNextWork(t, s, at(time.Minute)).Equal(renewed.Expires) {
		t.Fatalf("NextWork while leased = %v, want the expiry %v", mustNextWork(t, s, at(time.Minute)), renewed.Expires)
	}
	// At its expiry the lease is dead: Renew fails, Claim takes over.
	_, err = s.Renew(ctx, renewed, renewed.Expires, time.Minute)
	wantErr(t, "Renew at expiry", err, storage.ErrFenced, `"a"`)
	second := mustClaim(t, s, claimReq("p2", renewed.Expires, time.Minute, 1))
	wantLeased(t, "Claim at expiry", second, "a")
	if second[0].Token <= first.Token {
		t.Fatalf("takeover token %d, want more than %d", second[0].Token, first.Token)
	}
	// Acquire takes over an expired lease too.
	third := mustAcquire(t, s, "a", claimReq("p3", second[0].Expires.Add(time.Hour), time.Minute, 0))
	if third.Token <= second[0].Token {
		t.Fatalf("Acquire after expiry: token %d, want more than %d", third.Token, second[0].Token)
	}
	// An expired lease that nobody took over is still current: it can be
	// released, not renewed.
	_, err = s.Renew(ctx, third, third.Expires.Add(time.Second), time.Minute)
	wantErr(t, "Renew after expiry", err, storage.ErrFenced, `"a"`)
	if err := s.Release(ctx, third); err != nil {
		t.Fatalf("Release of an expired, current lease: %v", err)
	}
}

// testTokensGrow: tokens of one instance grow across releases, expiries and
// takeovers, whatever the owner.
func testTokensGrow(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	ctx := context.Background()
	mustCreate(t, s, storage.Instance{ID: "a"}, effects("a", "a/1")...)
	mustCreate(t, s, storage.Instance{ID: "b"}, effects("b", "b/1")...)
	last := map[string]uint64{}
	check := func(l storage.Lease) {
		t.Helper()
		if l.Token <= last[l.Instance] {
			t.Fatalf("lease of %q has token %d after %d", l.Instance, l.Token, last[l.Instance])
		}
		last[l.Instance] = l.Token
	}
	for i := range 10 {
		var ls []storage.Lease
		if i%2 == 0 {
			ls = mustClaim(t, s, claimReq(fmt.Sprint("p", i), now(), time.Hour, 5))
		} else {
			ls = []storage.Lease{mustAcquire(t, s, "a", claimReq("q", now(), time.Hour, 0)), mustAcquire(t, s, "b", claimReq("q", now(), time.Hour, 0))}
		}
		wantLeased(t, "round", ls, "a", "b")
		for _, l := range ls {
			check(l)
			if err := s.Release(ctx, l); err != nil {
				t.Fatalf("Release: %v", err)
			}
		}
	}
	if storeClock(s) {
		return
	}
	when := at(0)
	for range 5 { // let each lease expire
		for _, l := range mustClaim(t, s, claimReq("p", when, time.Minute, 5)) {
			check(l)
		}
		when = when.Add(time.Minute)
	}
}

// stale returns a lease of id that is no longer current: it claims id,
// releases it and acquires it again. It returns the stale and the current
// lease.
func stale(t *testing.T, s storage.Store, id string) (old, cur storage.Lease) {
	t.Helper()
	old = mustAcquire(t, s, id, claimReq("zombie", now(), time.Hour, 0))
	if err := s.Release(context.Background(), old); err != nil {
		t.Fatalf("Release: %v", err)
	}
	cur = mustAcquire(t, s, id, claimReq("successor", now(), time.Hour, 0))
	if cur.Token <= old.Token {
		t.Fatalf("token %d after %d", cur.Token, old.Token)
	}
	return old, cur
}

// testFenced: every fenced write with a stale lease fails with ErrFenced
// and writes nothing, and a lease of another instance fences too.
func testFenced(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	ctx := context.Background()
	mustCreate(t, s, storage.Instance{ID: "a", Data: []byte("a1")}, effects("a", "a/1", "a/2")...)
	mustCreate(t, s, storage.Instance{ID: "b"}, effects("b", "b/1")...)
	old, cur := stale(t, s, "a")
	forged := cur
	forged.Token++
	retry := storage.RetryState{Attempts: 3, NotBefore: farFuture, LastError: "late"}
	before := snapshot(t, s)
	for _, l := range []storage.Lease{old, forged} {
		for _, c := range []opCase{
			{"Renew", func(ctx context.Context) error { _, err := s.Renew(ctx, l, now(), time.Hour); return err }},
			{"Pending", func(ctx context.Context) error { _, err := s.Pending(ctx, l, 10); return err }},
			{"AckLeased", func(ctx context.Context) error { return s.AckLeased(ctx, l, "a/1", "a/2") }},
			{"Retry", func(ctx context.Context) error { return s.Retry(ctx, l, "a/1", retry) }},
			{"DeadLetter", func(ctx context.Context) error { return s.DeadLetter(ctx, l, "a/2", retry) }},
			{"Commit", func(ctx context.Context) error {
				_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Data: []byte("late")}, Expect: 1,
					Effects: effects("a", "a/late"), Lease: &l})
				return err
			}},
			{"Release", func(ctx context.Context) error { return s.Release(ctx, l) }},
		} {
			what := fmt.Sprintf("%s with token %d (current %d)", c.name, l.Token, cur.Token)
			wantErr(t, what, c.op(ctx), storage.ErrFenced, `"a"`)
			unchanged(t, s, before, what)
		}
	}
	// The successor's lease still works, and is still exclusive.
	if got := mustPending(t, s, cur); len(got) != 2 {
		t.Fatalf("Pending(current) = %v, want a/1 and a/2", outboxIDs(got))
	}
	// A lease fences only its own instance: AckLeased ignores other
	// instances' effects, Retry does not find them.
	if err := s.AckLeased(ctx, cur, "b/1"); err != nil {
		t.Fatalf("AckLeased of another instance's effect: %v", err)
	}
	unchanged(t, s, before, "AckLeased of another instance's effect")
	wantErr(t, "Retry of another instance's effect", s.Retry(ctx, cur, "b/1", retry), storage.ErrNotFound, "b/1")
	wantErr(t, "Retry of an unknown effect", s.Retry(ctx, cur, "nope", retry), storage.ErrNotFound, "nope")
	wantErr(t, "DeadLetter of an unknown effect", s.DeadLetter(ctx, cur, "nope", retry), storage.ErrNotFound, "nope")
	unchanged(t, s, before, "writes to effects the lease does not cover")
	if err := s.AckLeased(ctx, cur, "a/1", "a/1", "unknown"); err != nil {
		t.Fatalf("AckLeased: %v", err)
	}
	if got := outboxIDs(mustOutbox(t, s, all)); !slices.Equal(got, []string{"a/2", "b/1"}) {
		t.Fatalf("outbox after AckLeased(a/1) = %v", got)
	}
	mustCommitLeased(t, s, 1, cur, storage.Instance{ID: "a", Data: []byte("a2")})
	if err := s.Release(ctx, cur); err != nil {
		t.Fatalf("Release: %v", err)
	}
	wantErr(t, "second Release", s.Release(ctx, cur), storage.ErrFenced, `"a"`)
	_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 2, Lease: &cur})
	wantErr(t, "Commit with a released lease", err, storage.ErrFenced, `"a"`)
}

func mustCommitLeased(t tb, s storage.Store, expect uint64, l storage.Lease, inst storage.Instance, effs ...storage.Effect) {
	t.Helper()
	v, err := s.Commit(context.Background(), storage.Commit{Instance: inst, Expect: expect, Effects: effs, Lease: &l})
	if err != nil {
		t.Fatalf("Commit(%q, expect %d, lease %d): %v", inst.ID, expect, l.Token, err)
	}
	if v != expect+1 {
		t.Fatalf("Commit = version %d, want %d", v, expect+1)
	}
}

// testFencedCommitErrors: ErrNotFound, then ErrFenced, then ErrConflict,
// then ErrExists.
func testFencedCommitErrors(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	ctx := context.Background()
	mustCreate(t, s, storage.Instance{ID: "a"}, effects("a", "a/1")...)
	old, cur := stale(t, s, "a")
	missing := storage.Lease{Instance: "missing", Token: 1}
	before := snapshot(t, s)
	for _, c := range []struct {
		name   string
		commit storage.Commit
		want   error
	}{
		{"missing instance, unknown lease", storage.Commit{Instance: storage.Instance{ID: "missing"}, Expect: 7,
			Effects: effects("missing", "a/1"), Lease: &missing}, storage.ErrNotFound},
		{"stale lease, wrong version, taken effect ID", storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 7,
			Effects: effects("a", "a/1"), Lease: &old}, storage.ErrFenced},
		{"current lease, wrong version, taken effect ID", storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 7,
			Effects: effects("a", "a/1"), Lease: &cur}, storage.ErrConflict},
		{"current lease, taken effect ID", storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 1,
			Effects: effects("a", "a/1"), Lease: &cur}, storage.ErrExists},
		{"lease of another instance", storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 1, Lease: &missing}, storage.ErrInvalid},
	} {
		_, err := s.Commit(ctx, c.commit)
		wantErr(t, c.name, err, c.want, "")
		unchanged(t, s, before, c.name)
	}
}

// testRetryState: Retry's state round-trips through Pending and Outbox.
func testRetryState(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	ctx := context.Background()
	mustCreate(t, s, storage.Instance{ID: "a"}, effects("a", "a/1", "a/2")...)
	l := mustAcquire(t, s, "a", claimReq("p", now(), time.Hour, 0))
	nb := farFuture.Add(1500 * time.Nanosecond) // kept at microsecond precision
	r := storage.RetryState{Attempts: 7, NotBefore: nb, LastError: "connection refused\x00é"}
	if err := s.Retry(ctx, l, "a/1", r); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	want := effects("a", "a/1", "a/2")
	want[0].Attempts, want[0].NotBefore, want[0].LastError = 7, storage.NormalizeDue(nb), r.LastError
	if d := diff(want, mustPending(t, s, l)); d != "" {
		t.Fatalf("Pending after Retry (-want +got):\n%s", d)
	}
	if d := diff(want, mustOutbox(t, s, all)); d != "" {
		t.Fatalf("Outbox after Retry: it lists effects whatever their NotBefore (-want +got):\n%s", d)
	}
	// A later Retry replaces the state.
	r = storage.RetryState{Attempts: 8, LastError: ""}
	if err := s.Retry(ctx, l, "a/1", r); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	want[0].Attempts, want[0].NotBefore, want[0].LastError = 8, time.Time{}, ""
	if d := diff(want, mustPending(t, s, l)); d != "" {
		t.Fatalf("Pending after a second Retry (-want +got):\n%s", d)
	}
	mustAck(t, s, "a/1")
	if d := diff(want[1:], mustPending(t, s, l)); d != "" {
		t.Fatalf("Pending after Ack (-want +got):\n%s", d)
	}
	got, err := s.Pending(ctx, l, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("Pending(limit 1) = %v, %v", outboxIDs(got), err)
	}
}

// testNotBefore: an effect is work only from its NotBefore on, whether the
// writer or Retry set it.
func testNotBefore(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	needCallerClock(t, s)
	ctx := context.Background()
	e := effects("a", "a/1")
	e[0].NotBefore = at(time.Minute)
	mustCreate(t, s, storage.Instance{ID: "a"}, e...)
	if got := mustClaim(t, s, claimReq("p", at(time.Minute-time.Microsecond), time.Hour, 5)); len(got) != 0 {
		t.Fatalf("Claim before NotBefore leased %v", leased(got))
	}
	if got := mustNextWork(t, s, at(0)); !got.Equal(at(time.Minute)) {
		t.Fatalf("NextWork = %v, want the NotBefore %v", got, at(time.Minute))
	}
	if got := outboxIDs(mustOutbox(t, s, all)); len(got) != 1 {
		t.Fatalf("Outbox = %v: it must list effects that are not ready", got)
	}
	l := mustClaim(t, s, claimReq("p", at(time.Minute), time.Hour, 5))
	wantLeased(t, "Claim at NotBefore", l, "a")
	if err := s.Retry(ctx, l[0], "a/1", storage.RetryState{Attempts: 1, NotBefore: at(time.Hour)}); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if err := s.Release(ctx, l[0]); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got := mustClaim(t, s, claimReq("p", at(time.Hour-time.Microsecond), time.Minute, 5)); len(got) != 0 {
		t.Fatalf("Claim before the retry's NotBefore leased %v", leased(got))
	}
	// A ready effect of another instance does not make a ready.
	mustCreate(t, s, storage.Instance{ID: "b"}, effects("b", "b/1")...)
	wantLeased(t, "Claim", mustClaim(t, s, claimReq("p", at(2*time.Minute), time.Minute, 5)), "b")
	mustAck(t, s, "b/1")
	wantLeased(t, "Claim at the retry's NotBefore", mustClaim(t, s, claimReq("p", at(time.Hour), time.Minute, 5)), "a")
}

// testReleaseBatch: Release of several leases releases the current ones
// and names the stale ones in an ErrFenced; none at all does nothing.
func testReleaseBatch(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		mustCreate(t, s, storage.Instance{ID: id}, effects(id, id+"/1")...)
	}
	l := mustClaim(t, s, claimReq("p", at(0), time.Minute, 3))
	wantLeased(t, "Claim", l, "a", "b", "c")
	if err := s.Release(ctx); err != nil {
		t.Fatalf("Release of no leases: %v", err)
	}
	if err := s.Release(ctx, l[1]); err != nil { // b, so that it is stale below
		t.Fatalf("Release(b): %v", err)
	}
	wantErr(t, "Release of a, a stale b, and c", s.Release(ctx, l...), storage.ErrFenced, `"b"`)
	// a and c were released all the same: another claimer gets all three.
	wantLeased(t, "Claim after the batch release", mustClaim(t, s, claimReq("q", at(time.Second), time.Minute, 5)), "a", "b", "c")
	if err := s.Release(ctx, storage.Lease{Instance: "a"}, storage.Lease{}); !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("Release with an invalid lease = %v, want ErrInvalid", err)
	}
}

// testDeadLetters: DeadLetter, DeadLetters, Requeue.
func testDeadLetters(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	ctx := context.Background()
	mustCreate(t, s, storage.Instance{ID: "a"}, effects("a", "a/1", "a/2", "a/3")...)
	l := mustAcquire(t, s, "a", claimReq("p", now(), time.Hour, 0))
	r := storage.RetryState{Attempts: 5, NotBefore: farFuture, LastError: "gave up"}
	for _, id := range []string{"a/3", "a/1"} {
		if err := s.DeadLetter(ctx, l, id, r); err != nil {
			t.Fatalf("DeadLetter(%s): %v", id, err)
		}
	}
	dead := effects("a", "a/1", "a/3")
	for i := range dead {
		dead[i].Attempts, dead[i].NotBefore, dead[i].LastError = 5, farFuture, "gave up"
	}
	if d := diff(dead, mustDeadLetters(t, s, "", all)); d != "" {
		t.Fatalf("DeadLetters (-want +got):\n%s", d)
	}
	if d := diff(dead[1:], mustDeadLetters(t, s, "a/1", all)); d != "" {
		t.Fatalf("DeadLetters after a/1 (-want +got):\n%s", d)
	}
	if d := diff(dead[:1], mustDeadLetters(t, s, "", 1)); d != "" {
		t.Fatalf("DeadLetters(limit 1) (-want +got):\n%s", d)
	}
	if got := outboxIDs(mustOutbox(t, s, all)); !slices.Equal(got, []string{"a/2"}) {
		t.Fatalf("Outbox = %v: it must leave out dead letters", got)
	}
	if got := outboxIDs(mustPending(t, s, l)); !slices.Equal(got, []string{"a/2"}) {
		t.Fatalf("Pending = %v: it must leave out dead letters", got)
	}
	wantErr(t, "DeadLetter of a dead letter", s.DeadLetter(ctx, l, "a/1", r), storage.ErrNotFound, "a/1")
	wantErr(t, "Retry of a dead letter", s.Retry(ctx, l, "a/1", r), storage.ErrNotFound, "a/1")
	before := snapshot(t, s)
	mustAck(t, s, "a/1")
	if err := s.AckLeased(ctx, l, "a/3"); err != nil {
		t.Fatalf("AckLeased: %v", err)
	}
	unchanged(t, s, before, "acknowledging dead letters")
	_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 1, Effects: effects("a", "a/1")})
	wantErr(t, "Commit of a dead-lettered effect ID", err, storage.ErrExists, "a/1")
	unchanged(t, s, before, "a Commit of a dead-lettered effect ID")
	mustAck(t, s, "a/2")

	// Only a's dead letters hold it now: no work.
	if err := s.Release(ctx, l); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got := mustClaim(t, s, claimReq("p", now(), time.Hour, 5)); len(got) != 0 {
		t.Fatalf("Claim leased %v, whose only effects are dead letters", leased(got))
	}
	n, err := s.Requeue(ctx, "a/3", "unknown", "a/3")
	if err != nil || n != 1 {
		t.Fatalf("Requeue = %d, %v, want 1", n, err)
	}
	wantAgain := dead[1]
	wantAgain.Attempts, wantAgain.NotBefore = 0, time.Time{}
	out := mustOutbox(t, s, all)
	if d := diff([]storage.Effect{wantAgain}, out); d != "" {
		t.Fatalf("Outbox after Requeue (-want +got):\n%s", d)
	}
	if d := diff(dead[:1], mustDeadLetters(t, s, "", all)); d != "" {
		t.Fatalf("DeadLetters after Requeue (-want +got):\n%s", d)
	}
	wantLeased(t, "Claim after Requeue", mustClaim(t, s, claimReq("p", now(), time.Hour, 5)), "a")
	// A requeued effect goes to the end of the outbox.
	mustCommit(t, s, 1, storage.Instance{ID: "a"}, effects("a", "a/4")...)
	if n, err := s.Requeue(ctx, "a/1"); err != nil || n != 1 {
		t.Fatalf("Requeue(a/1) = %d, %v", n, err)
	}
	if got := outboxIDs(mustOutbox(t, s, all)); !slices.Equal(got, []string{"a/3", "a/4", "a/1"}) {
		t.Fatalf("Outbox after requeueing a/1 = %v, want [a/3 a/4 a/1]", got)
	}
}

// testNextWork: when Claim will next find work.
func testNextWork(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	needCallerClock(t, s)
	ctx := context.Background()
	if got := mustNextWork(t, s, at(0)); !got.IsZero() {
		t.Fatalf("NextWork of an empty store = %v, want the zero time", got)
	}
	mustCreate(t, s, storage.Instance{ID: "later", Due: at(time.Hour)})
	mustCreate(t, s, storage.Instance{ID: "idle"})
	if got := mustNextWork(t, s, at(0)); !got.Equal(at(time.Hour)) {
		t.Fatalf("NextWork = %v, want the due time %v", got, at(time.Hour))
	}
	if got := mustNextWork(t, s, at(2*time.Hour)); !got.Equal(at(2 * time.Hour)) {
		t.Fatalf("NextWork past the due time = %v, want now", got)
	}
	e := effects("soon", "soon/1")
	e[0].NotBefore = at(time.Minute)
	mustCreate(t, s, storage.Instance{ID: "soon"}, e...)
	if got := mustNextWork(t, s, at(0)); !got.Equal(at(time.Minute)) {
		t.Fatalf("NextWork = %v, want the NotBefore %v", got, at(time.Minute))
	}
	// Work of a leased instance counts from the lease's expiry.
	l := mustAcquire(t, s, "soon", claimReq("p", at(0), 30*time.Minute, 0))
	if got := mustNextWork(t, s, at(0)); !got.Equal(at(30 * time.Minute)) {
		t.Fatalf("NextWork with the effect's instance leased = %v, want the expiry %v", got, at(30*time.Minute))
	}
	if err := s.Release(ctx, l); err != nil {
		t.Fatalf("Release: %v", err)
	}
	mustCreate(t, s, storage.Instance{ID: "now"}, effects("now", "now/1")...)
	if got := mustNextWork(t, s, at(0)); !got.Equal(at(0)) {
		t.Fatalf("NextWork with a ready effect = %v, want now", got)
	}
	// A lease on an instance with no work does not count.
	mustAcquire(t, s, "idle", claimReq("p", at(0), time.Second, 0))
	mustAck(t, s, "now/1")
	if got := mustNextWork(t, s, at(0)); !got.Equal(at(time.Minute)) {
		t.Fatalf("NextWork = %v, want %v", got, at(time.Minute))
	}
}

// testClaimsInvalid: bad requests fail with ErrInvalid and change nothing.
func testClaimsInvalid(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	mustCreate(t, s, storage.Instance{ID: "a"}, effects("a", "a/1")...)
	l := mustAcquire(t, s, "a", claimReq("p", now(), time.Hour, 0))
	before := snapshot(t, s)
	ok := storage.RetryState{Attempts: 1}
	bad := storage.Lease{Instance: "", Token: l.Token}
	long := storage.Lease{Instance: string(make([]byte, storage.MaxIDLen+1)), Token: 1}
	for _, c := range []opCase{
		{"Claim with TTL 0", func(ctx context.Context) error { _, err := s.Claim(ctx, claimReq("p", now(), 0, 1)); return err }},
		{"Claim with a negative TTL", func(ctx context.Context) error {
			_, err := s.Claim(ctx, claimReq("p", now(), -time.Second, 1))
			return err
		}},
		{"Claim with TTL under a microsecond", func(ctx context.Context) error {
			_, err := s.Claim(ctx, claimReq("p", now(), time.Nanosecond, 1))
			return err
		}},
		{"Claim with limit 0", func(ctx context.Context) error {
			_, err := s.Claim(ctx, claimReq("p", now(), time.Hour, 0))
			return err
		}},
		{"Claim with limit -1", func(ctx context.Context) error {
			_, err := s.Claim(ctx, claimReq("p", now(), time.Hour, -1))
			return err
		}},
		{"Acquire with TTL 0", func(ctx context.Context) error { _, err := s.Acquire(ctx, "a", claimReq("p", now(), 0, 1)); return err }},
		{"Acquire of an empty ID", func(ctx context.Context) error {
			_, err := s.Acquire(ctx, "", claimReq("p", now(), time.Hour, 1))
			return err
		}},
		{"Renew with TTL 0", func(ctx context.Context) error { _, err := s.Renew(ctx, l, now(), 0); return err }},
		{"Renew of an empty instance", func(ctx context.Context) error { _, err := s.Renew(ctx, bad, now(), time.Hour); return err }},
		{"Release of a too long instance", func(ctx context.Context) error { return s.Release(ctx, long) }},
		{"Pending with limit 0", func(ctx context.Context) error { _, err := s.Pending(ctx, l, 0); return err }},
		{"AckLeased of an empty instance", func(ctx context.Context) error { return s.AckLeased(ctx, bad, "a/1") }},
		{"Retry of an empty effect ID", func(ctx context.Context) error { return s.Retry(ctx, l, "", ok) }},
		{"Retry before the epoch", func(ctx context.Context) error {
			return s.Retry(ctx, l, "a/1", storage.RetryState{NotBefore: time.Unix(-1, 0)})
		}},
		{"DeadLetter after the year 9999", func(ctx context.Context) error {
			return s.DeadLetter(ctx, l, "a/1", storage.RetryState{NotBefore: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
		}},
		{"DeadLetters with limit 0", func(ctx context.Context) error { _, err := s.DeadLetters(ctx, "", 0); return err }},
		{"Create with NotBefore before the epoch", func(ctx context.Context) error {
			e := effects("new", "new/1")
			e[0].NotBefore = time.Unix(-1, 0)
			_, err := s.Create(ctx, storage.Instance{ID: "new"}, e)
			return err
		}},
	} {
		wantErr(t, c.name, c.op(context.Background()), storage.ErrInvalid, "")
		unchanged(t, s, before, c.name)
	}
	if got := mustPending(t, s, l); len(got) != 1 {
		t.Fatalf("lease lost after invalid calls: Pending = %v", outboxIDs(got))
	}
}

// testClaimsAfterReopen: leases, tokens, retry state and dead letters
// survive reopening, and tokens keep growing.
func testClaimsAfterReopen(t *testing.T, open opener) {
	if open.reopen == nil {
		t.Skip("the adapter gave no WithReopen")
	}
	s := claimsOf(t, open.fresh(t))
	ctx := context.Background()
	e := effects("a", "a/1", "a/2", "a/3")
	e[2].NotBefore = farFuture
	mustCreate(t, s, storage.Instance{ID: "a"}, e...)
	mustCreate(t, s, storage.Instance{ID: "b"}, effects("b", "b/1")...)
	la := mustAcquire(t, s, "a", claimReq("p", now(), time.Hour, 0))
	if err := s.Retry(ctx, la, "a/1", storage.RetryState{Attempts: 2, NotBefore: farFuture, LastError: "x"}); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if err := s.DeadLetter(ctx, la, "a/2", storage.RetryState{Attempts: 9, LastError: "y"}); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	lb := mustAcquire(t, s, "b", claimReq("p", now(), time.Hour, 0))
	if err := s.Release(ctx, lb); err != nil {
		t.Fatalf("Release: %v", err)
	}
	before := snapshot(t, s)
	pending := mustPending(t, s, la)

	s = claimsOf(t, open.again(t, s))
	if d := diff(before, snapshot(t, s)); d != "" {
		t.Fatalf("store changed on reopen (-before +after):\n%s", d)
	}
	// b's tokens go on from where they were.
	lb2 := mustClaim(t, s, claimReq("q", now(), time.Hour, 5))
	wantLeased(t, "Claim after reopen", lb2, "b")
	if lb2[0].Token <= lb.Token {
		t.Fatalf("token of b after reopen %d, want more than %d: tokens must never go back", lb2[0].Token, lb.Token)
	}
	// a's lease survived: nobody else gets it, and its holder goes on.
	_, err := s.Acquire(ctx, "a", claimReq("q", now(), time.Hour, 0))
	wantErr(t, "Acquire of an instance leased before reopening", err, storage.ErrLeased, `"a"`)
	if d := diff(pending, mustPending(t, s, la)); d != "" {
		t.Fatalf("Pending changed on reopen (-before +after):\n%s", d)
	}
	wantErr(t, "AckLeased with b's lease from before reopening", s.AckLeased(ctx, lb, "b/1"), storage.ErrFenced, `"b"`)
	if err := s.Release(ctx, la); err != nil {
		t.Fatalf("Release of a lease from before reopening: %v", err)
	}
	s = claimsOf(t, open.again(t, s))
	la2 := mustAcquire(t, s, "a", claimReq("q", now(), time.Hour, 0))
	if la2.Token <= la.Token {
		t.Fatalf("token of a after a second reopen %d, want more than %d", la2.Token, la.Token)
	}
}

// claimWorkers runs workers over stores until every effect is acknowledged:
// each claims, checks that no other worker holds the instance, performs
// (records) and acknowledges the pending effects with its lease, and
// releases. It fails t if an instance is held twice at once or an effect is
// performed twice.
func claimWorkers(t *testing.T, stores []storage.Store, perStore int, total int) {
	t.Helper()
	var (
		mu        sync.Mutex
		holder    = map[string]string{}
		performed = map[string]int{}
		tokens    = map[string][]uint64{}
		failed    = make(chan string, 1)
	)
	fail := func(msg string) {
		select {
		case failed <- msg:
		default:
		}
	}
	var wg sync.WaitGroup
	for si, s := range stores {
		for w := range perStore {
			name := fmt.Sprintf("store%d/worker%d", si, w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := context.Background()
				for idle := 0; idle < 3; {
					ls, err := s.Claim(ctx, claimReq(name, now(), time.Hour, 3))
					if err != nil {
						fail(fmt.Sprintf("%s: Claim: %v", name, err))
						return
					}
					if len(ls) == 0 {
						idle++
						mu.Lock()
						done := len(performed) == total
						mu.Unlock()
						if done {
							return
						}
						time.Sleep(time.Millisecond)
						continue
					}
					idle = 0
					for _, l := range ls {
						mu.Lock()
						if h, ok := holder[l.Instance]; ok {
							mu.Unlock()
							fail(fmt.Sprintf("%s and %s hold live leases on %q at once", h, name, l.Instance))
							return
						}
						holder[l.Instance] = name
						if slices.Contains(tokens[l.Instance], l.Token) {
							mu.Unlock()
							fail(fmt.Sprintf("token %d of %q handed out twice", l.Token, l.Instance))
							return
						}
						tokens[l.Instance] = append(tokens[l.Instance], l.Token)
						mu.Unlock()
						effs, err := s.Pending(ctx, l, all)
						if err != nil {
							fail(fmt.Sprintf("%s: Pending: %v", name, err))
							return
						}
						mu.Lock()
						for _, e := range effs {
							performed[e.ID]++
							if performed[e.ID] > 1 {
								fail(fmt.Sprintf("effect %q performed %d times", e.ID, performed[e.ID]))
							}
						}
						mu.Unlock()
						if err := s.AckLeased(ctx, l, outboxIDs(effs)...); err != nil {
							fail(fmt.Sprintf("%s: AckLeased: %v", name, err))
							return
						}
						mu.Lock()
						delete(holder, l.Instance) // before Release: then another may claim it
						mu.Unlock()
						if err := s.Release(ctx, l); err != nil {
							fail(fmt.Sprintf("%s: Release: %v", name, err))
							return
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	select {
	case msg := <-failed:
		t.Fatal(msg)
	default:
	}
	if len(performed) != total {
		t.Fatalf("%d effects performed, want %d", len(performed), total)
	}
	if got := mustOutbox(t, stores[0], all); len(got) != 0 {
		t.Fatalf("outbox not empty: %v", outboxIDs(got))
	}
}

// seedWork creates n instances with three effects each, returning the
// number of effects.
func seedWork(t *testing.T, s storage.Store, n int) int {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("i%03d", i)
		mustCreate(t, s, storage.Instance{ID: id}, effects(id, id+"/1", id+"/2", id+"/3")...)
	}
	return 3 * n
}

// testConcurrentClaims: workers on one store never share an instance.
func testConcurrentClaims(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	total := seedWork(t, s, 60)
	claimWorkers(t, []storage.Store{s}, 8, total)
}

// second opens a second store on the data of first, or skips t.
func (o opener) second(t *testing.T, first storage.Store) storage.Store {
	t.Helper()
	if o.share == nil {
		t.Skip("the adapter gave no WithShared: it cannot open its data twice")
	}
	s := o.share(t, first)
	if s == nil {
		t.Fatal("share returned a nil store")
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close of the second store: %v", err)
		}
	})
	return s
}

// testSharedClaims: workers on two stores over the same data race for the
// same work and never share an instance.
func testSharedClaims(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	s2 := claimsOf(t, open.second(t, s))
	total := seedWork(t, s, 60)
	claimWorkers(t, []storage.Store{s, s2}, 4, total)
}

// testSharedTakeover: a lease expires in one store and is taken over in
// the other, which fences the first; leases and Acquire are seen across.
func testSharedTakeover(t *testing.T, open opener) {
	s := claimsOf(t, open.fresh(t))
	s2 := claimsOf(t, open.second(t, s))
	ctx := context.Background()
	mustCreate(t, s, storage.Instance{ID: "a"}, effects("a", "a/1")...)
	l1 := mustAcquire(t, s, "a", claimReq("p1", now(), time.Hour, 0))
	_, err := s2.Acquire(ctx, "a", claimReq("p2", now(), time.Hour, 0))
	wantErr(t, "Acquire in the second store", err, storage.ErrLeased, `"a"`)
	if got := mustClaim(t, s2, claimReq("p2", now(), time.Hour, 5)); len(got) != 0 {
		t.Fatalf("the second store leased %v, leased in the first", leased(got))
	}
	if err := s.Release(ctx, l1); err != nil {
		t.Fatalf("Release: %v", err)
	}
	l2 := mustClaim(t, s2, claimReq("p2", now(), time.Hour, 5))
	wantLeased(t, "Claim in the second store", l2, "a")
	if l2[0].Token <= l1.Token {
		t.Fatalf("token %d in the second store after %d in the first", l2[0].Token, l1.Token)
	}
	before := snapshot(t, s2)
	wantErr(t, "AckLeased in the first store with its old lease", s.AckLeased(ctx, l1, "a/1"), storage.ErrFenced, `"a"`)
	_, err = s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 1, Lease: &l1})
	wantErr(t, "Commit in the first store with its old lease", err, storage.ErrFenced, `"a"`)
	unchanged(t, s2, before, "fenced writes in the first store")
	if !storeClock(s) {
		// Expiry across stores: p2's lease runs out, p1 takes over.
		l3 := mustClaim(t, s, claimReq("p1", l2[0].Expires, time.Hour, 5))
		wantLeased(t, "takeover in the first store", l3, "a")
		if l3[0].Token <= l2[0].Token {
			t.Fatalf("takeover token %d after %d", l3[0].Token, l2[0].Token)
		}
		wantErr(t, "Retry in the second store after takeover",
			s2.Retry(ctx, l2[0], "a/1", storage.RetryState{Attempts: 1}), storage.ErrFenced, `"a"`)
		unchanged(t, s, before, "a fenced Retry")
	}
	// A write in one store is seen in the other.
	mustCommit(t, s2, 1, storage.Instance{ID: "a", Data: []byte("v2")}, effects("a", "a/2")...)
	if got := outboxIDs(mustOutbox(t, s, all)); !slices.Equal(got, []string{"a/1", "a/2"}) {
		t.Fatalf("the first store's outbox = %v", got)
	}
	// Closing the second store leaves the first usable.
	if err := s2.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := mustLoad(t, s, "a"); string(got.Data) != "v2" {
		t.Fatalf("Load after closing the second store = %+v", got)
	}
	if _, err := s2.Load(ctx, "a"); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Load in the closed second store = %v, want ErrClosed", err)
	}
}

// testClaimsReadLate: effects written, acknowledged and committed before
// anything reads the claims (a store may build its claims indexes only
// when first read, as bolt does): whichever reader comes
// first, through whichever store of WithShared, it sees exactly the
// effects in the outbox, and so does every reader after it.
func testClaimsReadLate(t *testing.T, open opener) {
	ctx := context.Background()
	for _, first := range []string{"Claim", "Pending", "NextWork", "Delete"} {
		for _, shared := range []bool{false, true} {
			if shared && open.share == nil {
				continue
			}
			t.Run(fmt.Sprintf("%s/shared=%v", first, shared), func(t *testing.T) {
				w := claimsOf(t, open.fresh(t))
				r := w
				if shared {
					r = open.share(t, w)
				}
				mustCreate(t, w, storage.Instance{ID: "a"}, effects("a", "a/1", "a/2")...)
				mustCreate(t, w, storage.Instance{ID: "b", Status: "completed"}, effects("b", "b/1")...)
				mustCreate(t, w, storage.Instance{ID: "c"}, effects("c", "c/1")...)
				mustCommit(t, w, 1, storage.Instance{ID: "c"}, effects("c", "c/2", "c/3")...)
				mustAck(t, w, "a/1", "c/1", "c/2")
				switch first {
				case "Claim":
					wantLeased(t, "the first Claim", mustClaim(t, r, claimReq("p", now(), time.Hour, 10)), "a", "b", "c")
				case "Pending":
					l := mustAcquire(t, r, "c", claimReq("p", now(), time.Hour, 0))
					if got := outboxIDs(mustPending(t, r, l)); !slices.Equal(got, []string{"c/3"}) {
						t.Fatalf("the first Pending(c) = %v, want [c/3]", got)
					}
				case "NextWork":
					at := now()
					if next, err := r.NextWork(ctx, at); err != nil || next.After(at) || next.IsZero() {
						t.Fatalf("the first NextWork(%v) = %v, %v; want work now", at, next, err)
					}
				case "Delete":
					wantErr(t, "the first Delete, of an instance with an effect", r.Delete(ctx, "b", 1, nil), storage.ErrHasEffects, "b")
				}
				// Whatever came first, every reader now agrees with the outbox.
				mustAck(t, w, "b/1")
				mustCommit(t, w, 1, storage.Instance{ID: "a"}, effects("a", "a/3")...)
				for _, c := range []struct {
					id   string
					want []string
				}{{"a", []string{"a/2", "a/3"}}, {"b", nil}, {"c", []string{"c/3"}}} {
					l, err := r.Acquire(ctx, c.id, claimReq("q", now(), time.Hour, 0))
					if errors.Is(err, storage.ErrLeased) { // (leased by the first Claim)
						continue
					}
					if err != nil {
						t.Fatalf("Acquire(%s): %v", c.id, err)
					}
					if got := outboxIDs(mustPending(t, r, l)); !slices.Equal(got, c.want) {
						t.Fatalf("Pending(%s) = %v, want %v", c.id, got, c.want)
					}
					if err := r.Release(ctx, l); err != nil {
						t.Fatalf("Release(%s): %v", c.id, err)
					}
				}
				if err := r.Delete(ctx, "b", 1, nil); err != nil {
					t.Fatalf("Delete(b) once its effect is acknowledged: %v", err)
				}
			})
		}
	}
}
