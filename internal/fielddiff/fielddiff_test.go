package fielddiff

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// js decodes JSON the way plan holds states: numbers as json.Number.
func js(t testing.TB, s string) any {
	t.Helper()
	if s == "" {
		return nil
	}
	v, err := JSONValue(json.RawMessage(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

func renderChanges(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.String() + "\n")
	}
	return b.String()
}

func TestFieldDiff(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"equal", `{"A":[1,{"B":2}]}`, `{"A":[1,{"B":2}]}`, ""},
		{"a nested field", `{"Cart":[{"Qty":1},{"Qty":2},{"Qty":1}]}`, `{"Cart":[{"Qty":1},{"Qty":2},{"Qty":3}]}`,
			"  .Cart[2].Qty: 1 -> 3\n"},
		{"added and removed fields", `{"A":1,"Gone":"x"}`, `{"A":1,"New":[true]}`,
			"- .Gone: \"x\"\n+ .New: [true]\n"},
		{"an element inserted in front shifts nothing", `{"L":["a","b","c"]}`, `{"L":["z","a","b","c"]}`,
			"+ .L[0]: \"z\"\n"},
		{"an element removed in the middle", `{"L":["a","b","c"]}`, `{"L":["a","c"]}`,
			"- .L[1]: \"b\"\n"},
		{"an element that moved and changed", `{"L":["a",{"N":1,"M":0}]}`, `{"L":[{"N":2,"M":0}]}`,
			"- .L[0]: \"a\"\n  .L[1->0].N: 1 -> 2\n"},
		{"a value that changed type", `{"X":1,"Y":{"Z":1}}`, `{"X":"1","Y":[1]}`,
			"  .X: 1 -> \"1\"\n  .Y: {\"Z\":1} -> [1]\n"},
		{"an object and a scalar are not paired", `["a",{"K":1}]`, `[{"K":1},"b"]`,
			"- [0]: \"a\"\n+ [1]: \"b\"\n"},
		{"keys that are not identifiers", `{"a b":1,"ünï":2,"9":3}`, `{"a b":2,"ünï":3,"9":4}`,
			"  [\"9\"]: 3 -> 4\n  [\"a b\"]: 1 -> 2\n  .ünï: 2 -> 3\n"},
		{"null next to an object", ``, `{"A":1,"B":{"C":null}}`,
			"  (the whole value): null -> {\"A\":1,\"B\":{\"C\":null}}\n"},
		{"an empty object next to one", `{}`, `{"A":1,"B":{"C":null}}`,
			"+ .A: 1\n+ .B: {\"C\":null}\n"},
		{"null next to the empty object", ``, `{}`, "  (the whole value): null -> {}\n"},
		{"null next to the empty list", `{"L":null}`, `{"L":[]}`, "  .L: null -> []\n"},
		{"the whole value", `1`, `"one"`, "  (the whole value): 1 -> \"one\"\n"},
		{"nested lists", `{"M":[[1,2],[3]]}`, `{"M":[[1,2,5],[3]]}`, "+ .M[0][2]: 5\n"},
		{"numbers stay exact", `{"N":9007199254740993}`, `{"N":9007199254740992}`,
			"  .N: 9007199254740993 -> 9007199254740992\n"},
		{"a long value is cut short", `{"S":""}`, `{"S":"` + long + `"}`,
			"  .S: \"\" -> \"" + long[:159] + "... (202 bytes)\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := renderChanges(Diff(js(t, c.old), js(t, c.new)))
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestListDiff(t *testing.T) {
	item := func(kind, path string, data any) Item {
		v := map[string]any{"Kind": kind, "Path": path}
		if data != nil {
			v["Data"] = data
		}
		return NewItem(kind+" "+path, kind, v)
	}
	old := []Item{
		item("reply", "kitchen", true),
		item("setup", "manager", map[string]any{"items": []any{"a"}}),
		item("start-timer", "courier", nil),
		item("cancel-timer", "cart", nil),
	}
	new := []Item{
		item("reply", "oven", true),
		item("setup", "manager", map[string]any{"items": []any{"a", "b"}}),
		item("run-activity", "charge", nil),
		item("start-timer", "courier", nil),
	}
	want := `~ reply kitchen
      .Path: "kitchen" -> "oven"
~ setup manager
    + .Data.items[1]: "b"
+ run-activity charge
  start-timer courier
- cancel-timer cart
`
	got := strings.Join(Lists(old, new), "\n") + "\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// lcsLen is the length of a longest common subsequence, by the textbook
// recursion, to check lcs against.
func lcsLen(a, b []string) int {
	memo := map[[2]int]int{}
	var f func(i, j int) int
	f = func(i, j int) int {
		if i == len(a) || j == len(b) {
			return 0
		}
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		v := max(f(i+1, j), f(i, j+1))
		if a[i] == b[j] {
			v = max(v, 1+f(i+1, j+1))
		}
		memo[k] = v
		return v
	}
	return f(0, 0)
}

// checkAlignment checks that an alignment of a and b lists every index of
// each once, in order, pairs only elements that are equal under eq, and
// returns the number of pairs.
func checkAlignment(t *rapid.T, a, b []string, ps []pair, eq func(i, j int) bool) int {
	nx, ny, matched := 0, 0, 0
	for _, p := range ps {
		if p.x >= 0 {
			if p.x != nx {
				t.Fatalf("old index %d out of order (want %d): %v", p.x, nx, ps)
			}
			nx++
		}
		if p.y >= 0 {
			if p.y != ny {
				t.Fatalf("new index %d out of order (want %d): %v", p.y, ny, ps)
			}
			ny++
		}
		if p.x >= 0 && p.y >= 0 {
			if !eq(p.x, p.y) {
				t.Fatalf("paired %q with %q: %v", a[p.x], b[p.y], ps)
			}
			matched++
		}
		if p.x < 0 && p.y < 0 {
			t.Fatalf("an empty pair: %v", ps)
		}
	}
	if nx != len(a) || ny != len(b) {
		t.Fatalf("covers %d of %d and %d of %d elements: %v", nx, len(a), ny, len(b), ps)
	}
	return matched
}

func TestLCSIsALongestCommonSubsequence(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sym := rapid.SampledFrom([]string{"a", "b", "c", "d"})
		a := rapid.SliceOfN(sym, 0, 12).Draw(t, "a")
		b := rapid.SliceOfN(sym, 0, 12).Draw(t, "b")
		ps := lcs(a, b)
		if got, want := checkAlignment(t, a, b, ps, func(i, j int) bool { return a[i] == b[j] }), lcsLen(a, b); got != want {
			t.Fatalf("%d pairs, the longest common subsequence has %d: %v", got, want, ps)
		}
		if !reflect.DeepEqual(ps, lcs(a, b)) {
			t.Fatal("not deterministic")
		}
	})
}

func TestAlignListsPairsEqualThenSimilar(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// An element is class/value: equal elements have equal keys, and
		// only elements of one class may be paired unequal.
		el := rapid.Custom(func(t *rapid.T) [2]string {
			return [2]string{rapid.SampledFrom([]string{"x", "y"}).Draw(t, "class"), rapid.SampledFrom([]string{"1", "2", "3"}).Draw(t, "value")}
		})
		a := rapid.SliceOfN(el, 0, 10).Draw(t, "a")
		b := rapid.SliceOfN(el, 0, 10).Draw(t, "b")
		split := func(xs [][2]string) (keys, classes []string) {
			for _, x := range xs {
				keys, classes = append(keys, x[0]+x[1]), append(classes, x[0])
			}
			return
		}
		ka, ca := split(a)
		kb, cb := split(b)
		ps := alignLists(ka, kb, ca, cb)
		checkAlignment(t, ka, kb, ps, func(i, j int) bool { return ca[i] == cb[j] })
		equal := 0
		for _, p := range ps {
			if p.x >= 0 && p.y >= 0 && ka[p.x] == kb[p.y] {
				equal++
			}
		}
		if want := lcsLen(ka, kb); equal < want {
			t.Fatalf("%d equal pairs, want at least %d: %v", equal, want, ps)
		}
	})
}

// jsonGen draws JSON values as plan holds them.
func jsonGen(depth int) *rapid.Generator[any] {
	return rapid.Custom(func(t *rapid.T) any {
		kinds := []string{"null", "bool", "number", "string"}
		if depth > 0 {
			kinds = append(kinds, "list", "object")
		}
		switch rapid.SampledFrom(kinds).Draw(t, "kind") {
		case "bool":
			return rapid.Bool().Draw(t, "b")
		case "number":
			return json.Number(fmt.Sprint(rapid.IntRange(-3, 3).Draw(t, "n")))
		case "string":
			return rapid.SampledFrom([]string{"", "a", "b", "a b"}).Draw(t, "s")
		case "list":
			return rapid.SliceOfN(jsonGen(depth-1), 0, 4).Draw(t, "list")
		case "object":
			keys := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"A", "B", "C", "d e"}), 0, 4, rapid.ID[string]).Draw(t, "keys")
			m := map[string]any{}
			for _, k := range keys {
				m[k] = jsonGen(depth-1).Draw(t, k)
			}
			return m
		}
		return nil
	})
}

// Diff finds a difference exactly when there is one, and each line
// names a path.
func TestFieldDiffProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := jsonGen(3).Draw(t, "old")
		y := jsonGen(3).Draw(t, "new")
		if rapid.Bool().Draw(t, "same") {
			y = x
		}
		cs := Diff(x, y)
		if (len(cs) == 0) != reflect.DeepEqual(x, y) {
			t.Fatalf("%d changes between %v and %v:\n%s", len(cs), x, y, renderChanges(cs))
		}
		if len(Diff(x, x)) != 0 {
			t.Fatalf("a value differs from itself: %v", x)
		}
		_, xMap := x.(map[string]any)
		_, yMap := y.(map[string]any)
		_, xList := x.([]any)
		_, yList := y.([]any)
		for _, c := range cs {
			if c.Path == "" && (xMap && yMap || xList && yList) {
				t.Fatalf("two objects or two lists differ as a whole, not by their elements: %q", c)
			}
		}
		if renderChanges(cs) != renderChanges(Diff(x, y)) {
			t.Fatal("not deterministic")
		}
	})
}

// Lists too long for the quadratic table are still aligned in full.
func TestLCSLongLists(t *testing.T) {
	n := 3000
	a, b := make([]string, n), make([]string, n)
	for i := range n {
		a[i], b[i] = fmt.Sprint(i), fmt.Sprint(i*7%n) // a permutation: little in common
	}
	b = append([]string{"head"}, b...)
	ps := lcs(a, b)
	nx, ny := 0, 0
	for _, p := range ps {
		if p.x >= 0 {
			nx++
		}
		if p.y >= 0 {
			ny++
		}
		if p.x >= 0 && p.y >= 0 && a[p.x] != b[p.y] {
			t.Fatalf("paired %q with %q", a[p.x], b[p.y])
		}
	}
	if nx != len(a) || ny != len(b) {
		t.Fatalf("covers %d and %d elements, want %d and %d", nx, ny, len(a), len(b))
	}
}

// Records JSON cannot encode still compare, by their line, and render.
func TestUnencodableValues(t *testing.T) {
	nan := map[string]any{"X": math.NaN()}
	a, b := NewItem("a", "k", nan), NewItem("b", "k", nan)
	if Same([]Item{a}, []Item{b}) {
		t.Error("two items with different lines and no JSON are the same")
	}
	if !Same([]Item{a}, []Item{NewItem("a", "k", nan)}) {
		t.Error("an item differs from its copy")
	}
	want := "~ a\n      (the whole value): \"a\" -> \"b\"\n"
	if got := strings.Join(Lists([]Item{a}, []Item{b}), "\n") + "\n"; got != want {
		t.Errorf("Lists = %q, want %q", got, want)
	}
	if got := Render(nan); got != "map[X:NaN]" {
		t.Errorf("Render = %q", got)
	}
	if _, err := JSONValue(nan); err == nil {
		t.Error("JSONValue encoded a NaN")
	}
}

// Records of different Go types compare by field name, numbers by value.
func TestNewItemComparesByField(t *testing.T) {
	type v1 struct {
		Kind string
		N    int
	}
	type v2 struct {
		Kind string
		N    float64
		Tag  string `json:",omitempty"`
	}
	x := NewItem("x", "k", v1{"reply", 3})
	if !Same([]Item{x}, []Item{NewItem("y", "k", v2{Kind: "reply", N: 3})}) {
		t.Error("equal fields of different types differ")
	}
	got := Lists([]Item{x}, []Item{NewItem("y", "k", v2{Kind: "reply", N: 4, Tag: "t"})})
	want := []string{"~ x", "      .N: 3 -> 4", "    + .Tag: \"t\""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
