package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/weftflow/weft/storage"
)

// Journals live in one bucket, created by the first write that appends an
// entry, so that a store that never keeps a journal has the layout it had
// before journals existed. A key is the instance's prefix (as in the
// byInstance index: uvarint length, then the ID) followed by the entry's
// 8-byte big-endian Seq, so an instance's entries are adjacent and in Seq
// order, and no instance's prefix is a prefix of another's keys.
var bucketJournal = []byte("journal") // uvarint len(ID) ++ ID ++ 8-byte Seq -> encoded entry

// Journal entry values: uvarint time code (as a due code: 0 for the zero
// time, else Unix micros + 1), length-prefixed Data, and the Base as the
// rest of the value.

// journalKey returns the key of instance id's entry seq.
func journalKey(id []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(instancePrefix(id), seq)
}

// encodeJournalEntry encodes e, whose Time is normalized and valid.
func encodeJournalEntry(e storage.JournalEntry) []byte {
	b := make([]byte, 0, 2*binary.MaxVarintLen64+len(e.Data)+len(e.Base))
	b = binary.AppendUvarint(b, dueCode(e.Time))
	b = binary.AppendUvarint(b, uint64(len(e.Data)))
	b = append(b, e.Data...)
	return append(b, e.Base...)
}

// decodeJournalEntry decodes the entry stored under key k with value v,
// which belongs to the instance whose key prefix is prefix; the result
// shares no memory with k or v.
func decodeJournalEntry(prefix, k, v []byte) (storage.JournalEntry, error) {
	if len(k) != len(prefix)+8 {
		return storage.JournalEntry{}, fmt.Errorf("bolt: journal key %.40q: %w: bad length", k, ErrCorrupt)
	}
	e := storage.JournalEntry{Seq: binary.BigEndian.Uint64(k[len(prefix):])}
	r := reader{b: v}
	code := r.uvarint()
	e.Data = r.bytes()
	e.Base = r.rest()
	if r.err != nil {
		return storage.JournalEntry{}, fmt.Errorf("bolt: journal entry %x: %w: %w", k, ErrCorrupt, r.err)
	}
	if code > maxDueCode || e.Seq == 0 || e.Seq > storage.MaxJournalSeq {
		return storage.JournalEntry{}, fmt.Errorf("bolt: journal entry %x: %w: seq %d, time code %d", k, ErrCorrupt, e.Seq, code)
	}
	e.Time = dueTime(code)
	return e, nil
}

// bytes reads a length-prefixed byte string as a copy, nil if it is empty.
func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errShort
		return nil
	}
	var b []byte
	if n > 0 {
		b = append([]byte(nil), r.b[:n]...)
	}
	r.b = r.b[n:]
	return b
}

// journalMark is what trimming needs of an entry: its key, Time and
// whether it is a starting point.
type journalMark struct {
	key   []byte // a copy
	time  time.Time
	start bool
}

// readMark decodes the mark of the entry under k with value v, reading
// only the value's head.
func readMark(prefix, k, v []byte) (journalMark, error) {
	if len(k) != len(prefix)+8 {
		return journalMark{}, fmt.Errorf("bolt: journal key %.40q: %w: bad length", k, ErrCorrupt)
	}
	seq := binary.BigEndian.Uint64(k[len(prefix):])
	r := reader{b: v}
	code := r.uvarint()
	r.skip()
	if r.err != nil || code > maxDueCode {
		return journalMark{}, fmt.Errorf("bolt: journal entry %x: %w: time code %d (%v)", k, ErrCorrupt, code, r.err)
	}
	return journalMark{key: bytes.Clone(k), time: dueTime(code), start: seq == 1 || len(r.b) > 0}, nil
}

// lastJournalSeq returns the Seq of instance id's newest entry, 0 if it has
// none.
func lastJournalSeq(tx *bbolt.Tx, id []byte) uint64 {
	b := tx.Bucket(bucketJournal)
	if b == nil {
		return 0
	}
	prefix := instancePrefix(id)
	c := b.Cursor()
	k, _ := c.Seek(journalKey(id, ^uint64(0))) // past the largest Seq a store takes
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k == nil || len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(prefix):])
}

// encodedJournal is a JournalWrite ready to be written.
type encodedJournal struct {
	seq   uint64
	key   []byte
	value []byte
	keep  *storage.JournalKeep
}

// encodeJournal encodes w (nil for none) of instance id, checking bbolt's
// size limit.
func encodeJournal(op opName, id string, w *storage.JournalWrite) (*encodedJournal, error) {
	if w == nil {
		return nil, nil
	}
	e := w.Entry
	e.Time = storage.NormalizeDue(e.Time)
	j := &encodedJournal{seq: e.Seq, key: journalKey([]byte(id), e.Seq), value: encodeJournalEntry(e)}
	if w.Keep != nil {
		keep := *w.Keep
		j.keep = &keep
	}
	if tooLarge(j.value) {
		return nil, checkSize(op, fmt.Sprintf("journal entry %d", e.Seq), j.value)
	}
	return j, nil
}

// checkJournal fails with ErrInvalid unless j comes after the instance's
// newest entry. It writes nothing.
func (w *txState) checkJournal(id []byte, j *encodedJournal) error {
	if j == nil {
		return nil
	}
	if last := lastJournalSeq(w.tx, id); j.seq <= last {
		return fmt.Errorf("journal entry seq %d is not after the last entry's %d: %w", j.seq, last, storage.ErrInvalid)
	}
	return nil
}

// appendJournal appends j to the instance's journal, creating the
// journal bucket if need be, and applies its Keep.
func (w *txState) appendJournal(id []byte, j *encodedJournal) error {
	if j == nil {
		return nil
	}
	w.writes++ // creating the bucket writes too
	b, err := w.tx.CreateBucketIfNotExists(bucketJournal)
	if err != nil {
		return err
	}
	if err := w.put(b, j.key, j.value); err != nil {
		return err
	}
	if j.keep == nil {
		return nil
	}
	_, err = w.trimJournal(b, id, *j.keep)
	return err
}

// trimJournal applies keep to instance id's journal in b and returns how
// many entries it removed.
func (w *txState) trimJournal(b *bbolt.Bucket, id []byte, keep storage.JournalKeep) (int, error) {
	prefix := instancePrefix(id)
	var marks []journalMark
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		m, err := readMark(prefix, k, v)
		if err != nil {
			return 0, err
		}
		marks = append(marks, m)
	}
	cut := keep.Cut(len(marks), func(i int) (time.Time, bool) { return marks[i].time, marks[i].start })
	for _, m := range marks[:cut] {
		if err := w.del(b, m.key); err != nil {
			return 0, err
		}
	}
	return cut, nil
}

// ReadJournal implements [storage.Journal.ReadJournal].
func (s *Store) ReadJournal(ctx context.Context, id string, from uint64, limit int) ([]storage.JournalEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: read journal %q: %w", id, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("storage: read journal %q: %w", id, storage.ErrClosed)
	}
	var out []storage.JournalEntry
	err := s.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketJournal)
		if b == nil {
			return nil
		}
		prefix := instancePrefix([]byte(id))
		c := b.Cursor()
		for k, v := c.Seek(journalKey([]byte(id), from)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if limit > 0 && len(out) == limit {
				break
			}
			e, err := decodeJournalEntry(prefix, k, v)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: read journal %q: %w", id, err)
	}
	return out, nil
}

// TrimJournal implements [storage.Journal.TrimJournal]. It writes (and
// syncs) only if it removes entries.
func (s *Store) TrimJournal(ctx context.Context, id string, keep storage.JournalKeep) (int, error) {
	op := fmt.Sprintf("trim journal %q", id)
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage: %s: %w", op, err)
	}
	if err := keep.Validate(); err != nil {
		return 0, fmt.Errorf("storage: %s: %w", op, err)
	}
	key := []byte(id)
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.write(&request{ctx: ctx, op: opName{verb: op}, apply: func(w *txState) (uint64, error) {
		b := w.tx.Bucket(bucketJournal)
		if b == nil {
			return 0, nil
		}
		n, err := w.trimJournal(b, key, keep)
		if err != nil {
			return 0, fmt.Errorf("storage: %s: %w", op, err)
		}
		return uint64(n), nil
	}})
	return int(n), err
}

// deleteJournal deletes every entry of instance id's journal, in w's
// transaction.
func (w *txState) deleteJournal(id []byte) error {
	b := w.tx.Bucket(bucketJournal)
	if b == nil {
		return nil
	}
	prefix := instancePrefix(id)
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := w.del(b, k); err != nil {
			return err
		}
	}
	return nil
}
