package bolt

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"
)

// The claims indexes (ready and byInstance) serve only readers of claims:
// Claim, Pending, NextWork, and Delete's check for effects in the outbox.
// An engine alone on the file (Run without leases, the common case with
// bolt, whose file lock keeps other processes out) reads none of them, yet
// keeping them costs two writes for every effect committed and two for
// every effect acknowledged, in buckets no other write of the transaction
// touches: a fifth of the writer's work for a send that commits a setup
// and a teardown, 11–18% of the CPU of a workflow of activities
// (docs/performance-durable.md).
//
// So a Store keeps them only once something has read them since Open.
// Until then a write transaction that would have written an index entry
// writes keyUnindexed into the meta bucket instead, in the same
// transaction, so that the file says when its indexes are not current.
// The first reader rebuilds them from the outbox in a write transaction
// of its own (reindex), which removes the marker; from then on every
// write keeps them. Open takes a marked file's indexes as not current
// (not damaged: no check of every page, no rebuild), and an older weft,
// which does not know the marker, finds them out of date and rebuilds
// them as it did for files it wrote before claims.
var keyUnindexed = []byte("unindexed")

// indexing reports whether the transaction keeps the claims indexes. If
// it does not, it marks them as not current in the file first.
func (w *txState) indexing() (bool, error) {
	if w.index {
		return true, nil
	}
	if !w.marked {
		if err := w.put(w.meta, keyUnindexed, []byte{1}); err != nil {
			return false, err
		}
		w.marked = true
	}
	return false, nil
}

// reindex makes the claims indexes current for the rest of the
// transaction: if the file is marked, it rebuilds them from the outbox
// and removes the mark. Every request that reads them calls it first
// (with s.readers set, so that the transactions after it keep them).
func (w *txState) reindex() error {
	if w.index {
		return nil
	}
	if w.marked {
		w.writes++ // (rebuildClaims writes through the transaction)
		if err := rebuildClaims(w.tx); err != nil {
			return fmt.Errorf("bolt: rebuilding the claims indexes: %w", err)
		}
		if err := w.del(w.meta, keyUnindexed); err != nil {
			return err
		}
		w.marked = false
	}
	w.index = true
	return nil
}

// unindexed reports whether tx's file holds claims indexes that are not
// current (see keyUnindexed).
func unindexed(tx *bbolt.Tx) bool {
	return tx.Bucket(bucketMeta).Get(keyUnindexed) != nil
}

// readIndexes makes the claims indexes current before a write that reads
// them (Claim, Delete): it sets s.readers, and rebuilds them in a write of
// its own if the file is marked, so that the reading write does not
// rebuild them itself (a rebuild is written; a request that fails after
// writing aborts its whole batch). The reading write still calls
// txState.reindex: a transaction begun before s.readers was set may have
// marked the file since current was read.
func (s *Store) readIndexes(ctx context.Context, op string) error {
	s.keepIndexes()
	if s.current.Load() {
		return nil
	}
	return s.writeIndexes(ctx, op)
}

// keepIndexes makes every write transaction that begins from here keep
// the claims indexes. (It sets s.readers once: a load is cheaper than a
// store on every read.)
func (s *Store) keepIndexes() {
	if !s.readers.Load() {
		s.readers.Store(true)
	}
}

// writeIndexes makes the claims indexes current in a write of its own.
// Its errors name op, as the write that needed them would have.
func (s *Store) writeIndexes(ctx context.Context, op string) error {
	_, err := s.write(&request{ctx: ctx, op: opName{verb: op}, apply: func(w *txState) (uint64, error) {
		if err := w.reindex(); err != nil {
			return 0, fmt.Errorf("storage: %s: %w", op, err)
		}
		return 0, nil
	}})
	return err
}

// indexedView is checkedView for a read of the claims indexes: it makes
// them current first, with a write of its own if the file is marked, and
// reads in a view that shows them current. A read-only store cannot
// rebuild them: f gets current false and must not trust them.
func (s *Store) indexedView(ctx context.Context, op string, f func(tx *bbolt.Tx, current bool) error) error {
	s.keepIndexes()
	for {
		stale := false
		err := s.checkedView(ctx, op, func(tx *bbolt.Tx) error {
			marked := unindexed(tx)
			if stale = marked && !s.readOnly; stale {
				return nil
			}
			// (A file older than claims, opened read-only, has no indexes.)
			return f(tx, !marked && tx.Bucket(bucketReady) != nil && tx.Bucket(bucketByInstance) != nil)
		})
		if err != nil || !stale {
			return err
		}
		// Marked: rebuild in the writer. Every transaction after this one
		// keeps the indexes (readers is set), so the next view sees them
		// current.
		if err := s.writeIndexes(ctx, op); err != nil {
			return err
		}
	}
}
