package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/weftflow/weft/storage"
)

// The buckets of claims, added to format 1 without a version bump: an old
// file gains them when it is first opened read-write, and code that does
// not know them leaves them alone. The leases, retry and dead buckets hold
// state; ready and byInstance are indexes over the outbox, checked on every
// read-write open and rebuilt if they disagree with it (as after a write by
// an older weft that did not maintain them).
var (
	bucketLeases     = []byte("leases")  // instance ID -> uvarint token, uvarint expires code (0: not held), owner
	bucketRetry      = []byte("retry")   // effect ID -> uvarint attempts, uvarint not-before code, last error
	bucketReady      = []byte("ready")   // 8-byte not-before code ++ 8-byte seq -> instance ID
	bucketByInstance = []byte("pending") // uvarint len(instance ID) ++ instance ID ++ 8-byte seq -> empty
	bucketDead       = []byte("dead")    // effect ID -> uvarint seq, uvarint attempts, uvarint not-before code, length-prefixed last error, outbox value

	claimBuckets = [][]byte{bucketLeases, bucketRetry, bucketReady, bucketByInstance, bucketDead}
)

// leaseRecord is a decoded value of the leases bucket.
type leaseRecord struct {
	token   uint64
	expires uint64 // due code of the expiry; 0 when no lease is held
	owner   string
}

// The leases and retry buckets store the same shape: two unsigned varints,
// then the rest of the value as a string.

func encodePair(a, b uint64, rest string) []byte {
	v := make([]byte, 0, 2*binary.MaxVarintLen64+len(rest))
	v = binary.AppendUvarint(v, a)
	v = binary.AppendUvarint(v, b)
	return append(v, rest...)
}

func decodePair(v []byte) (a, b uint64, rest string, err error) {
	r := reader{b: v}
	a, b = r.uvarint(), r.uvarint()
	return a, b, string(r.b), r.err
}

func (r leaseRecord) encode() []byte { return encodePair(r.token, r.expires, r.owner) }

func decodeLease(id, v []byte) (leaseRecord, error) {
	var l leaseRecord
	var err error
	l.token, l.expires, l.owner, err = decodePair(v)
	if err != nil || l.token == 0 || l.expires > maxDueCode {
		return leaseRecord{}, fmt.Errorf("bolt: lease of %q: %w", id, ErrCorrupt)
	}
	return l, nil
}

// live reports whether the record holds a lease live at now.
func (r leaseRecord) live(now time.Time) bool {
	return r.expires != 0 && dueTime(r.expires).After(now)
}

func (r leaseRecord) lease(id string) storage.Lease {
	return storage.Lease{Instance: id, Owner: r.owner, Token: r.token, Expires: dueTime(r.expires)}
}

// retryRecord is a decoded value of the retry bucket.
type retryRecord struct {
	attempts  uint64
	notBefore uint64 // due code
	lastError string
}

func (r retryRecord) encode() []byte { return encodePair(r.attempts, r.notBefore, r.lastError) }

func decodeRetry(id, v []byte) (retryRecord, error) {
	var rr retryRecord
	var err error
	rr.attempts, rr.notBefore, rr.lastError, err = decodePair(v)
	if err != nil || rr.notBefore > maxDueCode || rr.attempts > 1<<32-1 {
		return retryRecord{}, fmt.Errorf("bolt: retry state of effect %q: %w", id, ErrCorrupt)
	}
	return rr, nil
}

func (r retryRecord) apply(e *storage.Effect) {
	e.Attempts = uint32(r.attempts)
	e.NotBefore = dueTime(r.notBefore)
	e.LastError = r.lastError
}

func retryOf(rs storage.RetryState) retryRecord {
	return retryRecord{attempts: uint64(rs.Attempts), notBefore: dueCode(storage.NormalizeDue(rs.NotBefore)), lastError: rs.LastError}
}

// readyKey is the ready-index key of an effect.
func readyKey(notBefore uint64, seq []byte) []byte {
	k := make([]byte, 0, 16)
	k = binary.BigEndian.AppendUint64(k, notBefore)
	return append(k, seq...)
}

// instancePrefix is the prefix of an instance's keys in the byInstance index.
func instancePrefix(id []byte) []byte {
	k := make([]byte, 0, binary.MaxVarintLen64+len(id)+8)
	k = binary.AppendUvarint(k, uint64(len(id)))
	return append(k, id...)
}

func byInstanceKey(id, seq []byte) []byte { return append(instancePrefix(id), seq...) }

// effectInstance returns the instance ID of an outbox value.
func effectInstance(seq, v []byte) ([]byte, error) {
	r := reader{b: v}
	r.skip()
	inst := r.string()
	if r.err != nil {
		return nil, fmt.Errorf("bolt: outbox entry %x: %w: %w", seq, ErrCorrupt, r.err)
	}
	return []byte(inst), nil
}

// indexEffect adds the claims entries of an effect appended at seq.
func (w *txState) indexEffect(e encodedEffect, seq []byte) error {
	if e.notBefore != 0 { // (state, not an index: kept always)
		if err := w.put(w.tx.Bucket(bucketRetry), e.id, retryRecord{notBefore: e.notBefore}.encode()); err != nil {
			return err
		}
	}
	if ok, err := w.indexing(); !ok || err != nil {
		return err
	}
	if err := w.put(w.tx.Bucket(bucketReady), readyKey(e.notBefore, seq), e.instance); err != nil {
		return err
	}
	return w.put(w.tx.Bucket(bucketByInstance), byInstanceKey(e.instance, seq), nil)
}

// unindexEffect removes the claims entries of the outbox effect id at seq,
// and its retry state unless keep. It returns the effect's retry state.
func (w *txState) unindexEffect(id, seq []byte, keep bool) (retryRecord, error) {
	var rr retryRecord
	retry := w.tx.Bucket(bucketRetry)
	if v := w.get(retry, id); v != nil {
		var err error
		if rr, err = decodeRetry(id, v); err != nil {
			return rr, err
		}
		if !keep {
			if err := w.del(retry, id); err != nil {
				return rr, err
			}
		}
	}
	if ok, err := w.indexing(); !ok || err != nil {
		return rr, err
	}
	inst, err := effectInstance(seq, w.get(w.outbox, seq))
	if err != nil {
		return rr, err
	}
	if err := w.del(w.tx.Bucket(bucketReady), readyKey(rr.notBefore, seq)); err != nil {
		return rr, err
	}
	return rr, w.del(w.tx.Bucket(bucketByInstance), byInstanceKey(inst, seq))
}

// fence fails with ErrFenced unless l is the current lease of its instance.
func fence(tx *bbolt.Tx, op string, l storage.Lease) (leaseRecord, error) {
	id := []byte(l.Instance)
	var r leaseRecord
	if b := tx.Bucket(bucketLeases); b != nil {
		if v := b.Get(id); v != nil {
			var err error
			if r, err = decodeLease(id, v); err != nil {
				return r, fmt.Errorf("storage: %s %q: %w", op, l.Instance, err)
			}
		}
	}
	if r.expires == 0 || r.token != l.Token {
		current := "none"
		if r.expires != 0 {
			current = fmt.Sprintf("token %d", r.token)
		}
		return r, fmt.Errorf("storage: %s %q: lease token %d: %w (current lease: %s)",
			op, l.Instance, l.Token, storage.ErrFenced, current)
	}
	return r, nil
}

// grant issues a new lease on id.
func (w *txState) grant(id []byte, req storage.ClaimRequest) (storage.Lease, error) {
	b := w.tx.Bucket(bucketLeases)
	var r leaseRecord
	if v := b.Get(id); v != nil {
		var err error
		if r, err = decodeLease(id, v); err != nil {
			return storage.Lease{}, err
		}
	}
	r.token++
	r.owner = req.Owner
	r.expires = dueCode(storage.NormalizeDue(req.Now.Add(req.TTL)))
	return r.lease(string(id)), w.put(b, id, r.encode())
}

// leaseAt returns the lease record of id, zero if none.
func leaseAt(tx *bbolt.Tx, id []byte) (leaseRecord, error) {
	if b := tx.Bucket(bucketLeases); b != nil {
		if v := b.Get(id); v != nil {
			return decodeLease(id, v)
		}
	}
	return leaseRecord{}, nil
}

// workItem is an instance and when its work began.
type workItem struct {
	at time.Time
	id string
}

// scanWork calls f with every instance's work, in time order per index
// (first the due index, then the ready index), from the earliest, while f
// returns true. Zero-time ready effects come as the zero time. Without
// current claims indexes (an old file, or one whose indexes are not
// current, opened read-only) it takes every outbox effect as ready now.
func scanWork(tx *bbolt.Tx, current bool, f func(id string, at time.Time) bool) error {
	c := tx.Bucket(bucketDue).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		d, err := parseDueKey(k)
		if err != nil {
			return err
		}
		if !f(d.ID, d.At) {
			break
		}
	}
	ready := tx.Bucket(bucketReady)
	if ready == nil || !current { // read-only: every effect is taken as ready now
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			inst, err := effectInstance(k, v)
			if err != nil {
				return err
			}
			if !f(string(inst), time.Time{}) {
				break
			}
		}
		return nil
	}
	c = ready.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 16 || binary.BigEndian.Uint64(k) > maxDueCode {
			return fmt.Errorf("bolt: ready index key %x: %w", k, ErrCorrupt)
		}
		if !f(string(v), dueTime(binary.BigEndian.Uint64(k))) {
			break
		}
	}
	return nil
}

// Claim implements [storage.Claims.Claim].
func (s *Store) Claim(ctx context.Context, req storage.ClaimRequest) ([]storage.Lease, error) {
	const op = "claim"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.readIndexes(ctx, op); err != nil {
		return nil, err
	}
	var out []storage.Lease
	_, err := s.write(&request{ctx: ctx, op: opName{verb: op}, apply: func(w *txState) (uint64, error) {
		out = nil
		if err := w.reindex(); err != nil {
			return 0, err
		}
		first := make(map[string]time.Time)
		err := scanWork(w.tx, true, func(id string, at time.Time) bool {
			if at.After(req.Now) {
				return false
			}
			if old, ok := first[id]; !ok || at.Before(old) {
				first[id] = at
			}
			return true
		})
		if err != nil {
			return 0, err
		}
		work := make([]workItem, 0, len(first))
		for id, at := range first {
			work = append(work, workItem{at, id})
		}
		slices.SortFunc(work, func(a, b workItem) int {
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return strings.Compare(a.id, b.id)
		})
		var grant [][]byte
		for _, wi := range work {
			if len(grant) == req.Limit {
				break
			}
			r, err := leaseAt(w.tx, []byte(wi.id))
			if err != nil {
				return 0, err
			}
			if !r.live(req.Now) {
				grant = append(grant, []byte(wi.id))
			}
		}
		for _, id := range grant {
			l, err := w.grant(id, req)
			if err != nil {
				return 0, err
			}
			out = append(out, l)
		}
		return 0, nil
	}})
	if err != nil {
		return nil, err
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
	key := []byte(id)
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out storage.Lease
	_, err := s.write(&request{ctx: ctx, op: opName{verb: op}, apply: func(w *txState) (uint64, error) {
		if w.get(w.instances, key) == nil {
			return 0, fmt.Errorf("storage: %s: instance %w", op, storage.ErrNotFound)
		}
		r, err := leaseAt(w.tx, key)
		if err != nil {
			return 0, err
		}
		if r.live(req.Now) {
			return 0, fmt.Errorf("storage: %s: %w by %q until %v", op, storage.ErrLeased, r.owner, dueTime(r.expires))
		}
		out, err = w.grant(key, req)
		return 0, err
	}})
	return out, err
}

// Renew implements [storage.Claims.Renew].
func (s *Store) Renew(ctx context.Context, l storage.Lease, now time.Time, ttl time.Duration) (storage.Lease, error) {
	const op = "renew"
	if err := ctx.Err(); err != nil {
		return storage.Lease{}, fmt.Errorf("storage: %s %q: %w", op, l.Instance, err)
	}
	if err := l.Validate(); err != nil {
		return storage.Lease{}, err
	}
	if err := storage.ValidateTTL(ttl); err != nil {
		return storage.Lease{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out storage.Lease
	_, err := s.write(&request{ctx: ctx, op: opName{verb: op}, apply: func(w *txState) (uint64, error) {
		r, err := fence(w.tx, op, l)
		if err != nil {
			return 0, err
		}
		if !r.live(now) {
			return 0, fmt.Errorf("storage: %s %q: lease token %d: %w (expired at %v)",
				op, l.Instance, l.Token, storage.ErrFenced, dueTime(r.expires))
		}
		r.expires = dueCode(storage.NormalizeDue(now.Add(ttl)))
		out = r.lease(l.Instance)
		return 0, w.put(w.tx.Bucket(bucketLeases), []byte(l.Instance), r.encode())
	}})
	return out, err
}

// Release implements [storage.Claims.Release].
func (s *Store) Release(ctx context.Context, ls ...storage.Lease) error {
	const op = "release"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	for _, l := range ls {
		if err := l.Validate(); err != nil {
			return err
		}
	}
	if len(ls) == 0 {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var fenced []error
	_, err := s.write(&request{ctx: ctx, op: opName{verb: op}, apply: func(w *txState) (uint64, error) {
		fenced = fenced[:0] // (a batch may apply the request again)
		for _, l := range ls {
			r, err := fence(w.tx, op, l)
			if errors.Is(err, storage.ErrFenced) {
				fenced = append(fenced, err)
				continue
			}
			if err != nil {
				return 0, err
			}
			r.expires = 0 // keep the token, so that the next one is greater
			if err := w.put(w.tx.Bucket(bucketLeases), []byte(l.Instance), r.encode()); err != nil {
				return 0, err
			}
		}
		return 0, nil
	}})
	if err != nil {
		return err
	}
	return errors.Join(fenced...)
}

// checkedView runs f in a read transaction (under guard) after the usual
// checks; the caller holds s.mu for reading.
func (s *Store) checkedView(ctx context.Context, op string, f func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	if s.closed {
		return fmt.Errorf("storage: %s: %w", op, storage.ErrClosed)
	}
	return s.view(f)
}

// Pending implements [storage.Claims.Pending].
func (s *Store) Pending(ctx context.Context, l storage.Lease, limit int) ([]storage.Effect, error) {
	out, _, err := s.PendingWithDead(ctx, l, limit)
	return out, err
}

// PendingWithDead implements [storage.PendingWithDead]. It says whether
// the store has any dead letter (there is no index of them by instance).
func (s *Store) PendingWithDead(ctx context.Context, l storage.Lease, limit int) ([]storage.Effect, bool, error) {
	const op = "pending"
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("storage: %s %q: %w", op, l.Instance, err)
	}
	if err := l.Validate(); err != nil {
		return nil, false, err
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []storage.Effect
	dead := false
	err := s.indexedView(ctx, op, func(tx *bbolt.Tx, current bool) error {
		out, dead = nil, false
		if _, err := fence(tx, op, l); err != nil {
			return err
		}
		if b := tx.Bucket(bucketDead); b != nil {
			k, _ := b.Cursor().First()
			dead = k != nil
		}
		outbox, retry := tx.Bucket(bucketOutbox), &retryStates{tx: tx}
		add := func(seq, v []byte) error {
			e, err := decodeEffect(seq, v)
			if err != nil {
				return err
			}
			if err := fillEffect(retry, seq, &e); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		}
		if !current { // read-only, with indexes not current: read the whole outbox
			c := outbox.Cursor()
			for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
				inst, err := effectInstance(k, v)
				if err != nil {
					return err
				}
				if string(inst) == l.Instance {
					if err := add(k, v); err != nil {
						return err
					}
				}
			}
			return nil
		}
		prefix := instancePrefix([]byte(l.Instance))
		c := tx.Bucket(bucketByInstance).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
			seq := k[len(prefix):]
			if err := add(seq, outbox.Get(seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, dead, nil
}

// retryStates reads the retry states of the effects an outbox read lists.
// It opens the retry bucket at the first effect and, if the bucket is
// empty, looks up nothing for the others: effects fail rarely, and an
// outbox read looks at every effect it lists.
type retryStates struct {
	tx     *bbolt.Tx
	b      *bbolt.Bucket
	opened bool
}

// bucket returns the retry bucket, or nil if there is none or it is empty.
func (r *retryStates) bucket() *bbolt.Bucket {
	if !r.opened {
		r.opened = true
		if b := r.tx.Bucket(bucketRetry); b != nil {
			if k, _ := b.Cursor().First(); k != nil {
				r.b = b
			}
		}
	}
	return r.b
}

// fillEffect sets the fields of an outbox effect that the outbox value does
// not hold: Seq and the retry state.
func fillEffect(retry *retryStates, seq []byte, e *storage.Effect) error {
	if len(seq) == 8 {
		e.Seq = binary.BigEndian.Uint64(seq)
	}
	if b := retry.bucket(); b != nil {
		if v := b.Get([]byte(e.ID)); v != nil {
			rr, err := decodeRetry([]byte(e.ID), v)
			if err != nil {
				return err
			}
			rr.apply(e)
		}
	}
	return nil
}

// AckLeased implements [storage.Claims.AckLeased].
func (s *Store) AckLeased(ctx context.Context, l storage.Lease, ids ...string) error {
	return s.ackLeased(ctx, l, false, ids)
}

// AckRelease implements [storage.AckReleaser]: one write transaction.
func (s *Store) AckRelease(ctx context.Context, l storage.Lease, ids ...string) error {
	return s.ackLeased(ctx, l, true, ids)
}

// ackLeased is AckLeased, which also releases l if release.
func (s *Store) ackLeased(ctx context.Context, l storage.Lease, release bool, ids []string) error {
	const op = "ack"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s %q: %w", op, l.Instance, err)
	}
	if err := l.Validate(); err != nil {
		return err
	}
	inst := []byte(l.Instance)
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, err := s.write(&request{ctx: ctx, op: opName{verb: op}, apply: func(w *txState) (uint64, error) {
		r, err := fence(w.tx, op, l)
		if err != nil {
			return 0, err
		}
		// Check first: nothing may be written before the last error.
		var keys, seqs [][]byte
		for _, id := range ids {
			seq := w.get(w.effects, []byte(id))
			if seq == nil {
				continue
			}
			owner, err := effectInstance(seq, w.get(w.outbox, seq))
			if err != nil {
				return 0, err
			}
			if bytes.Equal(owner, inst) && !slices.ContainsFunc(keys, func(k []byte) bool { return string(k) == id }) {
				keys = append(keys, []byte(id))
				seqs = append(seqs, append([]byte(nil), seq...))
			}
		}
		for i, k := range keys {
			if err := w.removeEffect(k, seqs[i], false); err != nil {
				return 0, err
			}
		}
		if release {
			r.expires = 0 // as Release: keep the token
			if err := w.put(w.tx.Bucket(bucketLeases), inst, r.encode()); err != nil {
				return 0, err
			}
		}
		return 0, nil
	}})
	return err
}

// removeEffect takes the effect id at seq out of the outbox and every
// index, keeping its retry state if keep.
func (w *txState) removeEffect(id, seq []byte, keep bool) error {
	if _, err := w.unindexEffect(id, seq, keep); err != nil {
		return err
	}
	if err := w.del(w.outbox, seq); err != nil {
		return err
	}
	return w.del(w.effects, id)
}

// leasedEffect checks a fenced write to the effect id of l's instance and
// returns its outbox position.
func leasedEffect(w *txState, op string, l storage.Lease, id []byte) ([]byte, error) {
	if _, err := fence(w.tx, op, l); err != nil {
		return nil, err
	}
	seq := w.get(w.effects, id)
	if seq != nil {
		owner, err := effectInstance(seq, w.get(w.outbox, seq))
		if err != nil {
			return nil, err
		}
		if string(owner) == l.Instance {
			return append([]byte(nil), seq...), nil
		}
	}
	return nil, fmt.Errorf("storage: %s %q: effect %q %w in its outbox", op, l.Instance, id, storage.ErrNotFound)
}

// Retry implements [storage.Claims.Retry].
func (s *Store) Retry(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	const op = "retry"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s %q: %w", op, l.Instance, err)
	}
	if err := r.Validate(l, id); err != nil {
		return err
	}
	key, rr := []byte(id), retryOf(r)
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, err := s.write(&request{ctx: ctx, op: opName{verb: op}, apply: func(w *txState) (uint64, error) {
		seq, err := leasedEffect(w, op, l, key)
		if err != nil {
			return 0, err
		}
		if _, err := w.unindexEffect(key, seq, true); err != nil {
			return 0, err
		}
		if err := w.indexEffect(encodedEffect{id: key, instance: []byte(l.Instance), notBefore: rr.notBefore}, seq); err != nil {
			return 0, err
		}
		return 0, w.put(w.tx.Bucket(bucketRetry), key, rr.encode())
	}})
	return err
}

// DeadLetter implements [storage.Claims.DeadLetter].
func (s *Store) DeadLetter(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	const op = "dead letter"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s %q: %w", op, l.Instance, err)
	}
	if err := r.Validate(l, id); err != nil {
		return err
	}
	key, rr := []byte(id), retryOf(r)
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, err := s.write(&request{ctx: ctx, op: opName{verb: op}, apply: func(w *txState) (uint64, error) {
		seq, err := leasedEffect(w, op, l, key)
		if err != nil {
			return 0, err
		}
		v := make([]byte, 0, 3*binary.MaxVarintLen64+len(rr.lastError)+len(w.get(w.outbox, seq)))
		v = binary.AppendUvarint(v, binary.BigEndian.Uint64(seq))
		v = binary.AppendUvarint(v, rr.attempts)
		v = binary.AppendUvarint(v, rr.notBefore)
		v = appendString(v, rr.lastError)
		v = append(v, w.get(w.outbox, seq)...)
		if tooLarge(v) {
			return 0, checkSize(opName{verb: op}, fmt.Sprintf("dead letter %q", id), v)
		}
		if err := w.removeEffect(key, seq, false); err != nil {
			return 0, err
		}
		return 0, w.put(w.tx.Bucket(bucketDead), key, v)
	}})
	return err
}

// decodeDead decodes a value of the dead bucket.
func decodeDead(id, v []byte) (storage.Effect, error) {
	r := reader{b: v}
	seq := r.uvarint()
	var rr retryRecord
	rr.attempts = r.uvarint()
	rr.notBefore = r.uvarint()
	rr.lastError = r.string()
	if r.err != nil || rr.notBefore > maxDueCode || rr.attempts > 1<<32-1 {
		return storage.Effect{}, fmt.Errorf("bolt: dead letter %q: %w", id, ErrCorrupt)
	}
	e, err := decodeEffect(u64(seq), r.b)
	if err != nil {
		return storage.Effect{}, err
	}
	e.Seq = seq
	rr.apply(&e)
	return e, nil
}

// DeadLetters implements [storage.Claims.DeadLetters].
func (s *Store) DeadLetters(ctx context.Context, after string, limit int) ([]storage.Effect, error) {
	const op = "dead letters"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []storage.Effect
	err := s.checkedView(ctx, op, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketDead)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
		for ; k != nil && len(out) < limit; k, v = c.Next() {
			e, err := decodeDead(k, v)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", op, err)
	}
	return out, nil
}

// Requeue implements [storage.Claims.Requeue].
func (s *Store) Requeue(ctx context.Context, ids ...string) (int, error) {
	const op = "requeue"
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage: %s: %w", op, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.write(&request{ctx: ctx, op: opName{verb: op}, apply: func(w *txState) (uint64, error) {
		dead := w.tx.Bucket(bucketDead)
		var found []storage.Effect
		for _, id := range ids {
			v := dead.Get([]byte(id))
			if v == nil || slices.ContainsFunc(found, func(e storage.Effect) bool { return e.ID == id }) {
				continue
			}
			if w.get(w.effects, []byte(id)) != nil {
				// An older weft, which does not know dead letters, reused
				// the ID: the dead letter waits until that effect is gone.
				continue
			}
			e, err := decodeDead([]byte(id), v)
			if err != nil {
				return 0, err
			}
			found = append(found, e)
		}
		for _, e := range found {
			key := []byte(e.ID)
			if err := w.del(dead, key); err != nil {
				return 0, err
			}
			effs, err := encodeEffects(opName{verb: op}, []storage.Effect{{ID: e.ID, Instance: e.Instance, Data: e.Data}})
			if err != nil {
				return 0, err
			}
			if err := w.appendEffects(effs); err != nil {
				return 0, err
			}
			if e.LastError != "" {
				if err := w.put(w.tx.Bucket(bucketRetry), key, retryRecord{lastError: e.LastError}.encode()); err != nil {
					return 0, err
				}
			}
		}
		return uint64(len(found)), nil
	}})
	return int(n), err
}

// NextWork implements [storage.Claims.NextWork].
func (s *Store) NextWork(ctx context.Context, now time.Time) (time.Time, error) {
	const op = "next work"
	if err := ctx.Err(); err != nil {
		return time.Time{}, fmt.Errorf("storage: %s: %w", op, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var best time.Time
	var ferr error
	err := s.indexedView(ctx, op, func(tx *bbolt.Tx, current bool) error {
		best, ferr = time.Time{}, nil
		err := scanWork(tx, current, func(id string, t time.Time) bool {
			if !best.IsZero() && (!t.Before(best) || !best.After(now)) {
				return false
			}
			r, err := leaseAt(tx, []byte(id))
			if err != nil {
				ferr = err
				return false
			}
			if r.live(now) && dueTime(r.expires).After(t) {
				t = dueTime(r.expires)
			}
			if !t.After(now) {
				t = now
			}
			if best.IsZero() || t.Before(best) {
				best = t
			}
			return true
		})
		if err == nil {
			err = ferr
		}
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("storage: %s: %w", op, err)
	}
	return best, nil
}

// claimsConsistent reports whether the claims buckets exist and the ready
// and byInstance indexes either agree with the outbox or are marked as not
// kept (keyUnindexed).
func claimsConsistent(tx *bbolt.Tx) (bool, error) {
	for _, name := range claimBuckets {
		if tx.Bucket(name) == nil {
			return false, nil
		}
	}
	if unindexed(tx) {
		return true, nil // not kept, and known not to be (see keyUnindexed)
	}
	return indexesAgree(tx)
}

// indexesAgree reports whether the ready and byInstance indexes hold
// exactly one entry per outbox effect, at its retry state's not-before
// time (the check an older weft makes, which knows no keyUnindexed).
func indexesAgree(tx *bbolt.Tx) (bool, error) {
	ready, byInst, retry := tx.Bucket(bucketReady), tx.Bucket(bucketByInstance), tx.Bucket(bucketRetry)
	n := 0
	c := tx.Bucket(bucketOutbox).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		n++
		e, err := decodeEffect(k, v)
		if err != nil {
			return false, err
		}
		var nb uint64
		if rv := retry.Get([]byte(e.ID)); rv != nil {
			rr, err := decodeRetry([]byte(e.ID), rv)
			if err != nil {
				return false, err
			}
			nb = rr.notBefore
		}
		if got := ready.Get(readyKey(nb, k)); got == nil || string(got) != e.Instance {
			return false, nil
		}
		if byInst.Get(byInstanceKey([]byte(e.Instance), k)) == nil {
			return false, nil
		}
	}
	return ready.Stats().KeyN == n && byInst.Stats().KeyN == n, nil
}

// rebuildClaims creates missing claims buckets and rebuilds the ready and
// byInstance indexes from the outbox and the retry states, dropping retry
// states of effects no longer in the outbox.
func rebuildClaims(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketReady, bucketByInstance} {
		if tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
	}
	for _, name := range claimBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	ready, byInst, retry := tx.Bucket(bucketReady), tx.Bucket(bucketByInstance), tx.Bucket(bucketRetry)
	effects := tx.Bucket(bucketEffects)
	var stale [][]byte
	rc := retry.Cursor()
	for k, _ := rc.First(); k != nil; k, _ = rc.Next() {
		if effects.Get(k) == nil {
			stale = append(stale, append([]byte(nil), k...))
		}
	}
	for _, k := range stale {
		if err := retry.Delete(k); err != nil {
			return err
		}
	}
	c := tx.Bucket(bucketOutbox).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		e, err := decodeEffect(k, v)
		if err != nil {
			return err
		}
		var nb uint64
		if rv := retry.Get([]byte(e.ID)); rv != nil {
			rr, err := decodeRetry([]byte(e.ID), rv)
			if err != nil {
				return err
			}
			nb = rr.notBefore
		}
		seq := append([]byte(nil), k...)
		if err := ready.Put(readyKey(nb, seq), []byte(e.Instance)); err != nil {
			return err
		}
		if err := byInst.Put(byInstanceKey([]byte(e.Instance), seq), nil); err != nil {
			return err
		}
	}
	return nil
}

// claimsStale reports whether the file has claims buckets whose indexes
// disagree with the outbox (a file without them is not stale: Open adds
// them).
func claimsStale(tx *bbolt.Tx) (bool, error) {
	for _, name := range claimBuckets {
		if tx.Bucket(name) == nil {
			return false, nil
		}
	}
	ok, err := claimsConsistent(tx)
	return !ok, err
}

// prepareClaims makes the claims buckets of a read-write store whole,
// writing only if they are not.
func prepareClaims(db *bbolt.DB) error {
	var ok bool
	if err := db.View(func(tx *bbolt.Tx) error {
		var err error
		ok, err = claimsConsistent(tx)
		return err
	}); err != nil || ok {
		return err
	}
	err := db.Update(rebuildClaims)
	if errors.Is(err, berrors.ErrIncompatibleValue) { // rolled back: nothing written
		return fmt.Errorf("%w: a claims bucket's name holds a value: %w", ErrCorrupt, err)
	}
	return err
}
