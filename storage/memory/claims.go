package memory

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/weftflow/weft/storage"
)

// claimState is what the store keeps for [storage.Claims]. s.mu guards it.
type claimState struct {
	leases     map[string]*leaseRecord   // by instance; kept after release for the token
	ready      *readyIndex               // outbox effects by (NotBefore, seq) (effectlog.go)
	byInstance map[string]*pendingEffect // outbox effects of each instance by seq: the first of a list (instanceEffects)
	dead       map[string]*pendingEffect // dead letters by effect ID
	deadIDs    *sortedSet[string]        // dead letter IDs, for DeadLetters
}

// leaseRecord is an instance's current lease, if held, and the last token
// issued for it, which only grows.
type leaseRecord struct {
	token   uint64
	held    bool // the lease with token is current (not released)
	owner   string
	expires time.Time
}

func newClaimState() *claimState {
	return &claimState{
		leases:     make(map[string]*leaseRecord),
		ready:      newReadyIndex(),
		byInstance: make(map[string]*pendingEffect),
		dead:       make(map[string]*pendingEffect),
		deadIDs:    newSortedSet(strings.Compare),
	}
}

func compareReady(a, b *pendingEffect) int {
	if c := a.effect.NotBefore.Compare(b.effect.NotBefore); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// added indexes an effect that entered the outbox.
func (c *claimState) added(p *pendingEffect) {
	c.ready.insert(p)
	// p has the greatest seq so far: it goes at the end.
	id := p.effect.Instance
	if first := c.byInstance[id]; first != nil {
		appendTo(first, p)
	} else {
		c.byInstance[id] = appendTo(nil, p)
	}
}

// removed unindexes an effect that left the outbox.
func (c *claimState) removed(p *pendingEffect) {
	c.ready.delete(p)
	id := p.effect.Instance
	first := c.byInstance[id]
	switch after := removeFrom(first, p); {
	case after == nil:
		delete(c.byInstance, id)
	case after != first:
		c.byInstance[id] = after
	}
}

// live reports whether the instance holds a lease that is live at now.
func (c *claimState) live(id string, now time.Time) bool {
	r := c.leases[id]
	return r != nil && r.held && r.expires.After(now)
}

// fence fails with ErrFenced unless l is the instance's current lease.
func (c *claimState) fence(op string, l storage.Lease) error {
	r := c.leases[l.Instance]
	if r == nil || !r.held || r.token != l.Token {
		current := "none"
		if r != nil && r.held {
			current = fmt.Sprintf("token %d", r.token)
		}
		return fmt.Errorf("storage: %s %q: lease token %d: %w (current lease: %s)",
			op, l.Instance, l.Token, storage.ErrFenced, current)
	}
	return nil
}

// grant issues a new lease on the instance id.
func (c *claimState) grant(id string, req storage.ClaimRequest) storage.Lease {
	r := c.leases[id]
	if r == nil {
		r = &leaseRecord{}
		c.leases[id] = r
	}
	r.token++
	r.held = true
	r.owner = req.Owner
	r.expires = storage.NormalizeDue(req.Now.Add(req.TTL))
	return storage.Lease{Instance: id, Owner: r.owner, Token: r.token, Expires: r.expires}
}

// work returns the instances with work at now and when their work began,
// earliest first, ties by ID.
func (s *Store) work(now time.Time) []dueKey {
	first := make(map[string]time.Time)
	note := func(id string, at time.Time) {
		if old, ok := first[id]; !ok || at.Before(old) {
			first[id] = at
		}
	}
	until := now.UnixMicro()
	s.due.scan(func(k dueKey) bool {
		if k.at > until {
			return false
		}
		note(k.id, k.time())
		return true
	})
	s.cl.ready.scan(func(p *pendingEffect) bool {
		if p.effect.NotBefore.After(now) {
			return false
		}
		note(p.effect.Instance, p.effect.NotBefore)
		return true
	})
	out := make([]dueKey, 0, len(first))
	for id, at := range first {
		out = append(out, keyAt(at, id))
	}
	slices.SortFunc(out, compareDue)
	return out
}

// check checks ctx and that the store is open; the caller holds s.mu.
func (s *Store) check(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	if s.closed {
		return fmt.Errorf("storage: %s: %w", op, storage.ErrClosed)
	}
	return nil
}

// Claim implements [storage.Claims.Claim].
func (s *Store) Claim(ctx context.Context, req storage.ClaimRequest) ([]storage.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: claim: %w", err)
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, "claim"); err != nil {
		return nil, err
	}
	var out []storage.Lease
	for _, w := range s.work(req.Now) {
		if len(out) == req.Limit {
			break
		}
		if s.cl.live(w.id, req.Now) {
			continue
		}
		out = append(out, s.cl.grant(w.id, req))
	}
	return out, nil
}

// Acquire implements [storage.Claims.Acquire].
func (s *Store) Acquire(ctx context.Context, id string, req storage.ClaimRequest) (storage.Lease, error) {
	op := fmt.Sprintf("acquire %q", id)
	if err := ctx.Err(); err != nil {
		return storage.Lease{}, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := storage.ValidateID(id); err != nil {
		return storage.Lease{}, err
	}
	if err := storage.ValidateTTL(req.TTL); err != nil {
		return storage.Lease{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, op); err != nil {
		return storage.Lease{}, err
	}
	if _, ok := s.instances[id]; !ok {
		return storage.Lease{}, fmt.Errorf("storage: %s: instance %w", op, storage.ErrNotFound)
	}
	if s.cl.live(id, req.Now) {
		r := s.cl.leases[id]
		return storage.Lease{}, fmt.Errorf("storage: %s: %w by %q until %v", op, storage.ErrLeased, r.owner, r.expires)
	}
	return s.cl.grant(id, req), nil
}

// Renew implements [storage.Claims.Renew].
func (s *Store) Renew(ctx context.Context, l storage.Lease, now time.Time, ttl time.Duration) (storage.Lease, error) {
	if err := ctx.Err(); err != nil {
		return storage.Lease{}, fmt.Errorf("storage: renew %q: %w", l.Instance, err)
	}
	if err := l.Validate(); err != nil {
		return storage.Lease{}, err
	}
	if err := storage.ValidateTTL(ttl); err != nil {
		return storage.Lease{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, "renew"); err != nil {
		return storage.Lease{}, err
	}
	if err := s.cl.fence("renew", l); err != nil {
		return storage.Lease{}, err
	}
	r := s.cl.leases[l.Instance]
	if !r.expires.After(now) {
		return storage.Lease{}, fmt.Errorf("storage: renew %q: lease token %d: %w (expired at %v)",
			l.Instance, l.Token, storage.ErrFenced, r.expires)
	}
	r.expires = storage.NormalizeDue(now.Add(ttl))
	return storage.Lease{Instance: l.Instance, Owner: r.owner, Token: r.token, Expires: r.expires}, nil
}

// Release implements [storage.Claims.Release].
func (s *Store) Release(ctx context.Context, ls ...storage.Lease) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: release: %w", err)
	}
	for _, l := range ls {
		if err := l.Validate(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, "release"); err != nil {
		return err
	}
	var fenced []error
	for _, l := range ls {
		if err := s.cl.fence("release", l); err != nil {
			fenced = append(fenced, err)
			continue
		}
		s.cl.leases[l.Instance].held = false
	}
	return errors.Join(fenced...)
}

// Pending implements [storage.Claims.Pending].
func (s *Store) Pending(ctx context.Context, l storage.Lease, limit int) ([]storage.Effect, error) {
	out, _, err := s.PendingWithDead(ctx, l, limit)
	return out, err
}

// PendingWithDead implements [storage.PendingWithDead]. It says whether
// the store has any dead letter (an index of them by instance would cost
// every write that moves one).
func (s *Store) PendingWithDead(ctx context.Context, l storage.Lease, limit int) ([]storage.Effect, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("storage: pending %q: %w", l.Instance, err)
	}
	if err := l.Validate(); err != nil {
		return nil, false, err
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx, "pending"); err != nil {
		return nil, false, err
	}
	if err := s.cl.fence("pending", l); err != nil {
		return nil, false, err
	}
	var out []storage.Effect
	for p := range listed(s.cl.byInstance[l.Instance]) {
		if len(out) == limit {
			break
		}
		out = append(out, copyEffect(p.effect))
	}
	return out, len(s.cl.dead) > 0, nil
}

// AckLeased implements [storage.Claims.AckLeased].
func (s *Store) AckLeased(ctx context.Context, l storage.Lease, ids ...string) error {
	return s.ackLeased(ctx, l, false, ids)
}

// AckRelease implements [storage.AckReleaser].
func (s *Store) AckRelease(ctx context.Context, l storage.Lease, ids ...string) error {
	return s.ackLeased(ctx, l, true, ids)
}

// ackLeased is AckLeased, which also releases l if release.
func (s *Store) ackLeased(ctx context.Context, l storage.Lease, release bool, ids []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: ack %q: %w", l.Instance, err)
	}
	if err := l.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, "ack"); err != nil {
		return err
	}
	if err := s.cl.fence("ack", l); err != nil {
		return err
	}
	for _, id := range ids {
		if p, ok := s.pending[id]; ok && p.effect.Instance == l.Instance {
			s.removePending(p)
		}
	}
	if release {
		s.cl.leases[l.Instance].held = false
	}
	return nil
}

// removePending takes p out of the outbox and its indexes. The caller
// holds s.mu.
func (s *Store) removePending(p *pendingEffect) {
	delete(s.pending, p.effect.ID)
	s.outbox.remove(p)
	s.cl.removed(p)
}

// leasedEffect checks a fenced write to the effect id of l's instance and
// returns it.
func (s *Store) leasedEffect(ctx context.Context, op string, l storage.Lease, id string) (*pendingEffect, error) {
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	if err := s.cl.fence(op, l); err != nil {
		return nil, err
	}
	p, ok := s.pending[id]
	if !ok || p.effect.Instance != l.Instance {
		return nil, fmt.Errorf("storage: %s %q: effect %q %w in its outbox", op, l.Instance, id, storage.ErrNotFound)
	}
	return p, nil
}

// Retry implements [storage.Claims.Retry].
func (s *Store) Retry(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: retry %q: %w", l.Instance, err)
	}
	if err := r.Validate(l, id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.leasedEffect(ctx, "retry", l, id)
	if err != nil {
		return err
	}
	s.cl.ready.delete(p)
	setRetry(&p.effect, r)
	s.cl.ready.insert(p)
	return nil
}

func setRetry(e *storage.Effect, r storage.RetryState) {
	e.Attempts = r.Attempts
	e.NotBefore = storage.NormalizeDue(r.NotBefore)
	e.LastError = r.LastError
}

// DeadLetter implements [storage.Claims.DeadLetter].
func (s *Store) DeadLetter(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: dead letter %q: %w", l.Instance, err)
	}
	if err := r.Validate(l, id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.leasedEffect(ctx, "dead letter", l, id)
	if err != nil {
		return err
	}
	s.removePending(p)
	setRetry(&p.effect, r)
	s.cl.dead[id] = p
	s.cl.deadIDs.insert(id)
	return nil
}

// DeadLetters implements [storage.Claims.DeadLetters].
func (s *Store) DeadLetters(ctx context.Context, after string, limit int) ([]storage.Effect, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: dead letters: %w", err)
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx, "dead letters"); err != nil {
		return nil, err
	}
	var out []storage.Effect
	for id := range s.cl.deadIDs.from(func(id string) bool { return id > after }) {
		if len(out) == limit {
			break
		}
		out = append(out, copyEffect(s.cl.dead[id].effect))
	}
	return out, nil
}

// Requeue implements [storage.Claims.Requeue].
func (s *Store) Requeue(ctx context.Context, ids ...string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage: requeue: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, "requeue"); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		p, ok := s.cl.dead[id]
		if !ok {
			continue
		}
		delete(s.cl.dead, id)
		s.cl.deadIDs.delete(id)
		s.seq++
		p.seq = s.seq
		p.effect.Seq = s.seq
		p.effect.Attempts = 0
		p.effect.NotBefore = time.Time{}
		s.pending[id] = p
		s.outbox.append(p)
		s.cl.added(p)
		n++
	}
	if n > 0 {
		s.hub.wake()
	}
	return n, nil
}

// NextWork implements [storage.Claims.NextWork].
func (s *Store) NextWork(ctx context.Context, now time.Time) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, fmt.Errorf("storage: next work: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx, "next work"); err != nil {
		return time.Time{}, err
	}
	var best time.Time
	// consider offers an instance's work at t; both indexes come in time
	// order, so the scan stops at the first work later than the best.
	consider := func(id string, t time.Time) bool {
		if !best.IsZero() && (!t.Before(best) || !best.After(now)) {
			return false
		}
		if r := s.cl.leases[id]; r != nil && r.held && r.expires.After(now) && r.expires.After(t) {
			t = r.expires
		}
		if !t.After(now) {
			t = now
		}
		if best.IsZero() || t.Before(best) {
			best = t
		}
		return true
	}
	// (Scans, not range loops over iterators: their closures would take
	// consider and best to the heap at every call.)
	s.due.scan(func(k dueKey) bool { return consider(k.id, k.time()) })
	s.cl.ready.scan(func(p *pendingEffect) bool { return consider(p.effect.Instance, p.effect.NotBefore) })
	return best, nil
}

// copyEffect returns a copy of e that shares no memory with it.
func copyEffect(e storage.Effect) storage.Effect {
	e.Data = bytes.Clone(e.Data)
	return e
}

// Share returns a second handle on the data of s, as a second process
// opening the same database would get one: both see every write of the
// other and race for the same claims. Closing the handle makes its own
// methods fail with [storage.ErrClosed] and leaves s open; closing s drops
// the data for every handle. The conformance suite uses it to check claims
// across handles.
func (s *Store) Share() storage.Store {
	return &handle{Store: s}
}

// handle is a second view of a Store, closed on its own.
type handle struct {
	*Store
	closed atomic.Bool
}

func (h *handle) err(op string) error {
	if h.closed.Load() {
		return fmt.Errorf("storage: %s: %w", op, storage.ErrClosed)
	}
	return nil
}

func (h *handle) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	if err := h.err("create"); err != nil {
		return 0, err
	}
	return h.Store.Create(ctx, inst, effects)
}

func (h *handle) Load(ctx context.Context, id string) (storage.Instance, error) {
	if err := h.err("load"); err != nil {
		return storage.Instance{}, err
	}
	return h.Store.Load(ctx, id)
}

func (h *handle) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	if err := h.err("commit"); err != nil {
		return 0, err
	}
	return h.Store.Commit(ctx, c)
}

func (h *handle) Outbox(ctx context.Context, limit int) ([]storage.Effect, error) {
	if err := h.err("outbox"); err != nil {
		return nil, err
	}
	return h.Store.Outbox(ctx, limit)
}

func (h *handle) Ack(ctx context.Context, ids ...string) error {
	if err := h.err("ack"); err != nil {
		return err
	}
	return h.Store.Ack(ctx, ids...)
}

func (h *handle) DueBefore(ctx context.Context, t time.Time, limit int) ([]storage.Due, error) {
	if err := h.err("due before"); err != nil {
		return nil, err
	}
	return h.Store.DueBefore(ctx, t, limit)
}

func (h *handle) List(ctx context.Context, after string, limit int) ([]storage.Instance, error) {
	if err := h.err("list"); err != nil {
		return nil, err
	}
	return h.Store.List(ctx, after, limit)
}

func (h *handle) Find(ctx context.Context, q storage.Query) (storage.Page, error) {
	if err := h.err("find"); err != nil {
		return storage.Page{}, err
	}
	return h.Store.Find(ctx, q)
}

func (h *handle) Count(ctx context.Context, f storage.Filter) (map[string]int, error) {
	if err := h.err("count"); err != nil {
		return nil, err
	}
	return h.Store.Count(ctx, f)
}

func (h *handle) Delete(ctx context.Context, id string, expect uint64, tombstone []byte) error {
	if err := h.err("delete"); err != nil {
		return err
	}
	return h.Store.Delete(ctx, id, expect, tombstone)
}

func (h *handle) Claim(ctx context.Context, req storage.ClaimRequest) ([]storage.Lease, error) {
	if err := h.err("claim"); err != nil {
		return nil, err
	}
	return h.Store.Claim(ctx, req)
}

func (h *handle) Acquire(ctx context.Context, id string, req storage.ClaimRequest) (storage.Lease, error) {
	if err := h.err("acquire"); err != nil {
		return storage.Lease{}, err
	}
	return h.Store.Acquire(ctx, id, req)
}

func (h *handle) Renew(ctx context.Context, l storage.Lease, now time.Time, ttl time.Duration) (storage.Lease, error) {
	if err := h.err("renew"); err != nil {
		return storage.Lease{}, err
	}
	return h.Store.Renew(ctx, l, now, ttl)
}

func (h *handle) Release(ctx context.Context, ls ...storage.Lease) error {
	if err := h.err("release"); err != nil {
		return err
	}
	return h.Store.Release(ctx, ls...)
}

func (h *handle) Pending(ctx context.Context, l storage.Lease, limit int) ([]storage.Effect, error) {
	if err := h.err("pending"); err != nil {
		return nil, err
	}
	return h.Store.Pending(ctx, l, limit)
}

func (h *handle) AckLeased(ctx context.Context, l storage.Lease, ids ...string) error {
	if err := h.err("ack"); err != nil {
		return err
	}
	return h.Store.AckLeased(ctx, l, ids...)
}

func (h *handle) Retry(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	if err := h.err("retry"); err != nil {
		return err
	}
	return h.Store.Retry(ctx, l, id, r)
}

func (h *handle) DeadLetter(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	if err := h.err("dead letter"); err != nil {
		return err
	}
	return h.Store.DeadLetter(ctx, l, id, r)
}

func (h *handle) DeadLetters(ctx context.Context, after string, limit int) ([]storage.Effect, error) {
	if err := h.err("dead letters"); err != nil {
		return nil, err
	}
	return h.Store.DeadLetters(ctx, after, limit)
}

func (h *handle) Requeue(ctx context.Context, ids ...string) (int, error) {
	if err := h.err("requeue"); err != nil {
		return 0, err
	}
	return h.Store.Requeue(ctx, ids...)
}

func (h *handle) NextWork(ctx context.Context, now time.Time) (time.Time, error) {
	if err := h.err("next work"); err != nil {
		return time.Time{}, err
	}
	return h.Store.NextWork(ctx, now)
}

// Close closes the handle only.
func (h *handle) Close() error {
	if h.closed.Swap(true) {
		return nil
	}
	h.Store.hub.closeOwner(h)
	h.Store.locks.ReleaseOwner(h)
	return nil
}
