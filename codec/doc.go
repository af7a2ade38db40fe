// Package codec is weft's serialization: deterministic CBOR (RFC 8949) for
// workflow state, interpreter metadata, event payloads and the stored
// record that holds them.
//
// It belongs to weft's pure core: it does no I/O, reads no clock, starts no
// goroutines and holds no locks. It depends only on the standard library
// and github.com/fxamacker/cbor/v2.
//
// # What it is for
//
// A durable workflow is checkpointed after every step and restored, perhaps
// by another process running a newer build, when its next event arrives.
// [Marshal] and [Unmarshal] convert a Go value (a user's state struct, the
// interpreter's meta, a payload) to and from CBOR. [EncodeRecord] and
// [DecodeRecord] wrap the encoded state and meta, with the workflow's name
// and a format version, into the [Record] that storage keeps
// ([EncodeRecordMeta] and [DecodeRecordAliasing] do the same without
// copying the meta in, or the parts out, for a caller that trusts its
// meta or owns the data).
//
// # Determinism
//
// [Marshal] uses CBOR Core Deterministic Encoding: map keys sorted
// bytewise, the shortest form for every integer, length and float, and no
// indefinite lengths. Equal values give identical bytes whatever the map
// insertion order, so checkpoints can be compared and hashed byte for byte.
// Decoding and re-encoding gives the same bytes again: times are written as
// untagged RFC 3339 text with nanoseconds and the zero time as null, nil
// slices and maps as null and empty ones as empty arrays and maps.
// Decoding is tolerant where tolerance is harmless (map keys may come in any
// order, integers need not be in shortest form, unknown struct fields are
// ignored), so only output, not accepted input, is canonical.
//
// # Limits
//
// Stored bytes are not trusted: a damaged or hostile record must not make
// the decoder exhaust memory or stack. Every decode refuses input longer
// than [MaxBytes] (16 MiB, checked first), nesting deeper than [MaxDepth]
// (32), and arrays or maps with more than [MaxArrayElements] or
// [MaxMapPairs] (65536) entries. It also refuses indefinite-length items,
// duplicate map keys and bytes after the data item. The encoders check
// their output against the same limits, so nothing is written that cannot
// be read back. No input makes a decoder panic.
//
// # Errors
//
// Every decoding failure is a [*DecodeError] naming what was decoded
// ("state", "record", ...) with a Kind that [errors.Is] matches:
//
//   - [ErrCorrupt]: the data is malformed or does not fit the target type;
//   - [ErrTooLarge]: the data exceeds a limit; it also matches ErrCorrupt;
//   - [ErrFormat]: a record from a format version this build cannot read;
//     it does not match ErrCorrupt, since a newer build may read it.
//
// The underlying cbor library error stays reachable with [errors.As].
package codec
