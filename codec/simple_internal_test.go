package codec

import (
	"bytes"
	"math"
	"testing"

	"pgregory.net/rapid"
)

// marshalSimple writes exactly what the cbor library's encoder writes for
// the values it takes, and leaves the others (nil) to it.
func TestMarshalSimpleMatchesEncoder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var v any
		switch rapid.IntRange(0, 5).Draw(t, "type") {
		case 0:
			v = rapid.OneOf(rapid.IntRange(-30, 30), rapid.IntRange(-1<<40, 1<<40), rapid.Int()).Draw(t, "int")
		case 1:
			v = rapid.OneOf(rapid.Int64Range(-300, 300), rapid.Int64Range(math.MinInt64, math.MaxInt64)).Draw(t, "int64")
		case 2:
			v = rapid.Bool().Draw(t, "bool")
		case 3:
			v = rapid.OneOf(rapid.String(), rapid.StringN(20, 300, 2000)).Draw(t, "string")
		case 4:
			v = string(rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "bytes")) // perhaps not UTF-8
		case 5:
			v = uint8(rapid.Uint8().Draw(t, "uint8")) // not taken
		}
		got := marshalSimple(v)
		want, err := encMode.Marshal(v)
		if got == nil {
			switch v.(type) {
			case int, int64, bool:
				t.Fatalf("marshalSimple(%#v) left it to the encoder", v)
			}
			return
		}
		if err != nil {
			t.Fatalf("marshalSimple(%#v) = %x, the encoder fails: %v", v, got, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("marshalSimple(%#v) = %x, the encoder writes %x", v, got, want)
		}
	})
}
