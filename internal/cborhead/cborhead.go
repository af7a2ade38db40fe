// Package cborhead writes the pieces of CBOR that weft's hand-written
// encoders share (the record, the meta, outbox effects, journal entries):
// heads in their shortest form, as deterministic encoding requires,
// integers and text strings. It is pure: no I/O, no allocation beyond the
// slices it appends to.
package cborhead

import "encoding/binary"

// Append appends the shortest CBOR head of major type major (0 to 7) with
// argument n.
func Append(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

// Len is the length of the shortest CBOR head with argument n.
func Len(n uint64) int {
	switch {
	case n < 24:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case n <= 0xffffffff:
		return 5
	}
	return 9
}

// Int appends the CBOR integer v (major type 0, or 1 when negative).
func Int(b []byte, v int64) []byte {
	if v >= 0 {
		return Append(b, 0, uint64(v))
	}
	return Append(b, 1, uint64(-1-v))
}

// Text appends the CBOR text string s.
func Text(b []byte, s string) []byte { return append(Append(b, 3, uint64(len(s))), s...) }
