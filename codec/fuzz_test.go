package codec_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weftflow/weft/codec"
)

// recordSeeds are valid records and near misses for the fuzz corpus.
func recordSeeds(t testing.TB) [][]byte {
	t.Helper()
	small := sampleRecord(t)
	empty := codec.Record{State: []byte{0xf6}, Meta: []byte{0xa0}}
	x := doc{Name: "n", Tags: []string{"a"}, Attrs: map[string]int{"k": 1}, When: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)}
	rich := codec.Record{Workflow: "rich", State: mustMarshal(t, &x), Meta: mustMarshal(t, []any{1, "two", []byte{3}})}
	var seeds [][]byte
	hosted := codec.Record{Workflow: "h", State: []byte{0xf6}, Meta: []byte{0xa0}, Host: mustMarshal(t, map[int][]string{1: {"k"}})}
	for _, r := range []codec.Record{small, empty, rich, hosted} {
		b, err := codec.EncodeRecord(r)
		if err != nil {
			t.Fatalf("EncodeRecord: %v", err)
		}
		seeds = append(seeds, b, b[:len(b)-1], append(append([]byte{}, b...), 0))
	}
	seeds = append(seeds,
		nil,
		[]byte{0xf6},
		[]byte{0xa0},
		mustHex(t, "a4 01 02 02 62 7766 03 41 00 04 41 00"),             // format 2
		mustHex(t, "a4 04 42 616d 03 42 6173 02 62 7766 01 01"),         // keys out of order
		mustHex(t, "a4 01 1b 0000000000000001 02 60 03 41 00 04 41 00"), // long int head
		mustHex(t, "a5 01 01 02 60 03 41 00 04 41 00 18 63 80"),         // unknown key
		mustHex(t, "bf 01 01 02 60 03 41 00 04 41 00 ff"),               // indefinite map
		mustHex(t, "a4 01 01 02 60 03 41 1c 04 41 00"),                  // state not CBOR
		mustHex(t, "a4 01 01 02 c0 60 03 41 00 04 41 00"),               // tagged workflow
		[]byte("garbage that is not CBOR at all"),
	)
	return seeds
}

// FuzzDecodeRecord checks that DecodeRecord never panics, that whatever it
// accepts encodes again and decodes to the same record, and that canonical
// input (input that the deterministic encoder would write itself) comes back
// byte for byte. Non-canonical input that DecodeRecord tolerates (keys out of
// order, long integer heads, unknown keys) cannot come back byte for byte:
// the encoder writes one form only.
func FuzzDecodeRecord(f *testing.F) {
	for _, s := range recordSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := codec.DecodeRecord(data)
		if err != nil {
			if diff := cmp.Diff(codec.Record{}, r); diff != "" {
				t.Fatalf("failed decode returned a record: %s", diff)
			}
			return
		}
		if r.Format != codec.Format {
			t.Fatalf("decoded Format %d", r.Format)
		}
		b, err := codec.EncodeRecord(r)
		if err != nil {
			t.Fatalf("EncodeRecord(DecodeRecord(data)): %v", err)
		}
		r2, err := codec.DecodeRecord(b)
		if err != nil {
			t.Fatalf("DecodeRecord(EncodeRecord(r)): %v", err)
		}
		if diff := cmp.Diff(r, r2); diff != "" {
			t.Fatalf("decode-encode-decode changed the record (-first +second):\n%s", diff)
		}
		if b2, err := codec.EncodeRecord(r2); err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("encoding is not stable: %x then %x (%v)", b, b2, err)
		}
		if isCanonicalRecord(data) && !bytes.Equal(b, data) {
			t.Fatalf("canonical input did not round-trip:\n in %x\nout %x", data, b)
		}
	})
}

// isCanonicalRecord reports whether data is in the deterministic encoding
// and holds exactly the four record fields as plain (untagged) values: a
// map with keys 1 to 4 to an unsigned integer, a text string and two byte
// strings, and optionally key 5 to a non-empty byte string. That is exactly
// what EncodeRecord writes.
func isCanonicalRecord(data []byte) bool {
	var v any
	if codec.Unmarshal(data, &v) != nil {
		return false
	}
	again, err := codec.Marshal(v)
	if err != nil || !bytes.Equal(again, data) {
		return false
	}
	m, ok := v.(map[any]any)
	if !ok || (len(m) != 4 && len(m) != 5) {
		return false
	}
	if len(m) == 5 {
		if host, ok := m[uint64(5)].([]byte); !ok || len(host) == 0 {
			return false
		}
	}
	_, ok1 := m[uint64(1)].(uint64)
	_, ok2 := m[uint64(2)].(string)
	_, ok3 := m[uint64(3)].([]byte)
	_, ok4 := m[uint64(4)].([]byte)
	return ok1 && ok2 && ok3 && ok4
}

// fuzzTarget is a small struct for FuzzUnmarshal with the shapes that have
// special decoding rules.
type fuzzTarget struct {
	Name  string           `cbor:"1,keyasint"`
	N     int16            `cbor:"2,keyasint"`
	U     uint64           `cbor:"3,keyasint"`
	Blob  []byte           `cbor:"4,keyasint"`
	Tags  []string         `cbor:"5,keyasint"`
	M     map[string]int32 `cbor:"6,keyasint"`
	When  time.Time        `cbor:"7,keyasint"`
	F     float32          `cbor:"8,keyasint"`
	Kids  []fuzzTarget     `cbor:"9,keyasint"`
	Named bool             `cbor:"named"`
	Any   any              `cbor:"10,keyasint"`
}

// FuzzUnmarshal checks that Unmarshal never panics and that what it accepts
// re-encodes stably: encode(decode(encode(v))) == encode(v). Unmarshal
// also accepts times that Marshal cannot write (numbers far outside RFC
// 3339's years 0000-9999); those are the only values whose encoding may fail.
func FuzzUnmarshal(f *testing.F) {
	seed := fuzzTarget{
		Name: "n", N: -3, U: 1 << 40, Blob: []byte{1}, Tags: []string{"t"}, M: map[string]int32{"a": 1},
		When: time.Date(2024, 1, 2, 3, 4, 5, 6, time.FixedZone("", 3600)), F: 1.5,
		Kids: []fuzzTarget{{Name: "kid"}}, Named: true, Any: map[string]any{"x": []any{1, "y"}},
	}
	f.Add(mustMarshal(f, &seed))
	f.Add(mustMarshal(f, &fuzzTarget{}))
	f.Add(mustHex(f, "a1 07 1b 7fffffffffffffff"))      // time as a huge unix number
	f.Add(mustHex(f, "a1 07 c1 fb 7ff0000000000000"))   // time as tag 1 infinity
	f.Add(mustHex(f, "a1 0a c2 49 010000000000000000")) // bignum in an interface
	f.Add(mustHex(f, "a2 01 61 61 01 61 62"))           // duplicate key
	f.Add([]byte("\xa1\x01\x62\xff\xfe"))               // invalid UTF-8
	f.Fuzz(func(t *testing.T, data []byte) {
		var v fuzzTarget
		if err := codec.Unmarshal(data, &v); err != nil {
			return
		}
		if err := codec.Valid(data); err != nil {
			t.Fatalf("Unmarshal accepted what Valid rejects: %v", err)
		}
		b, err := codec.Marshal(&v)
		if err != nil {
			if !hasUnwritableTime(&v) {
				t.Fatalf("Marshal(Unmarshal(data)): %v", err)
			}
			return
		}
		var w fuzzTarget
		if err := codec.Unmarshal(b, &w); err != nil {
			t.Fatalf("Unmarshal(Marshal(v)): %v\n%x", err, b)
		}
		b2, err := codec.Marshal(&w)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("encoding is not stable: %x then %x (%v)", b, b2, err)
		}
	})
}

func hasUnwritableTime(v *fuzzTarget) bool {
	if y := v.When.Year(); !v.When.IsZero() && (y < 0 || y > 9999) {
		return true
	}
	if _, off := v.When.Zone(); off <= -24*3600 || off >= 24*3600 {
		return true
	}
	for i := range v.Kids {
		if hasUnwritableTime(&v.Kids[i]) {
			return true
		}
	}
	return false
}
