package codec

import (
	"reflect"
	"strings"
	"testing"
)

// The fast path of DecodeRecord must agree with the cbor library on every
// input it accepts, and must accept everything EncodeRecord writes.

func fastPathSeeds(t testing.TB) [][]byte {
	t.Helper()
	var seeds [][]byte
	for _, n := range []int{0, 1, 23, 24, 255, 256, 65535, 65536} {
		state, err := Marshal(make([]byte, n))
		if err != nil {
			t.Fatal(err)
		}
		meta, err := Marshal(strings.Repeat("m", n))
		if err != nil {
			t.Fatal(err)
		}
		b, err := EncodeRecord(Record{Workflow: strings.Repeat("w", n), State: state, Meta: meta})
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

func TestEncodeRecordTakesFastPath(t *testing.T) {
	for _, b := range fastPathSeeds(t) {
		for _, alias := range []bool{false, true} {
			r, ok := decodeCanonicalRecord(b, alias)
			if !ok {
				t.Fatalf("fast path refused EncodeRecord output %.40x...", b)
			}
			want, err := decodeAnyRecord(b)
			if err != nil || !reflect.DeepEqual(r, want) {
				t.Fatalf("fast path %+v, library %+v (%v)", r, want, err)
			}
			if cap(r.State) != len(r.State) || cap(r.Meta) != len(r.Meta) {
				t.Fatalf("State or Meta has spare capacity: appending would overwrite what follows")
			}
			// Aliasing or not, as asked: the meta ends just before the end
			// of data (no host here).
			if got := len(r.Meta) > 0 && &r.Meta[len(r.Meta)-1] == &b[len(b)-1]; got != alias {
				t.Fatalf("alias %v: the meta is part of data: %v", alias, got)
			}
		}
	}
	// Non-canonical heads are left to the library.
	for _, h := range []string{
		"\xa4\x01\x01\x02\x78\x01w\x03\x41\x00\x04\x41\x00",     // 1-byte head for a length < 24
		"\xa4\x01\x01\x02\x61w\x03\x59\x00\x01\x00\x04\x41\x00", // 2-byte head for a length < 256
		"\xa4\x01\x01\x02\x61w\x03\x41\x00\x04\x41\x00\x00",     // trailing byte
		"\xa4\x01\x01\x02\x61w\x03\x41\x00\x04\x42\x00",         // truncated
		"\xa4\x01\x01\x02\x61w\x03\x5f\x41\x00\xff\x04\x41\x00", // indefinite
		"\xa4\x01\x01\x02\x61w\x03\x5b\x00\x00\x00\x00\x00\x00\x00\x01\x00\x04\x41\x00",
	} {
		for _, alias := range []bool{false, true} {
			if r, ok := decodeCanonicalRecord([]byte(h), alias); ok {
				t.Errorf("fast path accepted %x as %+v", h, r)
			}
		}
	}
}

func FuzzRecordFastPath(f *testing.F) {
	for _, s := range fastPathSeeds(f) {
		if len(s) < 1024 {
			f.Add(s)
		}
	}
	f.Add([]byte("\xa4\x01\x01\x02\x60\x03\x40\x04\x40")) // empty State and Meta: both paths must give non-nil empty slices
	f.Fuzz(func(t *testing.T, data []byte) {
		r, ok := decodeCanonicalRecord(data, false)
		ra, oka := decodeCanonicalRecord(data, true)
		if ok != oka {
			t.Fatalf("the fast path accepts %x copying (%v) and aliasing (%v)", data, ok, oka)
		}
		if !ok {
			return
		}
		want, err := decodeAnyRecord(data)
		if err != nil {
			t.Fatalf("fast path accepted what the library rejects (%v): %x", err, data)
		}
		if !reflect.DeepEqual(r, want) || !reflect.DeepEqual(ra, want) {
			t.Fatalf("fast path %+v (aliasing %+v), library %+v", r, ra, want)
		}
	})
}
