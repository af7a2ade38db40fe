package engine

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"pgregory.net/rapid"
)

// markEnded's hand-written encoding of a new instance's host data (none
// before) writes exactly what the codec writes for it, at any time.
func TestMarkEndedMatchesCodec(t *testing.T) {
	ns := rapid.OneOf(rapid.Int64Range(-30, 30), rapid.Int64Range(-1<<40, 1<<40), rapid.Int64Range(math.MinInt64, math.MaxInt64),
		rapid.Int64Range(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()))
	rapid.Check(t, func(t *rapid.T) {
		at := time.Unix(0, ns.Draw(t, "ns"))
		for _, host := range [][]byte{nil, {}} {
			got, err := markEnded("i", host, at)
			if err != nil {
				t.Fatal(err)
			}
			want, err := codec.Marshal(hostData{Ended: at.UnixNano()})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("markEnded at %d: %x, codec writes %x", at.UnixNano(), got, want)
			}
			h, err := decodeHost("i", got)
			if err != nil || h.Ended != at.UnixNano() || h.Keys != nil || h.Parent != nil {
				t.Fatalf("decoded %+v, %v", h, err)
			}
		}
	})
}
