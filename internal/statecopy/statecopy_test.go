package statecopy_test

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/statecopy"
	"pgregory.net/rapid"
)

type Level int

type Line struct {
	Item  string
	Qty   int
	Price float64
	Tags  []string
}

type Order struct {
	ID      string
	Level   Level
	Lines   []Line
	ByName  map[string]*Line
	Notes   map[string][]int
	Best    *Line
	Grid    [3][2]uint8
	Done    bool
	Empty   []int // nil and empty stay apart
	Counter int64 `cbor:"9,keyasint,omitempty"`
	Raw     []byte
	Fixed   [4]byte
}

type Tree struct {
	Name string
	Kids []*Tree
}

func genLine(t *rapid.T) Line {
	return Line{
		Item:  rapid.StringN(0, 6, -1).Draw(t, "item"),
		Qty:   rapid.Int().Draw(t, "qty"),
		Price: rapid.Float64().Draw(t, "price"),
		Tags:  rapid.OneOf(rapid.Just[[]string](nil), rapid.SliceOfN(rapid.StringN(0, 3, -1), 0, 3)).Draw(t, "tags"),
	}
}

func genOrder(t *rapid.T) *Order {
	o := &Order{ID: rapid.String().Draw(t, "id"), Level: Level(rapid.Int().Draw(t, "level")), Done: rapid.Bool().Draw(t, "done"),
		Counter: rapid.Int64().Draw(t, "counter")}
	for range rapid.IntRange(0, 3).Draw(t, "lines") {
		o.Lines = append(o.Lines, genLine(t))
	}
	if rapid.Bool().Draw(t, "byName") {
		o.ByName = map[string]*Line{}
		for range rapid.IntRange(0, 3).Draw(t, "names") {
			l := genLine(t)
			o.ByName[l.Item] = &l
			if rapid.Bool().Draw(t, "shared") {
				o.Best = o.ByName[l.Item] // a pointer shared with the map
			}
		}
	}
	if rapid.Bool().Draw(t, "notes") {
		o.Notes = map[string][]int{"a": rapid.SliceOfN(rapid.Int(), 0, 3).Draw(t, "a"), "b": nil}
	}
	if rapid.Bool().Draw(t, "empty") {
		o.Empty = []int{}
	}
	o.Raw = rapid.OneOf(rapid.Just[[]byte](nil), rapid.Just([]byte{}), rapid.SliceOfN(rapid.Byte(), 1, 4)).Draw(t, "raw")
	o.Fixed[rapid.IntRange(0, 3).Draw(t, "fi")] = rapid.Byte().Draw(t, "f")
	o.Grid[rapid.IntRange(0, 2).Draw(t, "gi")][rapid.IntRange(0, 1).Draw(t, "gj")] = rapid.Uint8().Draw(t, "g")
	return o
}

func encode(t *rapid.T, v any) []byte {
	b, err := codec.Marshal(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

// A copy encodes to the bytes of the original and of its CBOR round trip
// (the snapshot it stands in for), and changing the copy leaves the
// original as it was.
func TestCopyIsTheRoundTrip(t *testing.T) {
	cp := statecopy.For(reflect.TypeFor[Order]())
	if cp == nil {
		t.Fatal("Order has no copier")
	}
	rapid.Check(t, func(t *rapid.T) {
		o := genOrder(t)
		want := encode(t, o)
		var rt Order
		if err := codec.Unmarshal(want, &rt); err != nil {
			t.Fatal(err)
		}
		c, ok := cp(o)
		if !ok {
			t.Fatal("not copied")
		}
		got := encode(t, c)
		if !bytes.Equal(got, want) || !bytes.Equal(got, encode(t, &rt)) {
			t.Fatalf("copy encodes differently:\n got %x\nwant %x", got, want)
		}
		if !reflect.DeepEqual(c, &rt) {
			t.Fatalf("copy %+v differs from the round trip %+v", c, &rt)
		}
		// Independence: scribble over every reference of the copy.
		co := c.(*Order)
		for i := range co.Lines {
			co.Lines[i].Item += "x"
			for j := range co.Lines[i].Tags {
				co.Lines[i].Tags[j] += "x"
			}
		}
		for _, l := range co.ByName {
			if l != nil {
				l.Qty++
			}
		}
		if co.ByName != nil {
			co.ByName["added"] = nil
		}
		if co.Best != nil {
			co.Best.Price++
		}
		for i := range co.Raw {
			co.Raw[i]++
		}
		for _, v := range co.Notes {
			for i := range v {
				v[i]++
			}
		}
		co.Notes = nil
		if got := encode(t, o); !bytes.Equal(got, want) {
			t.Fatalf("changing the copy changed the original")
		}
	})
}

// Recursive types are copied, down to MaxDepth; deeper ones (and cycles)
// are refused, for the codec to judge.
func TestRecursive(t *testing.T) {
	cp := statecopy.For(reflect.TypeFor[Tree]())
	if cp == nil {
		t.Fatal("Tree has no copier")
	}
	deep := func(n int) *Tree {
		root := &Tree{Name: "0"}
		for cur, i := root, 1; i < n; i++ {
			next := &Tree{Name: "n"}
			cur.Kids = []*Tree{next}
			cur = next
		}
		return root
	}
	shallow := deep(5)
	c, ok := cp(shallow)
	if !ok || !reflect.DeepEqual(c, shallow) {
		t.Fatalf("a five-level tree: %v, %+v", ok, c)
	}
	if _, ok := cp(deep(100)); ok {
		t.Fatal("a tree 100 levels deep was copied")
	}
	cyc := &Tree{Name: "loop"}
	cyc.Kids = []*Tree{cyc}
	if _, ok := cp(cyc); ok {
		t.Fatal("a cycle was copied")
	}
}

type withTime struct{ At time.Time }
type withAny struct{ V any }
type withHidden struct {
	A int
	b int
}
type withSkip struct {
	A int
	B int `cbor:"-"`
}
type withJSONSkip struct {
	A int `json:"-"`
}
type Inner struct{ X int }
type withEmbedded struct{ Inner }
type custom int

func (c custom) MarshalCBOR() ([]byte, error) { return codec.Marshal(int(c) + 1) }

type withCustom struct{ C custom }
type withText struct{ T textual }
type textual struct{ s string }

func (t textual) MarshalText() ([]byte, error) { return []byte(t.s), nil }

type withChan struct{ C chan int }
type withFunc struct{ F func() }
type withComplex struct{ C complex128 }
type withOmittedSlice struct {
	S []int `cbor:"1,keyasint,omitempty"`
}
type withOmittedMap struct {
	M map[string]int `json:",omitzero"`
}

// Types whose CBOR round trip is not a deep copy get no copier.
func TestRefused(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[withTime](), reflect.TypeFor[withAny](), reflect.TypeFor[withHidden](),
		reflect.TypeFor[withSkip](), reflect.TypeFor[withJSONSkip](), reflect.TypeFor[withEmbedded](),
		reflect.TypeFor[withCustom](), reflect.TypeFor[withText](), reflect.TypeFor[withChan](),
		reflect.TypeFor[withFunc](), reflect.TypeFor[withComplex](), reflect.TypeFor[[]withTime](),
		reflect.TypeFor[map[string]withAny](), reflect.TypeFor[withOmittedSlice](), reflect.TypeFor[withOmittedMap](),
	} {
		if statecopy.For(typ) != nil {
			t.Errorf("%v has a copier", typ)
		}
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[Order](), reflect.TypeFor[int](), reflect.TypeFor[struct{}]()} {
		if statecopy.For(typ) == nil {
			t.Errorf("%v has no copier", typ)
		}
	}
}

// The copier refuses what is not a non-nil pointer to its type.
func TestWrongInput(t *testing.T) {
	cp := statecopy.For(reflect.TypeFor[Order]())
	for _, v := range []any{nil, Order{}, (*Order)(nil), &Line{}} {
		if _, ok := cp(v); ok {
			t.Errorf("copied %T", v)
		}
	}
}

// Flat is a state with no references: Of copies it by assignment.
type Flat struct {
	Name  string
	Count int
	Grid  [2][3]int16
	Line  struct{ Item string }
	Done  bool
}

// Of's copy is the round trip, whether it reuses the value handed back
// or allocates; the copy and the original stay independent; and a flat
// type reuses what it is given while other types get fresh copies.
func TestOfReusesFlatValues(t *testing.T) {
	flatCp := statecopy.Of[Flat]()
	deepCp := statecopy.Of[Order]()
	if flatCp == nil || deepCp == nil {
		t.Fatal("no copier")
	}
	if statecopy.Of[struct{ T time.Time }]() != nil {
		t.Fatal("a time got a copier")
	}
	rapid.Check(t, func(t *rapid.T) {
		f := &Flat{Name: rapid.String().Draw(t, "name"), Count: rapid.Int().Draw(t, "count"), Done: rapid.Bool().Draw(t, "done")}
		f.Grid[1][2] = rapid.Int16().Draw(t, "cell")
		f.Line.Item = rapid.String().Draw(t, "item")
		want := encode(t, f)
		var spare any
		if rapid.Bool().Draw(t, "reuse") {
			spare = &Flat{Name: "stale", Count: -1, Grid: [2][3]int16{{9, 9, 9}, {9, 9, 9}}}
		}
		c, ok := flatCp(spare, f)
		if !ok {
			t.Fatal("not copied")
		}
		if spare != nil && c != spare {
			t.Fatal("a flat copy did not reuse the spare it was given")
		}
		if c == any(f) {
			t.Fatal("the copy is the original")
		}
		if got := encode(t, c); !bytes.Equal(got, want) {
			t.Fatalf("copy encodes differently:\n got %x\nwant %x", got, want)
		}
		c.(*Flat).Grid[1][2]++
		c.(*Flat).Name += "x"
		if got := encode(t, f); !bytes.Equal(got, want) {
			t.Fatal("changing the copy changed the original")
		}
		if c, _ := flatCp(f, f); c == any(f) {
			t.Fatal("handed the original as the spare, the copy is the original")
		}

		o := genOrder(t)
		old := &Order{ID: "stale"}
		d, ok := deepCp(old, o)
		if !ok {
			t.Fatal("not copied")
		}
		if d == any(old) || old.ID != "stale" {
			t.Fatal("a type with references reused the spare")
		}
		if got, want := encode(t, d), encode(t, o); !bytes.Equal(got, want) {
			t.Fatalf("copy encodes differently:\n got %x\nwant %x", got, want)
		}
	})
	if _, ok := flatCp(nil, &Order{}); ok {
		t.Fatal("copied a value of another type")
	}
	if _, ok := flatCp(nil, (*Flat)(nil)); ok {
		t.Fatal("copied a nil pointer")
	}
}
