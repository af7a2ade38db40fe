package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/weftflow/weft/storage"
)

// formatVersion is the version of the on-disk layout this code writes and
// reads, stored under keyFormat in the meta bucket. Bump it on any change to
// bucket names, key layouts or value encodings.
const formatVersion = 1

// Bucket and key names of format version 1. See the package documentation.
var (
	bucketMeta      = []byte("weft")      // keyFormat, keySeq
	bucketInstances = []byte("instances") // instance ID -> encoded instance
	bucketOutbox    = []byte("outbox")    // 8-byte big-endian sequence -> encoded effect
	bucketEffects   = []byte("effects")   // effect ID -> 8-byte big-endian sequence
	bucketDue       = []byte("due")       // 8-byte big-endian Unix micros ++ 0x00 ++ instance ID -> empty

	keyFormat = []byte("format") // 8-byte big-endian format version
	keySeq    = []byte("seq")    // 8-byte big-endian sequence of the last effect appended

	// dataBuckets are the buckets besides the meta bucket that a store of
	// the current format has.
	dataBuckets = [][]byte{bucketInstances, bucketOutbox, bucketEffects, bucketDue}
)

// u64 encodes n as 8 big-endian bytes in a new slice.
func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n) }

// appendString appends s prefixed by its length as a uvarint.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// errShort reports a value that ends too early or has a bad length prefix.
var errShort = errors.New("truncated value")

// reader decodes values written with the append functions.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[k:]
	return n
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errShort
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// skip skips a length-prefixed string.
func (r *reader) skip() {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = errShort
	}
	if r.err == nil {
		r.b = r.b[n:]
	}
}

// rest returns a copy of the remaining bytes, nil if there are none.
func (r *reader) rest() []byte {
	if r.err != nil || len(r.b) == 0 {
		return nil
	}
	return append([]byte(nil), r.b...)
}

// Instance values: uvarint version, length-prefixed workflow, length-prefixed
// status, uvarint due code (0 for the zero time, else Unix micros + 1), and
// the data as the rest of the value.

// instanceOverhead bounds the bytes an encoded instance needs besides its
// strings and data.
const instanceOverhead = 4*binary.MaxVarintLen64 + 8

// encodeInstance encodes inst, whose Due is normalized and valid.
func encodeInstance(inst storage.Instance) []byte {
	b := make([]byte, 0, instanceOverhead+len(inst.Workflow)+len(inst.Status)+len(inst.Data))
	b = binary.AppendUvarint(b, inst.Version)
	b = appendString(b, inst.Workflow)
	b = appendString(b, inst.Status)
	b = binary.AppendUvarint(b, dueCode(inst.Due))
	return append(b, inst.Data...)
}

// decodeInstance decodes a value written by encodeInstance; the result
// shares no memory with v.
func decodeInstance(id string, v []byte) (storage.Instance, error) {
	if err := storage.ValidateID(id); err != nil { // a damaged key
		return storage.Instance{}, fmt.Errorf("bolt: instance %.32q: %w: stored under an invalid ID (%v)", id, ErrCorrupt, err)
	}
	r := reader{b: v}
	inst := storage.Instance{ID: id}
	inst.Version = r.uvarint()
	inst.Workflow = r.string()
	inst.Status = r.string()
	code := r.uvarint()
	inst.Data = r.rest()
	if r.err != nil {
		return storage.Instance{}, fmt.Errorf("bolt: instance %q: %w: %w", id, ErrCorrupt, r.err)
	}
	if inst.Version == 0 || code > maxDueCode {
		return storage.Instance{}, fmt.Errorf("bolt: instance %q: %w: version %d, due code %d", id, ErrCorrupt, inst.Version, code)
	}
	inst.Due = dueTime(code)
	return inst, nil
}

// decodeHead returns the version and due code of an encoded instance,
// skipping the rest.
func decodeHead(id string, v []byte) (version, due uint64, err error) {
	r := reader{b: v}
	version = r.uvarint()
	r.skip()
	r.skip()
	due = r.uvarint()
	if r.err != nil {
		return 0, 0, fmt.Errorf("bolt: instance %q: %w: %w", id, ErrCorrupt, r.err)
	}
	if version == 0 || due > maxDueCode {
		return 0, 0, fmt.Errorf("bolt: instance %q: %w: version %d, due code %d", id, ErrCorrupt, version, due)
	}
	return version, due, nil
}

// maxDueCode is the due code of the last storable microsecond, just before
// the year 10000.
var maxDueCode = uint64(maxDue.UnixMicro())

// maxDue is the end of the storable range of Due, exclusive.
var maxDue = time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC)

// dueCode returns 0 for the zero time, else the Unix micros of t plus one. t
// is normalized and within the storable range.
func dueCode(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixMicro()) + 1
}

// dueTime inverts dueCode.
func dueTime(code uint64) time.Time {
	if code == 0 {
		return time.Time{}
	}
	return time.UnixMicro(int64(code - 1)).UTC()
}

// dueKey returns the due-index key of an instance: the 8-byte big-endian
// Unix micros of at, a zero byte, and the ID. Keys sort by time, then by ID.
// at is normalized, non-zero and within the storable range.
func dueKey(at time.Time, id string) []byte {
	return appendDueKey(make([]byte, 0, 9+len(id)), at, id)
}

// appendDueKey appends dueKey(at, id) to k.
func appendDueKey(k []byte, at time.Time, id string) []byte {
	k = binary.BigEndian.AppendUint64(k, uint64(at.UnixMicro()))
	k = append(k, 0)
	return append(k, id...)
}

// dueSeek returns where a read of the due index after the entry after
// starts: from the first key (from), at seek (the first key that can come
// after after), or nowhere (both zero) when no storable Due comes after it.
func dueSeek(after storage.Due) (seek []byte, from bool) {
	if after.At.Before(time.Unix(0, 0)) {
		return nil, true // the zero Due, and any before every storable one
	}
	micros := uint64(after.At.UnixMicro())
	if time.UnixMicro(int64(micros)).Equal(after.At) {
		// Keys of the same microsecond follow in ID order, and appending
		// a zero byte gives the least key after after's own.
		seek = append(appendDueKey(nil, after.At, after.ID), 0)
	} else {
		// after falls inside a microsecond: its entries all come before.
		micros++
		seek = binary.BigEndian.AppendUint64(nil, micros)
	}
	if micros >= maxDueCode {
		return nil, false
	}
	return seek, false
}

// parseDueKey inverts dueKey.
func parseDueKey(k []byte) (storage.Due, error) {
	if len(k) < 10 || k[8] != 0 {
		return storage.Due{}, fmt.Errorf("bolt: due index key %q: %w", k, ErrCorrupt)
	}
	micros := binary.BigEndian.Uint64(k[:8])
	id := string(k[9:]) // one copy, for the check and the result
	if err := storage.ValidateID(id); err != nil {
		return storage.Due{}, fmt.Errorf("bolt: due index key %.40q: %w: an invalid instance ID (%v)", k, ErrCorrupt, err)
	}
	if micros >= maxDueCode {
		return storage.Due{}, fmt.Errorf("bolt: due index key %q: %w: time out of range", k, ErrCorrupt)
	}
	return storage.Due{ID: id, At: time.UnixMicro(int64(micros)).UTC()}, nil
}

// Effect values: length-prefixed effect ID, length-prefixed instance ID, and
// the data as the rest of the value.

// encodeEffect encodes e.
func encodeEffect(e storage.Effect) []byte {
	b := make([]byte, 0, 2*binary.MaxVarintLen64+len(e.ID)+len(e.Instance)+len(e.Data))
	b = appendString(b, e.ID)
	b = appendString(b, e.Instance)
	return append(b, e.Data...)
}

// decodeEffect decodes a value written by encodeEffect; the result shares no
// memory with v.
func decodeEffect(seq, v []byte) (storage.Effect, error) {
	r := reader{b: v}
	var e storage.Effect
	e.ID = r.string()
	e.Instance = r.string()
	e.Data = r.rest()
	if r.err != nil {
		return storage.Effect{}, fmt.Errorf("bolt: outbox entry %x: %w: %w", seq, ErrCorrupt, r.err)
	}
	if err := errors.Join(storage.ValidateID(e.Instance), storage.ValidateEffects(e.Instance, []storage.Effect{e})); err != nil {
		return storage.Effect{}, fmt.Errorf("bolt: outbox entry %x: %w: an invalid effect (%v)", seq, ErrCorrupt, err)
	}
	return e, nil
}
