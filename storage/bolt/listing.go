package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/weftflow/weft/storage"
)

// The buckets of listing (storage.Listing), added to format 1 without a
// version bump, as the claims buckets were: a store opened read-write
// creates them and fills them from the instances if they are missing or do
// not agree with the instances (an older weft wrote to the file), and a
// store without them (opened read-only) lists by reading every instance.
var (
	bucketKinds  = []byte("kinds")  // kind ++ instance ID -> empty
	bucketCounts = []byte("counts") // kind -> 8-byte big-endian number of instances of the kind

	listingBuckets = [][]byte{bucketKinds, bucketCounts}
)

// kindKey returns the kind of an instance, its workflow and status, as a
// key prefix: each length-prefixed (uvarint), so that no kind's keys
// extend another kind's.
func kindKey(workflow, status string) []byte {
	k := make([]byte, 0, 2*binary.MaxVarintLen64+len(workflow)+len(status))
	return appendString(appendString(k, workflow), status)
}

// parseKind inverts kindKey, returning what follows the kind in k (the
// instance ID in a key of bucketKinds).
func parseKind(k []byte) (workflow, status string, rest []byte, err error) {
	r := reader{b: k}
	workflow, status = r.string(), r.string()
	if r.err != nil {
		return "", "", nil, fmt.Errorf("bolt: listing key %.40q: %w: %w", k, ErrCorrupt, r.err)
	}
	return workflow, status, r.b, nil
}

// decodeKind returns the workflow and status of an encoded instance.
func decodeKind(id string, v []byte) (workflow, status string, err error) {
	r := reader{b: v}
	r.uvarint()
	workflow, status = r.string(), r.string()
	if r.err != nil {
		return "", "", fmt.Errorf("bolt: instance %q: %w: %w", id, ErrCorrupt, r.err)
	}
	return workflow, status, nil
}

// kindBytes returns the bytes of an encoded instance that hold its
// workflow and status. For a record written by encodeInstance they are
// kindKey(workflow, status): a commit that keeps the kind compares them
// with the new kind key instead of decoding two strings. It fails as
// decodeKind does.
func kindBytes(id string, v []byte) ([]byte, error) {
	r := reader{b: v}
	r.uvarint()
	start := r.b
	r.skip()
	r.skip()
	if r.err != nil {
		return nil, fmt.Errorf("bolt: instance %q: %w: %w", id, ErrCorrupt, r.err)
	}
	return start[:len(start)-len(r.b)], nil
}

// addCount adds delta to the count of kind.
func (w *txState) addCount(kind []byte, delta int64) error {
	counts := w.tx.Bucket(bucketCounts)
	var n uint64
	if v := counts.Get(kind); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	n = uint64(int64(n) + delta)
	if n == 0 {
		return w.del(counts, kind)
	}
	return w.put(counts, kind, u64(n))
}

// listed indexes instance id under kind (a kindKey).
func (w *txState) listed(kind []byte, id string) error {
	if err := w.put(w.tx.Bucket(bucketKinds), append(slices.Clip(kind), id...), nil); err != nil {
		return err
	}
	return w.addCount(kind, 1)
}

// unlisted removes instance id from kind's index.
func (w *txState) unlisted(kind []byte, id string) error {
	if err := w.del(w.tx.Bucket(bucketKinds), append(slices.Clip(kind), id...)); err != nil {
		return err
	}
	return w.addCount(kind, -1)
}

// keyListed, in the meta bucket, holds the ID (8 bytes, big-endian) of the
// last write transaction that kept the listing buckets: every transaction
// of this code's writer does (txState.finish). An older weft's writes do
// not, so a file it wrote to last holds an older ID, and Open rebuilds the
// listing buckets: checking that the ID is the file's last one costs
// nothing, where comparing the buckets with the instances costs a read of
// every instance.
var keyListed = []byte("listed")

// listingCurrent reports whether the listing buckets exist and were kept
// by the file's last write transaction. tx is a read transaction.
func listingCurrent(tx *bbolt.Tx) bool {
	for _, name := range listingBuckets {
		if tx.Bucket(name) == nil {
			return false
		}
	}
	v := tx.Bucket(bucketMeta).Get(keyListed)
	return len(v) == 8 && binary.BigEndian.Uint64(v) == uint64(tx.ID())
}

// listingStale reports whether the listing buckets exist but may disagree
// with the instances: an older weft wrote to the file since, or it is
// damaged. tx is a read transaction.
func listingStale(tx *bbolt.Tx) bool {
	return tx.Bucket(bucketKinds) != nil && !listingCurrent(tx)
}

// rebuildListing recreates the listing buckets from the instances.
func rebuildListing(tx *bbolt.Tx) error {
	for _, name := range listingBuckets {
		if tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	kinds, counts := tx.Bucket(bucketKinds), tx.Bucket(bucketCounts)
	want := map[string]uint64{}
	c := tx.Bucket(bucketInstances).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		wf, st, err := decodeKind(string(k), v)
		if err != nil {
			continue // a damaged record stays out of the index: Load reports it
		}
		kind := kindKey(wf, st)
		if err := kinds.Put(append(kind, k...), nil); err != nil {
			return err
		}
		want[string(kind)]++
	}
	for kind, n := range want {
		if err := counts.Put([]byte(kind), u64(n)); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketMeta).Put(keyListed, u64(uint64(tx.ID())))
}

// prepareListing makes the listing buckets of a read-write store whole,
// writing only if they are not.
func prepareListing(db *bbolt.DB) error {
	var ok bool
	if err := db.View(func(tx *bbolt.Tx) error {
		ok = listingCurrent(tx)
		return nil
	}); err != nil || ok {
		return err
	}
	err := db.Update(rebuildListing)
	if errors.Is(err, berrors.ErrIncompatibleValue) { // rolled back: nothing written
		return fmt.Errorf("%w: a listing bucket's name holds a value: %w", ErrCorrupt, err)
	}
	return err
}

// Find implements [storage.Listing.Find]. By ID with a workflow or a
// status, it reads at most q.Limit+1 keys from the index of each
// (workflow, status) pair the filter admits (one when it names both);
// without either, the instances themselves. By due time it walks the due
// index from the cursor and skips the instances the filter refuses,
// reading each one's workflow and status from its index when the filter
// names both, else from the instance.
func (s *Store) Find(ctx context.Context, q storage.Query) (storage.Page, error) {
	const op = "find"
	if err := ctx.Err(); err != nil {
		return storage.Page{}, fmt.Errorf("storage: %s: %w", op, err)
	}
	c, err := q.Validate()
	if err != nil {
		return storage.Page{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return storage.Page{}, fmt.Errorf("storage: %s: %w", op, storage.ErrClosed)
	}
	var p storage.Page
	err = s.view(func(tx *bbolt.Tx) error {
		var ids []string
		var err error
		switch {
		case q.Order == storage.ByDue:
			ids, err = findByDue(tx, q, c)
		case (q.Workflow != "" || q.Status != "") && tx.Bucket(bucketKinds) != nil:
			ids, err = findByKind(tx, q, c)
		default:
			ids, err = findByID(tx, q, c)
		}
		if err != nil {
			return err
		}
		instances := tx.Bucket(bucketInstances)
		for i, id := range ids {
			if i == q.Limit {
				p.Next = storage.NextCursor(q.Order, p.Instances[i-1])
				break
			}
			v := instances.Get([]byte(id))
			if v == nil {
				return fmt.Errorf("bolt: instance %q: %w: listed but missing", id, ErrCorrupt)
			}
			inst, err := decodeInstance(id, v)
			if err != nil {
				return err
			}
			p.Instances = append(p.Instances, inst)
		}
		return nil
	})
	if err != nil {
		return storage.Page{}, fmt.Errorf("storage: %s: %w", op, err)
	}
	return p, nil
}

// start returns where a cursor over IDs in ID order begins for c and
// prefix: the greater of the two.
func start(c storage.Cursor, prefix string) []byte {
	if c.Set && c.ID >= prefix {
		return append([]byte(c.ID), 0) // the least key after c.ID
	}
	return []byte(prefix)
}

// findByID returns up to q.Limit+1 IDs matching q from the instances.
func findByID(tx *bbolt.Tx, q storage.Query, c storage.Cursor) ([]string, error) {
	var ids []string
	cur := tx.Bucket(bucketInstances).Cursor()
	for k, v := cur.Seek(start(c, q.IDPrefix)); k != nil && len(ids) <= q.Limit; k, v = cur.Next() {
		if !bytes.HasPrefix(k, []byte(q.IDPrefix)) {
			break
		}
		if q.Workflow != "" || q.Status != "" { // no index (read-only, older file)
			wf, st, err := decodeKind(string(k), v)
			if err != nil {
				return nil, err
			}
			if (q.Workflow != "" && wf != q.Workflow) || (q.Status != "" && st != q.Status) {
				continue
			}
		}
		ids = append(ids, string(k))
	}
	return ids, nil
}

// kindsOf returns the kinds the filter admits, from the counts bucket.
func kindsOf(tx *bbolt.Tx, f storage.Filter) ([][]byte, error) {
	if f.Workflow != "" && f.Status != "" {
		return [][]byte{kindKey(f.Workflow, f.Status)}, nil
	}
	var out [][]byte
	cur := tx.Bucket(bucketCounts).Cursor()
	for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
		wf, st, _, err := parseKind(k)
		if err != nil {
			return nil, err
		}
		if (f.Workflow == "" || wf == f.Workflow) && (f.Status == "" || st == f.Status) {
			out = append(out, slices.Clone(k))
		}
	}
	return out, nil
}

// findByKind returns up to q.Limit+1 IDs matching q from the kinds index:
// as many from each kind, merged.
func findByKind(tx *bbolt.Tx, q storage.Query, c storage.Cursor) ([]string, error) {
	kinds, err := kindsOf(tx, q.Filter)
	if err != nil {
		return nil, err
	}
	var ids []string
	cur := tx.Bucket(bucketKinds).Cursor()
	for _, kind := range kinds {
		n := 0
		for k, _ := cur.Seek(append(slices.Clip(kind), start(c, q.IDPrefix)...)); k != nil && n <= q.Limit; k, _ = cur.Next() {
			id, ok := bytes.CutPrefix(k, kind)
			if !ok || !bytes.HasPrefix(id, []byte(q.IDPrefix)) {
				break
			}
			ids = append(ids, string(id))
			n++
		}
	}
	if len(kinds) > 1 {
		slices.Sort(ids)
	}
	return ids[:min(len(ids), q.Limit+1)], nil
}

// findByDue returns up to q.Limit+1 IDs matching q from the due index.
func findByDue(tx *bbolt.Tx, q storage.Query, c storage.Cursor) ([]string, error) {
	var from []byte
	if c.Set {
		from = append(dueKey(c.Due, c.ID), 0) // the least key after the cursor's
	}
	kinds, instances := tx.Bucket(bucketKinds), tx.Bucket(bucketInstances)
	var exact []byte // the kind to look up, when the filter names both
	if q.Workflow != "" && q.Status != "" && kinds != nil {
		exact = kindKey(q.Workflow, q.Status)
	}
	var ids []string
	cur := tx.Bucket(bucketDue).Cursor()
	k, _ := cur.First()
	if from != nil {
		k, _ = cur.Seek(from)
	}
	for ; k != nil && len(ids) <= q.Limit; k, _ = cur.Next() {
		d, err := parseDueKey(k)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(d.ID, q.IDPrefix) {
			continue
		}
		switch {
		case exact != nil:
			if kinds.Get(append(slices.Clip(exact), d.ID...)) == nil {
				continue
			}
		case q.Workflow != "" || q.Status != "":
			v := instances.Get([]byte(d.ID))
			if v == nil {
				return nil, fmt.Errorf("bolt: instance %q: %w: in the due index but missing", d.ID, ErrCorrupt)
			}
			wf, st, err := decodeKind(d.ID, v)
			if err != nil {
				return nil, err
			}
			if (q.Workflow != "" && wf != q.Workflow) || (q.Status != "" && st != q.Status) {
				continue
			}
		}
		ids = append(ids, d.ID)
	}
	return ids, nil
}

// Count implements [storage.Listing.Count]. Without an IDPrefix it reads
// one stored count per (workflow, status) pair the filter admits; with
// one, it reads the matching keys of those pairs' indexes.
func (s *Store) Count(ctx context.Context, f storage.Filter) (map[string]int, error) {
	const op = "count"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: %s: %w", op, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("storage: %s: %w", op, storage.ErrClosed)
	}
	out := map[string]int{}
	err := s.view(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketCounts) == nil { // no index (read-only, older file)
			return countByScan(tx, f, out)
		}
		kinds, err := kindsOf(tx, f)
		if err != nil {
			return err
		}
		counts := tx.Bucket(bucketCounts)
		cur := tx.Bucket(bucketKinds).Cursor()
		for _, kind := range kinds {
			_, st, _, err := parseKind(kind)
			if err != nil {
				return err
			}
			n := 0
			if f.IDPrefix == "" {
				if v := counts.Get(kind); len(v) == 8 {
					n = int(binary.BigEndian.Uint64(v))
				}
			} else {
				from := append(slices.Clip(kind), f.IDPrefix...)
				for k, _ := cur.Seek(from); k != nil && bytes.HasPrefix(k, from); k, _ = cur.Next() {
					n++
				}
			}
			if n > 0 {
				out[st] += n
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", op, err)
	}
	return out, nil
}

// countByScan counts the instances matching f into out, reading them all.
func countByScan(tx *bbolt.Tx, f storage.Filter, out map[string]int) error {
	cur := tx.Bucket(bucketInstances).Cursor()
	for k, v := cur.Seek([]byte(f.IDPrefix)); k != nil && bytes.HasPrefix(k, []byte(f.IDPrefix)); k, v = cur.Next() {
		wf, st, err := decodeKind(string(k), v)
		if err != nil {
			return err
		}
		if (f.Workflow == "" || wf == f.Workflow) && (f.Status == "" || st == f.Status) {
			out[st]++
		}
	}
	return nil
}

// Delete implements [storage.Retention.Delete]. Besides the instance's own
// keys it reads the dead letters, all of them. It leaves the instance's
// tombstone in the tombstones bucket.
func (s *Store) Delete(ctx context.Context, id string, expect uint64, tombstone []byte) error {
	op := fmt.Sprintf("delete %q", id)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := storage.ValidateID(id); err != nil {
		return err
	}
	key := []byte(id)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.readIndexes(ctx, op); err != nil { // Delete reads the byInstance index
		return err
	}
	_, err := s.write(&request{ctx: ctx, op: opName{verb: op}, apply: func(w *txState) (uint64, error) {
		v := w.get(w.instances, key)
		if v == nil {
			return 0, fmt.Errorf("storage: %s: instance %w", op, storage.ErrNotFound)
		}
		version, due, err := decodeHead(id, v)
		if err != nil {
			return 0, fmt.Errorf("storage: %s: %w", op, err)
		}
		if version != expect {
			return 0, fmt.Errorf("storage: %s: %w (expected %d, stored %d)", op, storage.ErrConflict, expect, version)
		}
		if err := w.reindex(); err != nil {
			return 0, err
		}
		prefix := instancePrefix(key)
		if k, _ := w.tx.Bucket(bucketByInstance).Cursor().Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
			return 0, fmt.Errorf("storage: %s: %w in the outbox", op, storage.ErrHasEffects)
		}
		dead := w.tx.Bucket(bucketDead).Cursor()
		for k, dv := dead.First(); k != nil; k, dv = dead.Next() {
			e, err := decodeDead(k, dv)
			if err != nil {
				return 0, fmt.Errorf("storage: %s: %w", op, err)
			}
			if e.Instance == id {
				return 0, fmt.Errorf("storage: %s: %w: effect %q among the dead letters", op, storage.ErrHasEffects, e.ID)
			}
		}
		wf, st, err := decodeKind(id, v)
		if err != nil {
			return 0, fmt.Errorf("storage: %s: %w", op, err)
		}
		var lease []byte
		if lv := w.tx.Bucket(bucketLeases).Get(key); lv != nil {
			l, err := decodeLease(key, lv)
			if err != nil {
				return 0, fmt.Errorf("storage: %s: %w", op, err)
			}
			l.expires = 0 // not held; the token stays, so that a new instance with this ID gets greater ones
			lease = l.encode()
		}
		// Checked: from here on, every error aborts the transaction.
		if err := w.del(w.instances, key); err != nil {
			return 0, err
		}
		if due != 0 {
			if err := w.del(w.dues, dueKey(dueTime(due), id)); err != nil {
				return 0, err
			}
		}
		if lease != nil {
			if err := w.put(w.tx.Bucket(bucketLeases), key, lease); err != nil {
				return 0, err
			}
		}
		if err := w.deleteJournal(key); err != nil { // the journal goes with its instance
			return 0, err
		}
		if err := w.bury(key, version, tombstone); err != nil {
			return 0, err
		}
		return 0, w.unlisted(kindKey(wf, st), id)
	}})
	return err
}
