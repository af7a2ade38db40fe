// Package fielddiff compares two JSON values field by field and renders
// the differences one line per changed path (".Cart[2].Qty: 1 -> 3"),
// and compares lists of records element by element ("+", "-", "~" with
// the changed fields). It is the report of a plan (package simulate and
// weft plan); it is not a general diff of Go values, which go-cmp is.
package fielddiff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

// go-cmp walks the two values and a Reporter collects each differing leaf
// with its path. Slices are aligned here first, not by go-cmp: its edit
// script starts in a direction chosen at random per process (on purpose,
// see cmp/internal/diff), so the same plan could read differently on two
// runs. align is a longest common subsequence, deterministic.

// Change is one difference at a path: in both values and changed ('~'),
// only in the new one ('+'), or only in the old one ('-').
type Change struct {
	Op       byte   // '~', '+' or '-'
	Path     string // ".Items[0].Qty"; empty for the whole value
	Old, New any
}

// String renders the change as one line.
func (c Change) String() string {
	p := c.Path
	if p == "" {
		p = "(the whole value)"
	}
	switch c.Op {
	case '+':
		return "+ " + p + ": " + Render(c.New)
	case '-':
		return "- " + p + ": " + Render(c.Old)
	}
	return "  " + p + ": " + Render(c.Old) + " -> " + Render(c.New)
}

// Diff returns the leaves at which x and y differ, in path order (object
// keys sorted, list elements in order). Values are as [JSONValue] returns
// them; two objects or two lists never differ as a whole, only by their
// elements.
func Diff(x, y any) []Change {
	ax, ay := alignValues(x, y)
	var r changeReporter
	// Pointers, so that a nil value is a nil any and not a missing one.
	cmp.Equal(&ax, &ay, cmp.Reporter(&r))
	return r.changes
}

// changeReporter is a cmp.Reporter that keeps the path and values of
// every unequal leaf.
type changeReporter struct {
	path    cmp.Path
	changes []Change
}

func (r *changeReporter) PushStep(ps cmp.PathStep) { r.path = append(r.path, ps) }
func (r *changeReporter) PopStep()                 { r.path = r.path[:len(r.path)-1] }

func (r *changeReporter) Report(res cmp.Result) {
	if res.Equal() {
		return
	}
	vx, vy := r.path.Last().Values()
	c := Change{Op: '~', Path: renderPath(r.path)}
	switch {
	case !vx.IsValid():
		c.Op, c.New = '+', vy.Interface()
	case !vy.IsValid():
		c.Op, c.Old = '-', vx.Interface()
	default:
		c.Old, c.New = vx.Interface(), vy.Interface()
	}
	r.changes = append(r.changes, c)
}

// renderPath writes a path the way Go code reaches the value: fields and
// identifier-like map keys as ".Name", other keys as ["key"], list
// elements as [i], or [i->j] when the element moved.
func renderPath(p cmp.Path) string {
	var b strings.Builder
	for _, ps := range p {
		switch s := ps.(type) {
		case cmp.StructField:
			b.WriteString("." + s.Name())
		case cmp.MapIndex:
			switch k := s.Key().Interface().(type) {
			case slot:
				b.WriteString(k.String())
			case string:
				if isIdentifier(k) {
					b.WriteString("." + k)
				} else {
					b.WriteString("[" + strconv.Quote(k) + "]")
				}
			default:
				fmt.Fprintf(&b, "[%v]", k)
			}
		case cmp.SliceIndex:
			fmt.Fprintf(&b, "[%d]", s.Key())
		}
	}
	return b.String()
}

func isIdentifier(s string) bool {
	for i, r := range s {
		if !(r == '_' || unicode.IsLetter(r) || i > 0 && unicode.IsDigit(r)) {
			return false
		}
	}
	return s != ""
}

// maxValueLen caps how much of one value a line shows; a plan's JSON has
// all of it.
const maxValueLen = 160

// Render writes a value as compact JSON, cut short when longer than 160
// bytes; a value JSON cannot encode is written with fmt.
func Render(v any) string {
	b, err := marshalCompact(unalign(v))
	s := string(b)
	if err != nil {
		s = fmt.Sprint(v)
	}
	if len(s) > maxValueLen {
		s = fmt.Sprintf("%s... (%d bytes)", s[:maxValueLen], len(s))
	}
	return s
}

func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// slot keys an aligned list element: Ord orders the elements of both
// lists as the alignment reads, X and Y are its indexes in the old and
// new list (-1 when it is not there).
type slot struct{ Ord, X, Y int }

func (s slot) String() string {
	switch {
	case s.X < 0:
		return fmt.Sprintf("[%d]", s.Y)
	case s.Y < 0 || s.X == s.Y:
		return fmt.Sprintf("[%d]", s.X)
	}
	return fmt.Sprintf("[%d->%d]", s.X, s.Y)
}

// alignValues returns x and y with every pair of lists at the same path
// replaced by maps keyed by slot, so that cmp compares an element with the
// element it is aligned with, and reports the others as added or removed.
func alignValues(x, y any) (any, any) {
	switch vx := x.(type) {
	case map[string]any:
		vy, ok := y.(map[string]any)
		if !ok || vx == nil || vy == nil {
			return x, y
		}
		ax, ay := make(map[string]any, len(vx)), make(map[string]any, len(vy))
		for k, ex := range vx {
			ax[k] = ex
		}
		for k, ey := range vy {
			if ex, ok := vx[k]; ok {
				ax[k], ay[k] = alignValues(ex, ey)
			} else {
				ay[k] = ey
			}
		}
		return ax, ay
	case []any:
		vy, ok := y.([]any)
		if !ok || vx == nil || vy == nil {
			return x, y
		}
		ax, ay := map[slot]any{}, map[slot]any{}
		for ord, pr := range alignLists(keys(vx), keys(vy), classes(vx), classes(vy)) {
			k := slot{Ord: ord, X: pr.x, Y: pr.y}
			switch {
			case pr.x < 0:
				ay[k] = vy[pr.y]
			case pr.y < 0:
				ax[k] = vx[pr.x]
			default:
				ax[k], ay[k] = alignValues(vx[pr.x], vy[pr.y])
			}
		}
		return ax, ay
	}
	return x, y
}

// unalign turns the slot maps of alignValues back into lists, for
// printing a value that is only on one side.
func unalign(v any) any {
	switch x := v.(type) {
	case map[slot]any:
		ks := make([]slot, 0, len(x))
		for k := range x {
			ks = append(ks, k)
		}
		sort.Slice(ks, func(i, j int) bool { return ks[i].Ord < ks[j].Ord })
		out := make([]any, len(ks))
		for i, k := range ks {
			out[i] = unalign(x[k])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = unalign(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = unalign(e)
		}
		return out
	}
	return v
}

// keys are the elements' canonical JSON: equal keys, equal elements.
func keys(xs []any) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		b, err := marshalCompact(x)
		if err != nil {
			out[i] = fmt.Sprintf("%#v", x)
			continue
		}
		out[i] = string(b)
	}
	return out
}

// classes sort JSON values into objects, lists and scalars: two unequal
// elements of one class are shown as one changed element, field by field.
func classes(xs []any) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		switch x.(type) {
		case map[string]any:
			out[i] = "object"
		case []any:
			out[i] = "list"
		default:
			out[i] = "scalar"
		}
	}
	return out
}

// pair is one step of an alignment: x and y are indexes in the old and the
// new list, -1 for an element only in the other one.
type pair struct{ x, y int }

// alignLists aligns two lists: equal elements (by key) first, as a longest
// common subsequence; then, in each stretch between them, elements of the
// same class are paired as changed, and the rest are removed or added.
func alignLists(kx, ky, cx, cy []string) []pair {
	var out []pair
	gapX, gapY := 0, 0 // start of the current stretch of unequal elements
	flush := func(endX, endY int) {
		for _, p := range lcs(cx[gapX:endX], cy[gapY:endY]) {
			if p.x >= 0 {
				p.x += gapX
			}
			if p.y >= 0 {
				p.y += gapY
			}
			out = append(out, p)
		}
	}
	for _, p := range lcs(kx, ky) {
		if p.x >= 0 && p.y >= 0 {
			flush(p.x, p.y)
			out = append(out, p)
			gapX, gapY = p.x+1, p.y+1
		}
	}
	flush(len(kx), len(ky))
	return out
}

// maxLCSCells bounds the dynamic programming table; longer lists are
// compared position by position between their common prefix and suffix.
const maxLCSCells = 1 << 22

// lcs aligns a and b along a longest common subsequence, deterministically:
// on ties, removals come before additions. Every index of a and of b
// appears once, in order.
func lcs(a, b []string) []pair {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	out := make([]pair, 0, len(a)+len(b))
	for i := range pre {
		out = append(out, pair{i, i})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	n, m := len(ma), len(mb)
	if n*m > maxLCSCells {
		for i := range max(n, m) {
			switch {
			case i < n && i < m && ma[i] == mb[i]:
				out = append(out, pair{pre + i, pre + i})
			case i < n && i < m:
				out = append(out, pair{pre + i, -1}, pair{-1, pre + i})
			case i < n:
				out = append(out, pair{pre + i, -1})
			default:
				out = append(out, pair{-1, pre + i})
			}
		}
	} else {
		// t[i][j] is the length of the LCS of ma[i:] and mb[j:].
		t := make([]int, (n+1)*(m+1))
		at := func(i, j int) int { return t[i*(m+1)+j] }
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				v := max(at(i+1, j), at(i, j+1))
				if ma[i] == mb[j] {
					v = max(v, at(i+1, j+1)+1)
				}
				t[i*(m+1)+j] = v
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && ma[i] == mb[j] && at(i, j) == at(i+1, j+1)+1:
				out = append(out, pair{pre + i, pre + j})
				i, j = i+1, j+1
			case i < n && (j == m || at(i+1, j) >= at(i, j+1)):
				out = append(out, pair{pre + i, -1})
				i++
			default:
				out = append(out, pair{-1, pre + j})
				j++
			}
		}
	}
	for k := range suf {
		out = append(out, pair{len(a) - suf + k, len(b) - suf + k})
	}
	return out
}

// Item is an element of a list compared whole, such as an effect or a
// thread.
type Item struct {
	line  string // the element on its own line
	key   string // equal keys, equal elements
	class string // unequal elements of one class show as one changed element
	value any    // compared field by field when changed
}

// NewItem returns the element shown as line, whose fields are those of v
// (a record, turned into JSON values). Two elements are equal when their
// fields are; unequal elements of the same class are shown as one changed
// element, field by field. A v that JSON cannot encode is compared by its
// line.
func NewItem(line, class string, v any) Item {
	it := Item{line: line, key: line, class: class, value: line}
	jv, err := JSONValue(v)
	if err != nil {
		return it
	}
	key, err := marshalCompact(jv)
	if err != nil {
		return it
	}
	it.key, it.value = string(key), jv
	return it
}

// Same reports whether two lists hold equal elements in the same order.
func Same(a, b []Item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].key != b[i].key {
			return false
		}
	}
	return true
}

// Lists renders old against new, a line per element: "  " for one in
// both, "- " and "+ " for one in only one of them, "~ " for a changed
// element, followed by a line per changed field. Equal elements are
// aligned first, as a longest common subsequence, so an element added in
// front shifts nothing.
func Lists(old, new []Item) []string {
	kx, ky, cx, cy := make([]string, len(old)), make([]string, len(new)), make([]string, len(old)), make([]string, len(new))
	for i, it := range old {
		kx[i], cx[i] = it.key, it.class
	}
	for i, it := range new {
		ky[i], cy[i] = it.key, it.class
	}
	var lines []string
	for _, p := range alignLists(kx, ky, cx, cy) {
		switch {
		case p.x < 0:
			lines = append(lines, "+ "+new[p.y].line)
		case p.y < 0:
			lines = append(lines, "- "+old[p.x].line)
		case kx[p.x] == ky[p.y]:
			lines = append(lines, "  "+old[p.x].line)
		default:
			lines = append(lines, "~ "+old[p.x].line)
			for _, c := range Diff(old[p.x].value, new[p.y].value) {
				lines = append(lines, "    "+c.String())
			}
		}
	}
	return lines
}

// JSONValue turns v into the values encoding/json decodes into any (with
// numbers kept exact as json.Number), so that values of different Go types
// compare field by field by name. It fails when JSON cannot encode v.
func JSONValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}
