package codec

import (
	"fmt"

	"github.com/weftflow/weft/internal/cborhead"
)

// Format is the record format version that [EncodeRecord] writes and the
// newest that [DecodeRecord] reads.
const Format = 1

// Record is the stored form of one workflow instance: which definition it
// runs and the two CBOR documents that describe where it is.
//
// Encoded, it is a CBOR map with integer keys 1 to 4, and 5 when Host is
// not empty (compact, and stable under renaming the Go fields). Every
// format version keeps the version number under key 1, so a reader can
// always tell a newer record from a damaged one. A reader that predates
// key 5 ignores it (unknown keys are ignored), so adding Host needed no new
// format version.
type Record struct {
	Format   uint64 `cbor:"1,keyasint"` // format version; EncodeRecord sets it to Format
	Workflow string `cbor:"2,keyasint"` // definition name
	State    []byte `cbor:"3,keyasint"` // CBOR of the user's state, already encoded
	Meta     []byte `cbor:"4,keyasint"` // CBOR of the interpreter's meta, already encoded
	// Host is CBOR of the host's own bookkeeping for the instance, already
	// encoded, or empty: the engine keeps the idempotency keys of the
	// events it applied there, so that they commit atomically with the
	// transition they caused.
	Host []byte `cbor:"5,keyasint,omitempty"`
}

// recordHeader reads only the version of a record whose other fields may
// have a layout this build does not know.
type recordHeader struct {
	Format uint64 `cbor:"1,keyasint"`
}

// Map keys of the encoded record, as single-byte CBOR unsigned integers.
const (
	keyFormat   = 0x01
	keyWorkflow = 0x02
	keyState    = 0x03
	keyMeta     = 0x04
	keyHost     = 0x05
)

// CBOR major types, shifted into the initial byte.
const (
	majorUint  = 0 << 5
	majorBytes = 2 << 5
	majorText  = 3 << 5
	majorMap   = 5 << 5
)

// EncodeRecord encodes r with Format set to [Format]. r.State and r.Meta
// must each be one well-formed CBOR data item (as [Marshal] returns), or
// the error matches [ErrCorrupt]; that way every record written can be
// read back by [DecodeRecord]. A record that would exceed the decode
// limits (a State or Meta beyond them, or more than [MaxBytes] in all) is
// refused with a [*TooLargeError], which matches [ErrTooLarge] and not
// [ErrCorrupt]. The result does not alias r's slices.
func EncodeRecord(r Record) ([]byte, error) {
	if err := checkEncoded("record state", r.State); err != nil {
		return nil, err
	}
	if err := checkEncoded("record meta", r.Meta); err != nil {
		return nil, err
	}
	fields := byte(4)
	if len(r.Host) > 0 {
		if err := checkEncoded("record host", r.Host); err != nil {
			return nil, err
		}
		fields = 5
	}
	// Written by hand: a map of four (or five) fields has one canonical
	// form (keys in order, shortest heads), and building it directly takes
	// a single exact-size allocation and no reflection. Tests check that it
	// equals what the cbor library's deterministic mode writes.
	n := 1 +
		1 + headLen(Format) +
		1 + headLen(uint64(len(r.Workflow))) + len(r.Workflow) +
		1 + headLen(uint64(len(r.State))) + len(r.State) +
		1 + headLen(uint64(len(r.Meta))) + len(r.Meta)
	if fields == 5 {
		n += 1 + headLen(uint64(len(r.Host))) + len(r.Host)
	}
	if n > MaxBytes {
		return nil, &TooLargeError{What: "record", Size: n, Limit: MaxBytes}
	}
	b := make([]byte, 0, n)
	b = append(b, majorMap|fields)
	b = append(b, keyFormat)
	b = appendHead(b, majorUint, Format)
	b = append(b, keyWorkflow)
	b = appendHead(b, majorText, uint64(len(r.Workflow)))
	b = append(b, r.Workflow...)
	b = append(b, keyState)
	b = appendHead(b, majorBytes, uint64(len(r.State)))
	b = append(b, r.State...)
	b = append(b, keyMeta)
	b = appendHead(b, majorBytes, uint64(len(r.Meta)))
	b = append(b, r.Meta...)
	if fields == 5 {
		b = append(b, keyHost)
		b = appendHead(b, majorBytes, uint64(len(r.Host)))
		b = append(b, r.Host...)
	}
	return b, nil
}

// EncodeRecordMeta encodes the record of workflow with state, host and
// the meta that appendMeta appends to the buffer it is given, writing the
// meta in place: it is [EncodeRecord] of Record{Workflow: workflow, State:
// state, Meta: m, Host: host}, for m the bytes appendMeta appends, without
// a copy of m. State and host are checked as EncodeRecord checks them;
// the meta is not: appendMeta vouches that what it appends is one
// well-formed CBOR data item within the decode limits (interp.AppendMeta
// writes such a meta), and it returns false (the caller should then use
// EncodeRecord, which says what is wrong) when it cannot. metaSize is a
// guess of the meta's length, for the buffer's size.
//
// ok is false, with data, meta and err nil, when appendMeta returned
// false. Otherwise meta is the part of data holding the meta (with no room
// past it to append into), and err is an error EncodeRecord would return
// for the record (nil if none).
func EncodeRecordMeta(workflow string, state []byte, metaSize int, appendMeta func([]byte) ([]byte, bool), host []byte) (data, meta []byte, ok bool, err error) {
	if err := checkEncoded("record state", state); err != nil {
		return nil, nil, true, err
	}
	fields := byte(4)
	if len(host) > 0 {
		if err := checkEncoded("record host", host); err != nil {
			return nil, nil, true, err
		}
		fields = 5
	}
	metaSize = max(metaSize, 0)
	n := 1 +
		1 + headLen(Format) +
		1 + headLen(uint64(len(workflow))) + len(workflow) +
		1 + headLen(uint64(len(state))) + len(state) +
		1 + headLen(uint64(metaSize)) + metaSize
	if fields == 5 {
		n += 1 + headLen(uint64(len(host))) + len(host)
	}
	b := make([]byte, 0, min(n, MaxBytes))
	b = append(b, majorMap|fields)
	b = append(b, keyFormat)
	b = appendHead(b, majorUint, Format)
	b = append(b, keyWorkflow)
	b = appendHead(b, majorText, uint64(len(workflow)))
	b = append(b, workflow...)
	b = append(b, keyState)
	b = appendHead(b, majorBytes, uint64(len(state)))
	b = append(b, state...)
	b = append(b, keyMeta)
	// The meta's head goes before it, but its length is known only once
	// it is written: room is left for the head of the guessed length, and
	// the meta moved if its actual head is shorter or longer.
	at, room := len(b), headLen(uint64(metaSize))
	b = append(b, make([]byte, room)...)
	b, ok = appendMeta(b)
	if !ok {
		return nil, nil, false, nil
	}
	m := len(b) - at - room
	if h := headLen(uint64(m)); h != room {
		if h > room {
			b = append(b, make([]byte, h-room)...)
		}
		copy(b[at+h:], b[at+room:at+room+m])
		b, room = b[:at+h+m], h
	}
	appendHead(b[at:at], majorBytes, uint64(m))
	meta = b[at+room : at+room+m : at+room+m]
	if fields == 5 {
		b = append(b, keyHost)
		b = appendHead(b, majorBytes, uint64(len(host)))
		b = append(b, host...)
	}
	if len(b) > MaxBytes {
		if m > MaxBytes {
			return nil, nil, true, &TooLargeError{What: "record meta", Size: m, Limit: MaxBytes}
		}
		return nil, nil, true, &TooLargeError{What: "record", Size: len(b), Limit: MaxBytes}
	}
	return b, meta, true, nil
}

// headLen is the length of the shortest CBOR head with argument n.
func headLen(n uint64) int { return cborhead.Len(n) }

// appendHead appends the shortest CBOR head of the major type (shifted
// into the initial byte, as the constants here hold it) with argument n.
func appendHead(b []byte, major byte, n uint64) []byte { return cborhead.Append(b, major>>5, n) }

// DecodeRecord decodes a record written by [EncodeRecord], with the limits
// and checks of [Unmarshal]. Failures are [*DecodeError]s:
//
//   - a record whose Format is newer than [Format], or zero, has Kind
//     [ErrFormat] (and does not match [ErrCorrupt]): this build cannot read
//     it, but a newer one may;
//   - damaged or malformed data has Kind [ErrCorrupt] (or [ErrTooLarge]),
//     including a State or Meta that is not one well-formed CBOR item
//     (What is then "record state" or "record meta").
//
// The State and Meta of the result are copies and do not alias data, so
// data may be reused afterwards. Unknown map keys are ignored. Encoding the
// result with [EncodeRecord] gives back data whenever data is in the
// canonical form that EncodeRecord writes.
func DecodeRecord(data []byte) (Record, error) {
	return decodeRecord(data, false)
}

// DecodeRecordAliasing is [DecodeRecord] for a caller that owns data and
// keeps it unchanged: the State, Meta and Host of the result may be parts
// of data (each with no room past it to append into) rather than copies,
// which saves copying a record read only to be decoded. Neither data nor
// those slices may be written to afterwards.
func DecodeRecordAliasing(data []byte) (Record, error) {
	return decodeRecord(data, true)
}

func decodeRecord(data []byte, alias bool) (Record, error) {
	if len(data) > MaxBytes {
		return Record{}, tooManyBytes("record", len(data))
	}
	r, ok := decodeCanonicalRecord(data, alias)
	if !ok {
		var err error
		if r, err = decodeAnyRecord(data); err != nil {
			return Record{}, err
		}
	}
	if r.Format == 0 || r.Format > Format {
		return Record{}, formatError(r.Format)
	}
	if err := validWhat("record state", r.State); err != nil {
		return Record{}, err
	}
	if err := validWhat("record meta", r.Meta); err != nil {
		return Record{}, err
	}
	if len(r.Host) == 0 {
		r.Host = nil // an empty Host is no Host
	} else if err := validWhat("record host", r.Host); err != nil {
		return Record{}, err
	}
	return r, nil
}

// decodeAnyRecord decodes a record in any form the cbor library accepts
// within the limits.
func decodeAnyRecord(data []byte) (Record, error) {
	var r Record
	if err := decMode.Unmarshal(data, &r); err != nil {
		// A newer format may have changed the other fields; if its version
		// is readable, say that rather than call the record corrupt.
		var h recordHeader
		if decMode.Unmarshal(data, &h) == nil && h.Format > Format {
			return Record{}, formatError(h.Format)
		}
		return Record{}, decodeError("record", err)
	}
	return r, nil
}

func formatError(got uint64) *DecodeError {
	var err error
	if got == 0 {
		err = fmt.Errorf("record has no format version (0); this build reads format %d", Format)
	} else {
		err = fmt.Errorf("record format %d is newer than format %d, the newest this build reads", got, Format)
	}
	return &DecodeError{What: "record", Kind: ErrFormat, Err: err}
}

// decodeCanonicalRecord decodes data if it is exactly in the canonical form
// that EncodeRecord writes, which is what storage almost always holds. It
// needs no reflection and makes two allocations: the name, and one buffer
// that State, Meta and Host share (none if alias: they are then parts of
// data). ok is false for any other input, which the general decoder then
// handles (and may still accept). For input it accepts, the result is the
// general decoder's.
func decodeCanonicalRecord(data []byte, alias bool) (r Record, ok bool) {
	if len(data) < 4 || (data[0] != majorMap|4 && data[0] != majorMap|5) || data[1] != keyFormat || data[2] != majorUint|Format || data[3] != keyWorkflow {
		return Record{}, false
	}
	name, rest, ok := cutItem(data[4:], majorText)
	if !ok || len(rest) == 0 || rest[0] != keyState {
		return Record{}, false
	}
	state, rest, ok := cutItem(rest[1:], majorBytes)
	if !ok || len(rest) == 0 || rest[0] != keyMeta {
		return Record{}, false
	}
	meta, rest, ok := cutItem(rest[1:], majorBytes)
	if !ok {
		return Record{}, false
	}
	var host []byte
	if data[0] == majorMap|5 {
		if len(rest) == 0 || rest[0] != keyHost {
			return Record{}, false
		}
		if host, rest, ok = cutItem(rest[1:], majorBytes); !ok || len(host) == 0 {
			return Record{}, false // an empty Host is written as no key 5
		}
	}
	if len(rest) != 0 {
		return Record{}, false
	}
	if alias {
		// The full slice expressions keep an append to State or Meta from
		// overwriting what follows.
		r = Record{Format: Format, Workflow: string(name), State: state[:len(state):len(state)], Meta: meta[:len(meta):len(meta)]}
		if len(host) > 0 {
			r.Host = host[:len(host):len(host)]
		}
		return r, true
	}
	// Copy, so the record does not alias data. The full slice expressions
	// keep an append to State or Meta from overwriting what follows.
	buf := make([]byte, len(state)+len(meta)+len(host))
	n := copy(buf, state)
	m := n + copy(buf[n:], meta)
	copy(buf[m:], host)
	r = Record{Format: Format, Workflow: string(name), State: buf[:n:n], Meta: buf[n:m:m]}
	if len(host) > 0 {
		r.Host = buf[m:]
	}
	return r, true
}

// cutItem splits a definite-length string of the given major type with a
// shortest-form head off the front of b, returning its content and the rest.
func cutItem(b []byte, major byte) (content, rest []byte, ok bool) {
	if len(b) == 0 || b[0]&0xe0 != major {
		return nil, nil, false
	}
	ai := b[0] & 0x1f
	var n uint64
	var head int
	switch {
	case ai < 24:
		n, head = uint64(ai), 1
	case ai == 24 && len(b) >= 2:
		n, head = uint64(b[1]), 2
	case ai == 25 && len(b) >= 3:
		n, head = uint64(b[1])<<8|uint64(b[2]), 3
	case ai == 26 && len(b) >= 5:
		n, head = uint64(b[1])<<24|uint64(b[2])<<16|uint64(b[3])<<8|uint64(b[4]), 5
	default:
		return nil, nil, false // an 8-byte length cannot fit under MaxBytes; indefinite or reserved: not canonical
	}
	if headLen(n) != head || n > uint64(len(b)-head) {
		return nil, nil, false // not the shortest head, or truncated
	}
	end := head + int(n)
	return b[head:end], b[end:], true
}
