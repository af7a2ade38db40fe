package cborhead_test

import (
	"bytes"
	"math"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/weftflow/weft/internal/cborhead"
	"pgregory.net/rapid"
)

// What the package writes is what a deterministic CBOR encoder writes.
func TestMatchesEncoder(t *testing.T) {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(rt *rapid.T) {
		v := rapid.OneOf(rapid.Int64(), rapid.SampledFrom([]int64{0, 23, 24, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, -1, -24, -25, math.MinInt64, math.MaxInt64})).Draw(rt, "int")
		want, _ := em.Marshal(v)
		if got := cborhead.Int(nil, v); !bytes.Equal(got, want) {
			rt.Fatalf("Int(%d) = %x, want %x", v, got, want)
		}
		s := rapid.StringN(0, 300, -1).Draw(rt, "text")
		want, _ = em.Marshal(s)
		if got := cborhead.Text(nil, s); !bytes.Equal(got, want) {
			rt.Fatalf("Text(%q) = %x, want %x", s, got, want)
		}
		n := rapid.Uint64().Draw(rt, "n")
		if got := len(cborhead.Append(nil, 2, n)); got != cborhead.Len(n) {
			rt.Fatalf("Len(%d) = %d, the head is %d bytes", n, cborhead.Len(n), got)
		}
	})
}
