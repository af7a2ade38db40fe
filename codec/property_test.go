package codec_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/weftflow/weft/codec"
)

// doc is a state-like type with most shapes a workflow state has.
type doc struct {
	Name     string
	Count    int64
	Small    uint8
	Ratio    float64
	Ok       bool
	When     time.Time
	Blob     []byte
	Tags     []string
	Attrs    map[string]int
	Children []child
	ByID     map[int64][]child
	Best     *child
	Grid     [][]int32
}

type child struct {
	ID   int               `cbor:"1,keyasint"`
	At   time.Time         `cbor:"2,keyasint,omitempty"`
	Data []byte            `cbor:"3,keyasint"`
	Kids map[uint16]string `cbor:"4,keyasint"`
}

// genString gives valid UTF-8 text and, sometimes, arbitrary bytes (a Go
// string may hold any bytes).
var genString = rapid.OneOf(
	rapid.String(),
	rapid.Map(rapid.SliceOfN(rapid.Byte(), 0, 12), func(b []byte) string { return string(b) }),
)

// genBytes gives nil, empty and non-empty byte slices: they encode
// differently (null, empty, data) and must each survive a round trip.
var genBytes = rapid.OneOf(
	rapid.Just([]byte(nil)),
	rapid.Just([]byte{}),
	rapid.SliceOfN(rapid.Byte(), 1, 40),
)

// genTime gives the zero time and times between the years 1 and 9999 in
// UTC or a fixed zone of whole minutes (what RFC 3339 can express).
var genTime = rapid.Custom(func(t *rapid.T) time.Time {
	if rapid.IntRange(0, 9).Draw(t, "zero") == 0 {
		return time.Time{}
	}
	minSec := time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC).Unix()
	maxSec := time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC).Unix()
	sec := rapid.Int64Range(minSec, maxSec).Draw(t, "sec")
	nsec := rapid.OneOf(rapid.Just(int64(0)), rapid.Int64Range(0, 999_999_999)).Draw(t, "nsec")
	loc := time.UTC
	if off := rapid.IntRange(-14*60, 14*60).Draw(t, "offsetMinutes"); off != 0 && rapid.Bool().Draw(t, "zoned") {
		loc = time.FixedZone(rapid.SampledFrom([]string{"", "XYZ"}).Draw(t, "zoneName"), off*60)
	}
	return time.Unix(sec, nsec).In(loc)
})

func genSlice[E any](g *rapid.Generator[E]) *rapid.Generator[[]E] {
	return rapid.OneOf(rapid.Just([]E(nil)), rapid.SliceOfN(g, 0, 5))
}

func genMap[K comparable, V any](k *rapid.Generator[K], v *rapid.Generator[V]) *rapid.Generator[map[K]V] {
	return rapid.OneOf(rapid.Just(map[K]V(nil)), rapid.MapOfN(k, v, 0, 6))
}

var genChild = rapid.Custom(func(t *rapid.T) child {
	return child{
		ID:   rapid.Int().Draw(t, "id"),
		At:   genTime.Draw(t, "at"),
		Data: genBytes.Draw(t, "data"),
		Kids: genMap(rapid.Uint16(), genString).Draw(t, "kids"),
	}
})

var genDoc = rapid.Custom(func(t *rapid.T) doc {
	return doc{
		Name:     genString.Draw(t, "name"),
		Count:    rapid.Int64().Draw(t, "count"),
		Small:    rapid.Uint8().Draw(t, "small"),
		Ratio:    rapid.Float64().Draw(t, "ratio"),
		Ok:       rapid.Bool().Draw(t, "ok"),
		When:     genTime.Draw(t, "when"),
		Blob:     genBytes.Draw(t, "blob"),
		Tags:     genSlice(genString).Draw(t, "tags"),
		Attrs:    genMap(genString, rapid.Int()).Draw(t, "attrs"),
		Children: genSlice(genChild).Draw(t, "children"),
		ByID:     genMap(rapid.Int64(), genSlice(genChild)).Draw(t, "byID"),
		Best:     rapid.Ptr(genChild, true).Draw(t, "best"),
		Grid:     genSlice(genSlice(rapid.Int32())).Draw(t, "grid"),
	}
})

// sameValue compares decoded values: times by instant (the zone name is
// not stored), NaN equal to NaN, nil and empty kept distinct.
var sameValue = []cmp.Option{cmpopts.EquateNaNs()}

func TestPropertyRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := genDoc.Draw(t, "doc")
		b, err := codec.Marshal(&x)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if err := codec.Valid(b); err != nil {
			t.Fatalf("Valid(Marshal(x)): %v", err)
		}
		var y doc
		if err := codec.Unmarshal(b, &y); err != nil {
			t.Fatalf("Unmarshal(Marshal(x)): %v", err)
		}
		if diff := cmp.Diff(x, y, sameValue...); diff != "" {
			t.Fatalf("decoded value differs (-x +y):\n%s", diff)
		}
		b2, err := codec.Marshal(&y)
		if err != nil {
			t.Fatalf("Marshal(decoded): %v", err)
		}
		if !bytes.Equal(b, b2) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, b2)
		}
		// Encoding a value and a pointer to it agree.
		if b3 := mustMarshal(t, x); !bytes.Equal(b, b3) {
			t.Fatalf("Marshal(x) != Marshal(&x)")
		}
	})
}

func TestPropertyMapOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		keys := rapid.SliceOfNDistinct(genString, 0, 40, rapid.ID[string]).Draw(t, "keys")
		order1 := rapid.Permutation(keys).Draw(t, "order1")
		order2 := rapid.Permutation(keys).Draw(t, "order2")

		build := func(order []string) (map[string]int, map[any]string, doc) {
			m := make(map[string]int)
			a := make(map[any]string)
			d := doc{Attrs: make(map[string]int), ByID: make(map[int64][]child)}
			for _, k := range order {
				n := len(k)*31 + int(hash(k))
				m[k] = n
				a[k] = k
				// Values under int keys depend only on the key: distinct
				// strings may give the same n.
				a[int64(n)] = fmt.Sprint(n) // mixed key types sort by their encoding
				d.Attrs[k] = n
				d.ByID[int64(n)] = []child{{ID: n, Kids: map[uint16]string{uint16(n): "x", uint16(n + 1): "y"}}}
			}
			return m, a, d
		}
		m1, a1, d1 := build(order1)
		m2, a2, d2 := build(order2)
		for _, pair := range [][2]any{{m1, m2}, {a1, a2}, {&d1, &d2}} {
			b1, b2 := mustMarshal(t, pair[0]), mustMarshal(t, pair[1])
			if !bytes.Equal(b1, b2) {
				t.Fatalf("%T: insertion order changed the encoding:\n%x\n%x", pair[0], b1, b2)
			}
		}
	})
}

func hash(s string) uint8 {
	var h uint8
	for i := range len(s) {
		h = h*33 + s[i]
	}
	return h
}

// genDocument gives the CBOR of something a workflow might store, with
// lengths around every CBOR head-size boundary now and then.
var genDocument = rapid.Custom(func(t *rapid.T) []byte {
	var v any
	switch rapid.IntRange(0, 3).Draw(t, "kind") {
	case 0:
		d := genDoc.Draw(t, "doc")
		v = &d
	case 1:
		v = make([]byte, rapid.SampledFrom([]int{0, 20, 21, 22, 23, 250, 251, 252, 253, 65530, 65531, 65532, 65533}).Draw(t, "n"))
	case 2:
		v = rapid.Int64().Draw(t, "int")
	default:
		v = genString.Draw(t, "text")
	}
	b, err := codec.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return b
})

func TestPropertyRecordRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := codec.Record{
			Format:   rapid.Uint64().Draw(t, "format"), // ignored: EncodeRecord writes Format
			Workflow: rapid.OneOf(genString, rapid.Map(rapid.IntRange(0, 300), func(n int) string { return fmt.Sprint(make([]byte, n)) })).Draw(t, "workflow"),
			State:    genDocument.Draw(t, "state"),
			Meta:     genDocument.Draw(t, "meta"),
		}
		if rapid.Bool().Draw(t, "hasHost") {
			r.Host = genDocument.Draw(t, "host")
		}
		b, err := codec.EncodeRecord(r)
		if err != nil {
			t.Fatalf("EncodeRecord: %v", err)
		}
		r.Format = codec.Format
		if lib := mustMarshal(t, r); !bytes.Equal(b, lib) {
			t.Fatalf("EncodeRecord differs from the library's deterministic encoding:\n%x\n%x", b, lib)
		}
		got, err := codec.DecodeRecord(b)
		if err != nil {
			t.Fatalf("DecodeRecord: %v", err)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Fatalf("decoded record (-want +got):\n%s", diff)
		}
		b2, err := codec.EncodeRecord(got)
		if err != nil {
			t.Fatalf("EncodeRecord(decoded): %v", err)
		}
		if !bytes.Equal(b, b2) {
			t.Fatalf("EncodeRecord(DecodeRecord(b)) != b:\n%x\n%x", b, b2)
		}
	})
}
