package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/weftflow/weft/storage"
)

// request is one write (Create, Commit or Ack) waiting for the writer.
type request struct {
	ctx context.Context
	op  opName // for error messages: `create "id"`, `commit "id"`, `ack`
	ack bool   // an Ack (see writeLoop)
	// apply checks the request against the transaction's state and, if it
	// passes, writes it. It must check everything before its first write:
	// an error returned without writing rejects this request only; an error
	// after a write aborts the transaction.
	apply func(w *txState) (uint64, error)

	version uint64
	err     error
	done    chan struct{} // receives once when version and err are final (capacity 1)
}

// requests recycles the requests that write hands to the writer, with
// their done channels: a write allocates neither (the request its caller
// builds stays on the caller's stack).
var requests = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// txState is a write transaction shared by a batch of requests.
type txState struct {
	tx                                     *bbolt.Tx
	meta, instances, outbox, effects, dues *bbolt.Bucket

	seq      uint64 // the last outbox sequence used
	seqDirty bool
	index    bool   // the transaction keeps the claims indexes (see keyUnindexed)
	marked   bool   // the file says its claims indexes are not current
	writes   int    // number of Put and Delete calls so far
	delKey   []byte // a buffer for keys to delete (see del)
	cursors  []bucketCursor
}

// bucketCursor is the cursor a transaction keeps on a bucket (see cursor).
type bucketCursor struct {
	b *bbolt.Bucket
	c *bbolt.Cursor
}

func (s *Store) begin() (w *txState, err error) {
	if s.wedged.Load() {
		return nil, s.errWedged()
	}
	var tx *bbolt.Tx
	if err := guard(func() (err error) { tx, err = s.db.Begin(true); return err }); err != nil {
		s.wedge(err)
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil { // a damaged page: see guard
			s.rollback(tx)
			w, err = nil, fmt.Errorf("bolt: %s: %w: bbolt failed reading the file: %v", s.path, ErrCorrupt, p)
		}
	}()
	w = &txState{
		tx:        tx,
		meta:      tx.Bucket(bucketMeta),
		instances: tx.Bucket(bucketInstances),
		outbox:    tx.Bucket(bucketOutbox),
		effects:   tx.Bucket(bucketEffects),
		dues:      tx.Bucket(bucketDue),
	}
	v := w.get(w.meta, keySeq)
	if len(v) != 8 {
		s.rollback(tx)
		return nil, fmt.Errorf("bolt: %s: %w: bad outbox sequence", s.path, ErrCorrupt)
	}
	w.seq = binary.BigEndian.Uint64(v)
	w.marked = w.get(w.meta, keyUnindexed) != nil
	w.index = s.readers.Load() && !w.marked
	return w, nil
}

// put and del count writes. bbolt keeps a key and value put until the
// transaction ends, so callers of put pass slices they never reuse; a
// deleted key is not kept (delKey is reused).
func (w *txState) put(b *bbolt.Bucket, k, v []byte) error {
	w.writes++
	return b.Put(k, v)
}

func (w *txState) del(b *bbolt.Bucket, k []byte) error {
	w.writes++
	c := w.cursor(b)
	if got, _ := c.Seek(k); !bytes.Equal(got, k) {
		return nil // (as Bucket.Delete: nothing to delete)
	}
	return c.Delete()
}

// get is b.Get(k) through the transaction's cursor on b.
func (w *txState) get(b *bbolt.Bucket, k []byte) []byte {
	got, v := w.cursor(b).Seek(k)
	if !bytes.Equal(got, k) {
		return nil
	}
	return v
}

// cursor returns the transaction's cursor on b, made at its first use.
// Every bbolt Get and Delete makes a cursor of its own and grows its stack
// as it descends the tree, about three allocations a call (a third of the
// allocations of a commit with effects and its acknowledgement); Seek on a
// cursor kept for the transaction reuses them. (Every use seeks first: a
// cursor is repositioned after the tree changed under it.)
func (w *txState) cursor(b *bbolt.Bucket) *bbolt.Cursor {
	for _, bc := range w.cursors {
		if bc.b == b {
			return bc.c
		}
	}
	c := b.Cursor()
	w.cursors = append(w.cursors, bucketCursor{b, c})
	return c
}

// finish writes the outbox sequence back if it moved.
func (w *txState) finish() error {
	if err := w.put(w.meta, keyListed, u64(uint64(w.tx.ID()))); err != nil { // see keyListed
		return err
	}
	if !w.seqDirty {
		return nil
	}
	return w.put(w.meta, keySeq, u64(w.seq))
}

// ackLinger is how long a batch of acknowledgements alone waits for a
// Create or Commit to share its transaction (see writeLoop).
const ackLinger = time.Millisecond

// ackLingerFor is the store's ackLinger: none without fsync (there is
// nothing to share) or without group commit.
func ackLingerFor(o options) time.Duration {
	if o.linger != nil {
		return *o.linger
	}
	if o.noSync || o.maxBatch == 1 {
		return 0
	}
	return ackLinger
}

// writeLoop is the writer goroutine: it takes every request queued (up to
// maxBatch) and applies them in one transaction, so that concurrent writes
// share the fsyncs. Requests arriving while a transaction commits queue up
// for the next one.
//
// A batch of Acks alone, after a transaction that held a Create or Commit,
// waits up to ackLinger for one to join it. An engine acknowledges the
// effects of a commit while its caller prepares the next commit, so
// without the wait the two alternate, each with its own fsync; with it
// they share one (docs/performance.md). Only acknowledgements wait, and
// only while commits are coming: a lone Ack is not held back. An Ack still
// returns only once its transaction is durable.
func (s *Store) writeLoop() {
	defer close(s.writerDone)
	// Let reads of a damaged page panic rather than fault; begin, safeApply
	// and commit recover the panics (see guard).
	debug.SetPanicOnFault(true)
	batch := make([]*request, 0, s.maxBatch)
	var linger *time.Timer
	committed := false // the last transaction held a Create or Commit
	for {
		select {
		case r := <-s.reqs:
			batch = append(batch[:0], r)
		case <-s.quit:
			return
		}
	drain:
		for len(batch) < s.maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		acksOnly := !slices.ContainsFunc(batch, func(r *request) bool { return !r.ack })
		if acksOnly && committed && s.ackLinger > 0 {
			if linger == nil {
				linger = time.NewTimer(s.ackLinger)
			} else {
				linger.Reset(s.ackLinger)
			}
		wait:
			for len(batch) < s.maxBatch {
				select {
				case r := <-s.reqs:
					batch = append(batch, r)
					if !r.ack {
						break wait
					}
				case <-linger.C:
					break wait
				case <-s.quit: // (Close waits for calls in flight: not while a batch waits)
					break wait
				}
			}
			linger.Stop()
			acksOnly = !slices.ContainsFunc(batch, func(r *request) bool { return !r.ack })
		}
		s.runBatch(batch)
		committed = !acksOnly
		clear(batch) // drop references for the garbage collector
	}
}

// runBatch applies batch in one transaction and sets every request's result.
func (s *Store) runBatch(batch []*request) {
	defer func() {
		for _, r := range batch {
			r.done <- struct{}{} // never blocks: one signal per use (see write)
		}
	}()
	if err := s.failure(); err != nil {
		for _, r := range batch {
			r.err = s.refused(r.op, err)
		}
		return
	}

	live := append([]*request(nil), batch...)
	for len(live) > 0 {
		w, err := s.begin()
		if err != nil {
			for _, r := range live {
				r.version, r.err = 0, fmt.Errorf("storage: %s: %w", r.op, err)
			}
			return
		}
		aborted := -1
		for i, r := range live {
			r.version, r.err = 0, nil
			if err := r.ctx.Err(); err != nil {
				r.err = fmt.Errorf("storage: %s: %w", r.op, err)
				continue
			}
			before := w.writes
			v, err := safeApply(r, w)
			if err != nil && w.writes != before {
				// Partly written: drop this request and redo the others
				// in a new transaction.
				r.err = fmt.Errorf("storage: %s: %w", r.op, err)
				aborted = i
				break
			}
			r.version, r.err = v, err
		}
		if aborted >= 0 {
			s.rollback(w.tx)
			live = append(live[:aborted], live[aborted+1:]...)
			continue
		}
		if w.writes == 0 { // every request was rejected: nothing to sync
			s.rollback(w.tx)
			return
		}
		err = w.finish()
		if err != nil {
			s.rollback(w.tx)
		} else if err = s.commit(w.tx); err != nil {
			// The file may now hold part of the transaction, and bbolt's
			// view of it is uncertain: refuse further writes.
			err = s.fail(err)
		}
		if err != nil {
			for _, r := range live {
				r.version, r.err = 0, fmt.Errorf("storage: %s: %w", r.op, err)
			}
			return
		}
		s.transactions.Add(1)
		s.current.Store(!w.marked)
		n := uint64(0)
		for _, r := range live {
			if r.err == nil {
				n++
			}
		}
		s.writes.Add(n)
		return
	}
}

// safeApply calls r.apply, turning a panic into an error that aborts the
// transaction, so that a damaged page (or a bug) cannot kill the writer and
// hang every caller.
func safeApply(r *request, w *txState) (v uint64, err error) {
	defer func() {
		if p := recover(); p != nil {
			w.writes++ // abort the transaction: it may be half written
			v, err = 0, fmt.Errorf("%w: bbolt failed while writing: %v", ErrCorrupt, p)
		}
	}()
	return r.apply(w)
}

// commit commits tx. If bbolt panics (rebalancing and spilling read the
// pages the transaction touched, which may be damaged), it rolls tx back
// and returns an error wrapping ErrCorrupt; if the rollback panics too, the
// store is wedged (see wedge).
func (s *Store) commit(tx *bbolt.Tx) error {
	err := guard(tx.Commit)
	if panicked(err) {
		s.rollback(tx)
		return fmt.Errorf("%w: bbolt failed while committing: %v", ErrCorrupt, err.(*bboltPanic).p)
	}
	return err
}

// fail records err as the store's write failure and returns it wrapped in
// ErrWriteFailed and storage.ErrOutcomeUnknown: the failing transaction
// may have reached the file (see the Caveats of the package doc). The
// writes refused afterwards wrap the recorded failure alone, since they
// certainly wrote nothing.
func (s *Store) fail(err error) error {
	err = fmt.Errorf("%w: %w", ErrWriteFailed, err)
	s.failed.CompareAndSwap(nil, &err)
	return fmt.Errorf("%w: %w", storage.ErrOutcomeUnknown, err)
}

// failure returns the store's write failure, or nil.
func (s *Store) failure() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// refused is the error of a write refused because of an earlier failure.
func (s *Store) refused(op opName, failure error) error {
	return fmt.Errorf("storage: %s: bolt: %s refuses writes after an earlier one failed (close and reopen it): %w",
		op, s.path, failure)
}

// write checks the store's state and hands the writer a request with in's
// ctx, op, ack and apply (in itself is not kept). The caller holds s.mu
// for reading.
func (s *Store) write(in *request) (uint64, error) {
	if s.closed {
		return 0, fmt.Errorf("storage: %s: %w", in.op, storage.ErrClosed)
	}
	if s.readOnly {
		return 0, fmt.Errorf("storage: %s: bolt: %s: %w", in.op, s.path, ErrReadOnly)
	}
	if err := s.failure(); err != nil {
		return 0, s.refused(in.op, err)
	}
	if s.wedged.Load() {
		return 0, fmt.Errorf("storage: %s: %w", in.op, s.errWedged())
	}
	r := requests.Get().(*request)
	r.ctx, r.op, r.ack, r.apply = in.ctx, in.op, in.ack, in.apply
	select {
	case s.reqs <- r:
	case <-s.wedgedCh:
		recycle(r)
		return 0, fmt.Errorf("storage: %s: %w", in.op, s.errWedged())
	}
	// Not abandoned on ctx cancellation: the outcome is known, except on a
	// wedged store, whose writer may never answer (then r is not recycled:
	// the writer may still signal it).
	select {
	case <-r.done:
		return done(r)
	case <-s.wedgedCh:
		select {
		case <-r.done:
			return done(r)
		case <-time.After(wedgedGrace):
			return 0, fmt.Errorf("storage: %s: %w: %w", r.op, storage.ErrOutcomeUnknown, s.errWedged())
		}
	}
}

// done returns the result of r, which the writer has signalled, and
// recycles r.
func done(r *request) (uint64, error) {
	v, err := r.version, r.err
	recycle(r)
	return v, err
}

// recycle clears r, whose done channel holds no signal, and returns it to
// requests.
func recycle(r *request) {
	*r = request{done: r.done}
	requests.Put(r)
}

// encodedEffect is an effect ready to be written.
type encodedEffect struct {
	id        []byte
	value     []byte
	instance  []byte // for the claims indexes
	notBefore uint64 // due code of NotBefore
}

// encodeEffects encodes effects, checking bbolt's size limit.
func encodeEffects(op opName, effects []storage.Effect) ([]encodedEffect, error) {
	out := make([]encodedEffect, len(effects))
	for i, e := range effects {
		out[i] = encodedEffect{id: []byte(e.ID), value: encodeEffect(e),
			instance: []byte(e.Instance), notBefore: dueCode(storage.NormalizeDue(e.NotBefore))}
		if tooLarge(out[i].value) {
			return nil, checkSize(op, "effect "+fmt.Sprintf("%q", e.ID), out[i].value)
		}
	}
	return out, nil
}

// opName names a write in its errors: a verb and, for a write of one
// instance, the instance's ID, quoted (`commit "id"`). It is formatted only
// when an error is, not at every write.
type opName struct{ verb, id string }

func (o opName) String() string {
	if o.id == "" {
		return o.verb
	}
	return o.verb + " " + strconv.Quote(o.id)
}

// tooLarge reports whether v is too large for bbolt (see checkSize).
func tooLarge(v []byte) bool { return int64(len(v)) > bbolt.MaxValueSize }

// checkSize fails with ErrInvalid if v is too large for bbolt.
func checkSize(op opName, what string, v []byte) error {
	if tooLarge(v) {
		return fmt.Errorf("storage: %s: %s encodes to %d bytes, more than bbolt's limit of %d: %w",
			op, what, len(v), int64(bbolt.MaxValueSize), storage.ErrInvalid)
	}
	return nil
}

// checkEffects fails with ErrExists if an effect ID is in the outbox.
func (w *txState) checkEffects(effects []encodedEffect) error {
	for _, e := range effects {
		if w.get(w.effects, e.id) != nil {
			return fmt.Errorf("effect %q %w in the outbox", e.id, storage.ErrExists)
		}
		if w.get(w.tx.Bucket(bucketDead), e.id) != nil {
			return fmt.Errorf("effect %q %w among the dead letters", e.id, storage.ErrExists)
		}
	}
	return nil
}

// appendEffects appends effects to the outbox and the effect index.
func (w *txState) appendEffects(effects []encodedEffect) error {
	for _, e := range effects {
		w.seq++
		w.seqDirty = true
		seq := u64(w.seq)
		if err := w.put(w.outbox, seq, e.value); err != nil {
			return err
		}
		if err := w.put(w.effects, e.id, seq); err != nil {
			return err
		}
		if err := w.indexEffect(e, seq); err != nil {
			return err
		}
	}
	return nil
}

// Create implements [storage.Store.Create].
func (s *Store) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	op := opName{"create", inst.ID}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := inst.Validate(); err != nil {
		return 0, err
	}
	if err := storage.ValidateEffects(inst.ID, effects); err != nil {
		return 0, err
	}
	named := inst.Version // the tombstone's, if the ID has one
	inst.Version = 1
	inst.Due = storage.NormalizeDue(inst.Due)
	id := []byte(inst.ID)
	record := encodeInstance(inst)
	if err := checkSize(op, "the instance", record); err != nil {
		return 0, err
	}
	effs, err := encodeEffects(op, effects)
	if err != nil {
		return 0, err
	}
	journal, err := encodeJournal(op, inst.ID, inst.Journal)
	if err != nil {
		return 0, err
	}
	var due []byte
	if !inst.Due.IsZero() {
		due = dueKey(inst.Due, inst.ID)
	}
	kind := kindKey(inst.Workflow, inst.Status)

	instID := inst.ID // for the closure, so that inst stays off the heap

	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.write(&request{ctx: ctx, op: op, apply: func(w *txState) (uint64, error) {
		if w.get(w.instances, id) != nil {
			return 0, fmt.Errorf("storage: %s: instance %w", op, storage.ErrExists)
		}
		record, version := record, uint64(1)
		if tv, tomb, ok, err := w.tombstone(id); err != nil {
			return 0, fmt.Errorf("storage: %s: %w", op, err)
		} else if ok {
			if record, err = createOver(instID, record, named, tv, tomb); err != nil {
				return 0, err
			}
			version = tv + 1
		}
		if err := w.checkEffects(effs); err != nil {
			return 0, fmt.Errorf("storage: %s: %w", op, err)
		}
		if err := w.checkJournal(id, journal); err != nil {
			return 0, fmt.Errorf("storage: %s: %w", op, err)
		}
		if err := w.put(w.instances, id, record); err != nil {
			return 0, err
		}
		if due != nil {
			if err := w.put(w.dues, due, nil); err != nil {
				return 0, err
			}
		}
		if err := w.appendJournal(id, journal); err != nil {
			return 0, err
		}
		if err := w.listed(kind, instID); err != nil {
			return 0, err
		}
		return version, w.appendEffects(effs)
	}})
}

// Commit implements [storage.Store.Commit].
func (s *Store) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	op := opName{"commit", c.Instance.ID}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := c.Validate(); err != nil {
		return 0, err
	}
	inst := c.Instance
	inst.Version = c.Expect + 1
	inst.Due = storage.NormalizeDue(inst.Due)
	id := []byte(inst.ID)
	record := encodeInstance(inst)
	if err := checkSize(op, "the instance", record); err != nil {
		return 0, err
	}
	effs, err := encodeEffects(op, c.Effects)
	if err != nil {
		return 0, err
	}
	journal, err := encodeJournal(op, inst.ID, inst.Journal)
	if err != nil {
		return 0, err
	}
	newDue := dueCode(inst.Due)
	var newDueKey []byte // built here rather than in the writer
	if newDue != 0 {
		newDueKey = dueKey(inst.Due, inst.ID)
	}
	kind := kindKey(inst.Workflow, inst.Status)

	// The closure takes copies of what it reads, so that inst and c stay
	// off the heap.
	lease, expect, version := c.Lease, c.Expect, inst.Version
	instID, workflow, status := inst.ID, inst.Workflow, inst.Status

	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.write(&request{ctx: ctx, op: op, apply: func(w *txState) (uint64, error) {
		old := w.get(w.instances, id)
		if old == nil {
			return 0, fmt.Errorf("storage: %s: instance %w", op, storage.ErrNotFound)
		}
		stored, oldDue, err := decodeHead(instID, old)
		if err != nil {
			return 0, fmt.Errorf("storage: %s: %w", op, err)
		}
		if lease != nil {
			if _, err := fence(w.tx, "commit", *lease); err != nil {
				return 0, err
			}
		}
		if stored != expect {
			return 0, fmt.Errorf("storage: %s: %w (expected %d, stored %d)", op, storage.ErrConflict, expect, stored)
		}
		if err := w.checkJournal(id, journal); err != nil {
			return 0, fmt.Errorf("storage: %s: %w", op, err)
		}
		if err := w.checkEffects(effs); err != nil {
			return 0, fmt.Errorf("storage: %s: %w", op, err)
		}
		oldKind, err := kindBytes(instID, old)
		if err != nil {
			return 0, fmt.Errorf("storage: %s: %w", op, err)
		}
		// The same bytes are the same kind (no strings decoded); other
		// bytes may still be the same kind in a record whose lengths were
		// written in a longer varint form, so those are decoded.
		relist := false
		if !bytes.Equal(oldKind, kind) {
			oldWorkflow, oldStatus, err := decodeKind(instID, old)
			if err != nil {
				return 0, fmt.Errorf("storage: %s: %w", op, err)
			}
			if relist = oldWorkflow != workflow || oldStatus != status; relist {
				oldKind = kindKey(oldWorkflow, oldStatus)
			}
		}
		if err := w.put(w.instances, id, record); err != nil {
			return 0, err
		}
		if relist {
			if err := w.unlisted(oldKind, instID); err != nil {
				return 0, err
			}
			if err := w.listed(kind, instID); err != nil {
				return 0, err
			}
		}
		if oldDue != newDue {
			if oldDue != 0 {
				w.delKey = appendDueKey(w.delKey[:0], dueTime(oldDue), instID)
				if err := w.del(w.dues, w.delKey); err != nil {
					return 0, err
				}
			}
			if newDue != 0 {
				if err := w.put(w.dues, newDueKey, nil); err != nil {
					return 0, err
				}
			}
		}
		if err := w.appendJournal(id, journal); err != nil {
			return 0, err
		}
		return version, w.appendEffects(effs)
	}})
}

// Ack implements [storage.Store.Ack].
func (s *Store) Ack(ctx context.Context, ids ...string) error {
	const op = "ack"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("storage: %s: %w", op, storage.ErrClosed)
	}
	if s.readOnly {
		return fmt.Errorf("storage: %s: bolt: %s: %w", op, s.path, ErrReadOnly)
	}
	// Skip the write transaction (and its fsync) if no ID is pending.
	var keys [][]byte
	if err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketEffects).Cursor() // (one for all: see txState.cursor)
		for _, id := range ids {
			if k, _ := c.Seek([]byte(id)); string(k) == id {
				keys = append(keys, []byte(id))
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	if len(keys) == 0 {
		return nil
	}
	_, err := s.write(&request{ctx: ctx, op: opName{verb: op}, ack: true, apply: func(w *txState) (uint64, error) {
		for _, k := range keys {
			seq := w.get(w.effects, k)
			if seq == nil {
				continue // acknowledged concurrently
			}
			if err := w.removeEffect(k, append([]byte(nil), seq...), false); err != nil {
				return 0, err
			}
		}
		return 0, nil
	}})
	return err
}
