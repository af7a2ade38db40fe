package codec_test

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/golden"
)

// This file freezes codec's encoding rules, which decide the bytes of every
// stored state: how each Go type a state commonly holds is written (times
// as RFC 3339 text, nil and empty slices and maps, shortest integers and
// floats, sorted map keys), and the record wrapper with each width of
// length head. The interpreter's metas and records are frozen in
// interp/testdata/golden; the rule for changing either is in
// docs/format.md.

type goldenInner struct {
	Name  string
	Score int8
}

// goldenState has a field of each kind a state commonly holds.
type goldenState struct {
	Int     int
	Neg     int64
	Big     uint64
	Float   float64
	Half    float32
	Text    string
	Bytes   []byte
	Flag    bool
	When    time.Time
	Zone    time.Time
	Never   time.Time
	List    []string
	Empty   []string
	Nil     []string
	Map     map[string]int
	IntKeys map[int]string
	NilMap  map[string]int
	Ptr     *goldenInner
	NilPtr  *goldenInner
	Inner   goldenInner
	Many    []goldenInner
	Dur     time.Duration
	Any     any
	Renamed string `cbor:"r"`
	Skipped string `cbor:"-"`
	Omitted string `cbor:",omitempty"`
}

func fullState() goldenState {
	return goldenState{
		Int: 23, Neg: -1 << 40, Big: math.MaxUint64, Float: 0.1, Half: 1.5, Text: "héllo\x00", Bytes: []byte{0, 1, 2},
		Flag: true, When: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Zone: time.Date(2026, 6, 1, 12, 0, 0, 0, time.FixedZone("", 2*3600)),
		List: []string{"b", "a"}, Empty: []string{}, Map: map[string]int{"zz": 1, "a": 2, "bb": 3},
		IntKeys: map[int]string{10: "ten", -1: "minus one", 2: "two"},
		Ptr:     &goldenInner{Name: "p", Score: -3}, Inner: goldenInner{Name: "i"},
		Many: []goldenInner{{Name: "x"}, {Score: 127}}, Dur: 90 * time.Second,
		Any: map[any]any{"k": []any{uint64(1), "two", nil}}, Renamed: "r", Skipped: "never stored",
	}
}

type codecGolden struct {
	name   string
	value  func() any
	decode func(raw []byte) (any, error)
}

func decodeAs[T any](raw []byte) (any, error) {
	var v T
	err := codec.Unmarshal(raw, &v)
	return v, err
}

func decodeRecord(raw []byte) (any, error) { return codec.DecodeRecord(raw) }

// recordWithState is a record whose state is a byte string of n bytes, so
// that the record's length heads take their different widths.
func recordWithState(n int) codec.Record {
	state, err := codec.Marshal(bytes.Repeat([]byte{'s'}, n))
	if err != nil {
		panic(err)
	}
	return codec.Record{Format: codec.Format, Workflow: "w", State: state, Meta: []byte{0xa0}}
}

var codecGoldens = []codecGolden{
	{"state-zero", func() any { return goldenState{} }, decodeAs[goldenState]},
	{"state-full", func() any { return fullState() }, decodeAs[goldenState]},
	{"record-small", func() any { return recordWithState(3) }, decodeRecord},
	{"record-300", func() any { return recordWithState(300) }, decodeRecord},
	{"record-host", func() any { r := recordWithState(3); r.Host = []byte{0xa1, 0x01, 0x80}; return r }, decodeRecord},
}

func TestCodecGolden(t *testing.T) {
	for _, c := range codecGoldens {
		t.Run(c.name, func(t *testing.T) {
			v := c.value()
			var now []byte
			var err error
			if r, ok := v.(codec.Record); ok {
				now, err = codec.EncodeRecord(r)
			} else {
				now, err = codec.Marshal(v)
			}
			if err != nil {
				t.Fatal(err)
			}
			decodedNow, err := c.decode(now)
			if err != nil {
				t.Fatal(err)
			}
			f := golden.File{
				Header: fmt.Sprintf("# %s: codec's encoding, record format %d.\n# Written by `go test ./codec -run TestCodecGolden -update`. Never regenerate\n# without a new format version: see docs/format.md.\n", c.name, codec.Format),
				Sections: []golden.Section{
					{Name: "hex", Text: golden.Hex(now)},
					{Name: "diagnostic", Text: golden.Diag(now)},
					{Name: "decoded", Text: renderValue(reflect.ValueOf(decodedNow), "")},
				},
			}
			if *golden.Update {
				if raw, want, err := golden.Files("testdata/golden", c.name, ".cbor"); err == nil &&
					!golden.MayOverwrite(t, c.name, readCodecGolden(c, raw, want)) {
					return
				}
				golden.Write(t, "testdata/golden", c.name, ".cbor", now, f)
				return
			}
			raw, want, err := golden.Files("testdata/golden", c.name, ".cbor")
			if err != nil {
				t.Fatalf("%v (a new case is written with -update; see docs/format.md)", err)
			}
			golden.Fail(t, c.name, readCodecGolden(c, raw, want))
			// Writing: this version writes the stored bytes, and reading
			// them gives the value written, except where the rules say
			// otherwise (a skipped field is not stored).
			problems := golden.Compare("written now", raw, now)
			if back, err := c.decode(raw); err == nil {
				wantV := v
				if s, ok := v.(goldenState); ok {
					s.Skipped = ""
					wantV = s
				}
				if diff := cmp.Diff(wantV, back, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
					problems = append(problems, "decoded value differs (-written +read):\n"+diff)
				}
			}
			golden.Fail(t, c.name, problems)
		})
	}
}

// readCodecGolden decodes stored bytes with the current code, compares the
// result with the golden's rendering and re-encodes it.
func readCodecGolden(c codecGolden, raw []byte, want golden.File) []string {
	back, err := c.decode(raw)
	if err != nil {
		return []string{"the stored bytes do not decode: " + err.Error()}
	}
	text, _ := want.Get("decoded")
	problems := golden.CompareText("decoded value", text, renderValue(reflect.ValueOf(back), ""))
	var again []byte
	if r, ok := back.(codec.Record); ok {
		again, err = codec.EncodeRecord(r)
	} else {
		again, err = codec.Marshal(back)
	}
	if err != nil {
		return append(problems, "the decoded value does not re-encode: "+err.Error())
	}
	return append(problems, golden.Compare("re-encoded", raw, again)...)
}

// renderValue renders v one field a line, following pointers and telling
// nil from empty, with map entries sorted: a readable form of what
// decoding gave.
func renderValue(v reflect.Value, indent string) string {
	if !v.IsValid() {
		return "nil\n"
	}
	if t, ok := v.Interface().(time.Time); ok {
		return t.Format(time.RFC3339Nano) + "\n"
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "nil\n"
		}
		return renderValue(v.Elem(), indent)
	case reflect.Struct:
		var b strings.Builder
		b.WriteString(v.Type().Name() + "\n")
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if fv := v.Field(i); fv.Kind() == reflect.Slice && fv.IsNil() && strings.Contains(f.Tag.Get("cbor"), "omitempty") {
				// Absent from the bytes, so not rendered: adding such a
				// field (Record.Host) leaves the goldens as they were.
				continue
			}
			b.WriteString(indent + "  " + f.Name + ": " + renderValue(v.Field(i), indent+"  "))
		}
		return b.String()
	case reflect.Slice, reflect.Map:
		if v.IsNil() {
			return "nil " + v.Type().String() + "\n"
		}
		if v.Type().Elem().Kind() == reflect.Uint8 && v.Kind() == reflect.Slice {
			return fmt.Sprintf("bytes %x\n", v.Bytes())
		}
		var items []string
		if v.Kind() == reflect.Slice {
			for i := range v.Len() {
				items = append(items, fmt.Sprintf("%s  [%d] %s", indent, i, renderValue(v.Index(i), indent+"  ")))
			}
		} else {
			for _, k := range v.MapKeys() {
				items = append(items, fmt.Sprintf("%s  [%v] %s", indent, k.Interface(), renderValue(v.MapIndex(k), indent+"  ")))
			}
			sort.Strings(items)
		}
		return fmt.Sprintf("%s of %d\n", v.Type(), v.Len()) + strings.Join(items, "")
	case reflect.String:
		return fmt.Sprintf("%q\n", v.String())
	}
	return fmt.Sprintf("%v (%s)\n", v.Interface(), v.Type())
}

// Every golden file belongs to a case: stored formats are never dropped.
func TestCodecGoldenFilesHaveCases(t *testing.T) {
	var names []string
	for _, c := range codecGoldens {
		names = append(names, c.name)
	}
	orphans, err := golden.Orphans("testdata/golden", names)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orphans {
		t.Errorf("%s has no case: stored formats are never dropped (docs/format.md)", o)
	}
}
