package codec

import (
	"unicode/utf8"

	"github.com/weftflow/weft/internal/cborhead"
)

// marshalSimple is encMode.Marshal(v) written by hand for the values
// events carry most (an int, an int64, a bool, a short valid string), or
// nil for any other v: the reflection-based encoder allocates more, and
// no such value can exceed the decode limits. A property test holds the
// two together.
func marshalSimple(v any) []byte {
	switch x := v.(type) {
	case int:
		return cborhead.Int(make([]byte, 0, 9), int64(x))
	case int64:
		return cborhead.Int(make([]byte, 0, 9), x)
	case bool:
		if x {
			return []byte{0xf5}
		}
		return []byte{0xf4}
	case string:
		if len(x) <= maxSimpleText && utf8.ValidString(x) {
			return cborhead.Text(make([]byte, 0, 3+len(x)), x)
		}
	}
	return nil
}

// maxSimpleText is the longest string marshalSimple writes: far below
// every limit of the decoder.
const maxSimpleText = 1 << 10
