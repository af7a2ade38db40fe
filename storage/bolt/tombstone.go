package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/weftflow/weft/storage"
)

// bucketTombstones holds what Delete leaves of a deleted instance (see
// storage.DeletedError). It is made by the first Delete, so a file that
// never deleted anything has none, and older files need no upgrade.
var bucketTombstones = []byte("tombstones") // instance ID -> uvarint version ++ the host's tombstone

// tombstone reads instance id's tombstone in w: ok is false when it has
// none. data is a copy, valid after the transaction.
func (w *txState) tombstone(id []byte) (version uint64, data []byte, ok bool, err error) {
	b := w.tx.Bucket(bucketTombstones)
	if b == nil {
		return 0, nil, false, nil
	}
	v := b.Get(id)
	if v == nil {
		return 0, nil, false, nil
	}
	if version, data, err = decodeTombstone(v); err != nil {
		return 0, nil, false, fmt.Errorf("tombstone of %q: %w", id, err)
	}
	return version, data, true, nil
}

// encodeTombstone is the value of a tombstone: the version the instance
// was deleted at and the host's bytes.
func encodeTombstone(version uint64, tombstone []byte) []byte {
	return append(binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(tombstone)), version), tombstone...)
}

// decodeTombstone reads a value written by encodeTombstone; data is a
// copy.
func decodeTombstone(v []byte) (version uint64, data []byte, err error) {
	r := reader{b: v}
	version = r.uvarint()
	data = bytes.Clone(r.rest())
	if r.err != nil || version == 0 {
		return 0, nil, fmt.Errorf("%w: version %d (%v)", ErrCorrupt, version, r.err)
	}
	return version, data, nil
}

// bury writes instance id's tombstone in w: the version it was deleted at
// and the host's bytes, replacing an earlier one.
func (w *txState) bury(id []byte, version uint64, tombstone []byte) error {
	b, err := w.tx.CreateBucketIfNotExists(bucketTombstones)
	if err != nil {
		return err
	}
	return w.put(b, id, encodeTombstone(version, tombstone))
}

// createOver is the record of an instance created over a tombstone at
// version: record, encoded at version 1 (a one-byte uvarint), at the
// version after the tombstone's; or the DeletedError of a Create that did
// not name it.
func createOver(id string, record []byte, named, version uint64, tombstone []byte) ([]byte, error) {
	if named != version {
		return nil, &storage.DeletedError{ID: id, Version: version, Tombstone: tombstone}
	}
	return append(binary.AppendUvarint(make([]byte, 0, len(record)+binary.MaxVarintLen64), version+1), record[1:]...), nil
}
