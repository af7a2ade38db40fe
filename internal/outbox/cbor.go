package outbox

import "github.com/weftflow/weft/internal/cborhead"

// CBOR major types, shifted into the initial byte.
const (
	cborUint  = 0 << 5
	cborNeg   = 1 << 5
	cborBytes = 2 << 5
	cborText  = 3 << 5
	cborMap   = 5 << 5
)

func appendUintField(b []byte, key byte, v uint64, always bool) []byte {
	if v == 0 && !always {
		return b
	}
	return appendHead(append(b, key), cborUint, v)
}

func appendIntField(b []byte, key byte, v int64) []byte {
	switch {
	case v == 0:
		return b
	case v > 0:
		return appendHead(append(b, key), cborUint, uint64(v))
	}
	return appendHead(append(b, key), cborNeg, uint64(-1-v))
}

func appendTextField(b []byte, key byte, s string) []byte {
	if s == "" {
		return b
	}
	b = appendHead(append(b, key), cborText, uint64(len(s)))
	return append(b, s...)
}

// headLen is the length of the shortest CBOR head with argument v.
func headLen(v uint64) int { return cborhead.Len(v) }

// textLen bounds the bytes a string or byte string field takes: key, head
// and content.
func textLen(s string) int { return 1 + headLen(uint64(len(s))) + len(s) }

// appendHead appends the shortest CBOR head of the major type (shifted
// into the initial byte, as the constants here hold it) with argument v.
func appendHead(b []byte, major byte, v uint64) []byte { return cborhead.Append(b, major>>5, v) }
