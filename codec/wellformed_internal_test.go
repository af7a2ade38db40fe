package codec

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// wellformed must answer as the cbor library's Wellformed does in the
// decoding mode of this package, on every input.

func checkWellformed(t interface {
	Helper()
	Fatalf(string, ...any)
}, data []byte) {
	t.Helper()
	got, err := wellformed(data), decMode.Wellformed(data)
	if got != (err == nil) {
		t.Fatalf("wellformed(%x) = %v, library: %v", data, got, err)
	}
}

// nest is n arrays of one element each around inner.
func nest(n int, inner string) string { return strings.Repeat("\x81", n) + inner }

// wellformedCases are inputs at the edges of the rules: limits, heads,
// strings, tags, simple values, floats and indefinite lengths.
func wellformedCases(t testing.TB) [][]byte {
	t.Helper()
	cases := []string{
		"", "\x00", "\x17", "\x18", "\x18\x18", "\x19\x01", "\x19\x01\x00", "\x1a\x00\x01\x00", "\x1a\x00\x01\x00\x00",
		"\x1b\x00\x00\x00\x01\x00\x00\x00", "\x1b\x00\x00\x00\x01\x00\x00\x00\x00", "\x1c", "\x1d", "\x1e", "\x1f",
		"\x20", "\x38\x00", "\x3f", "\x00\x00", // trailing data
		"\x40", "\x41", "\x41\x00", "\x42\x00", "\x58\x01\x00", "\x58\x02\x00", "\x5f\x41\x00\xff", "\x5b\xff\xff\xff\xff\xff\xff\xff\xff",
		"\x5b\x80\x00\x00\x00\x00\x00\x00\x00", "\x5b\x00\x00\x00\x00\x00\x00\x00\x01\x00",
		"\x60", "\x61a", "\x61", "\x7f\x61a\xff", "\x62\xff\xfe", // invalid UTF-8 is accepted
		"\x80", "\x81", "\x81\x00", "\x82\x00", "\x82\x00\x00", "\x9f\xff", "\x9f\x00\xff", "\x98\x01\x00",
		"\x9b\xff\xff\xff\xff\xff\xff\xff\xff", "\x9a\x00\x01\x00\x00", "\x9a\x00\x01\x00\x01",
		"\xa0", "\xa1\x00", "\xa1\x00\x00", "\xa1\x00\x00\x00", "\xbf\xff", "\xa1\x61a\x81\x00", "\xa2\x00\x00\x00\x00", // a repeated key is well-formed
		"\xba\x00\x01\x00\x00", "\xba\x00\x01\x00\x01",
		"\xc0", "\xc0\x00", "\xc1\x61a", "\xc2\x41\x00", "\xc2\x00", "\xd8\x20\x00", "\xdf\x00", "\xc0\xc0\x00", "\xc0\xc0",
		"\xc0\x81\x00", "\xc0\xff",
		"\xe0", "\xf4", "\xf5", "\xf6", "\xf7", "\xf8", "\xf8\x00", "\xf8\x1f", "\xf8\x20", "\xf8\xff",
		"\xf9\x00\x00", "\xf9\x7e\x00", "\xf9\x7c\x00", "\xf9\x00", "\xfa\x7f\xc0\x00\x00", "\xfa\x00\x00\x00",
		"\xfb\x7f\xf8\x00\x00\x00\x00\x00\x00", "\xfb\x00", "\xfc", "\xfd", "\xfe", "\xff",
		nest(MaxDepth, "\x00"), nest(MaxDepth+1, "\x00"), nest(MaxDepth, "\x80"), nest(MaxDepth-1, "\x80"),
		nest(MaxDepth-1, "\xa1\x00\x80"), nest(MaxDepth-1, "\xa1\x00\x00"),
		strings.Repeat("\xc0", MaxDepth) + "\x00", strings.Repeat("\xc0", MaxDepth+1) + "\x00", strings.Repeat("\xc0", MaxDepth+2) + "\x00",
		nest(MaxDepth-1, strings.Repeat("\xc0", 2)+"\x00"), nest(MaxDepth-1, "\xc0\x80"), nest(MaxDepth-1, "\xc0\xc0\x80"),
		strings.Repeat("\xc0", MaxDepth) + "\x80", strings.Repeat("\xc0", MaxDepth-1) + "\x80",
	}
	var out [][]byte
	for _, c := range cases {
		out = append(out, []byte(c))
	}
	// Arrays and maps at and past the element limits.
	for _, n := range []int{MaxArrayElements, MaxArrayElements + 1} {
		b := appendHead(nil, 4<<5, uint64(n))
		out = append(out, append(b, make([]byte, n)...))
	}
	for _, n := range []int{MaxMapPairs, MaxMapPairs + 1} {
		b := appendHead(nil, 5<<5, uint64(n))
		out = append(out, append(b, make([]byte, 2*n)...))
	}
	// What Marshal writes.
	for _, v := range []any{
		map[string]any{"a": []any{1, "x", 2.5, nil, true, []byte{1}}, "b": map[int]string{1: "y"}},
		time.Date(2026, 12, 1, 3, 4, 5, 6, time.UTC), math.Inf(-1), math.NaN(), -1 << 63, uint64(math.MaxUint64),
		struct {
			A []string
			B map[string][]int
		}{[]string{"q"}, map[string][]int{"z": {1, 2}}},
	} {
		b, err := encMode.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestWellformedCases(t *testing.T) {
	for _, c := range wellformedCases(t) {
		checkWellformed(t, c)
		// Every prefix: truncated items.
		for i := range c {
			if i < 64 || i > len(c)-64 {
				checkWellformed(t, c[:i])
			}
		}
	}
}

// genCBOR draws bytes that are CBOR or nearly CBOR: items built from
// heads of every kind, then sometimes damaged.
func genCBOR(t *rapid.T) []byte {
	var item func(depth int) []byte
	item = func(depth int) []byte {
		major := byte(rapid.IntRange(0, 7).Draw(t, "major"))
		var b []byte
		arg := uint64(rapid.IntRange(0, 40).Draw(t, "arg"))
		switch rapid.IntRange(0, 9).Draw(t, "head") {
		case 0:
			b = append(b, major<<5|byte(rapid.IntRange(24, 31).Draw(t, "ai")))
		case 1:
			arg = rapid.Uint64().Draw(t, "big")
			b = appendHead(b, major<<5, arg)
		default:
			b = appendHead(b, major<<5, arg)
		}
		if depth > MaxDepth+2 {
			return b
		}
		switch major {
		case 2, 3:
			if arg < 64 {
				b = append(b, bytes.Repeat([]byte{'s'}, int(arg))...)
			}
		case 4, 5, 6:
			n := arg
			if major == 5 {
				n *= 2
			}
			if major == 6 {
				n = 1
			}
			if n > 8 {
				n = uint64(rapid.IntRange(0, 8).Draw(t, "elements"))
			}
			for range n {
				b = append(b, item(depth+1)...)
			}
		}
		return b
	}
	b := item(0)
	if rapid.IntRange(0, 3).Draw(t, "damage") == 0 && len(b) > 0 {
		i := rapid.IntRange(0, len(b)-1).Draw(t, "at")
		switch rapid.IntRange(0, 2).Draw(t, "how") {
		case 0:
			b[i] = byte(rapid.IntRange(0, 255).Draw(t, "byte"))
		case 1:
			b = b[:i]
		default:
			b = append(b, byte(rapid.IntRange(0, 255).Draw(t, "extra")))
		}
	}
	return b
}

func TestWellformedProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		checkWellformed(t, genCBOR(t))
	})
	rapid.Check(t, func(t *rapid.T) {
		checkWellformed(t, rapid.SliceOfN(rapid.Byte(), 0, 24).Draw(t, "bytes"))
	})
	// Deep nests of arrays, maps and tags around the depth limit.
	rapid.Check(t, func(t *rapid.T) {
		var b []byte
		n := rapid.IntRange(MaxDepth-3, MaxDepth+3).Draw(t, "depth")
		for range n {
			b = append(b, rapid.SampledFrom([]byte{0x81, 0xa1, 0xc0, 0xd8}).Draw(t, "wrapper"))
			switch b[len(b)-1] {
			case 0xa1:
				b = append(b, 0x00) // the key; the value is what follows
			case 0xd8:
				b = append(b, 0x40)
			}
		}
		b = append(b, rapid.SampledFrom([]byte{0x00, 0x80, 0xa0, 0xc0, 0x40}).Draw(t, "inner"))
		checkWellformed(t, b)
	})
}

func FuzzWellformed(f *testing.F) {
	for _, c := range wellformedCases(f) {
		if len(c) < 1024 {
			f.Add(c)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkWellformed(t, data)
	})
}
