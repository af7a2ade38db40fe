package inspector

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

func statusOf(err error) int {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he.Code
	case errors.Is(err, storage.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, storage.ErrInvalid):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// query builds a relative link: path and the non-empty pairs of kv
// (key, value, key, value...) as its query.
func query(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// when is a time as a page shows it: in the handler's zone, with the
// distance from now; the script turns it into the browser's zone.
type when struct {
	ISO   string // RFC 3339 in UTC, for <time datetime>
	Local string // "2026-11-30 21:04:05 CET"
	Rel   string // "in 3 h", "12 min ago"
	Past  bool
}

func (h *handler) when(t time.Time) *when {
	if t.IsZero() {
		return nil
	}
	d := t.Sub(h.cfg.now())
	w := &when{ISO: t.UTC().Format(time.RFC3339), Local: t.In(h.cfg.loc).Format("2006-01-02 15:04:05 MST"), Past: d < 0}
	if d < 0 {
		w.Rel = span(-d) + " ago"
	} else {
		w.Rel = "in " + span(d)
	}
	return w
}

// span is a duration for people: "45 s", "12 min", "3 h", "2 d".
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(math.Round(d.Hours())))
	}
	return fmt.Sprintf("%d d", int(d.Hours()/24))
}

// node is one value of a decoded state, as a folding tree.
type node struct {
	Key   string  // the field name, map key or [index]; "" for the root
	Type  string  // "object", "array", or the scalar's kind
	Value string  // a scalar, printed
	Kids  []*node // an object's fields, an array's elements
	More  int     // elements left out past maxKids
	Open  bool    // shown unfolded
}

const (
	maxKids  = 200  // elements of one array or map shown
	maxDepth = 24   // nesting shown
	maxText  = 2000 // bytes of a string shown
	openKids = 12   // larger values start folded
)

// tree turns a decoded value (a typed *S or generic CBOR values) into a
// node: structs in field order, maps by sorted key.
func tree(key string, v reflect.Value, depth int) *node {
	n := &node{Key: key}
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			n.Type, n.Value = "null", "null"
			return n
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		n.Type, n.Value = "null", "null"
		return n
	}
	if depth > maxDepth {
		n.Type, n.Value = "deep", "…"
		return n
	}
	if t, ok := v.Interface().(time.Time); ok && v.CanInterface() {
		n.Type, n.Value = "time", t.UTC().Format(time.RFC3339Nano)
		return n
	}
	switch v.Kind() {
	case reflect.Struct:
		n.Type = "object"
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			n.Kids = append(n.Kids, tree(f.Name, v.Field(i), depth+1))
		}
	case reflect.Map:
		n.Type = "object"
		keys := v.MapKeys()
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = fmt.Sprint(k.Interface())
		}
		idx := make([]int, len(keys))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return names[idx[a]] < names[idx[b]] })
		for i, j := range idx {
			if i == maxKids {
				n.More = len(idx) - i
				break
			}
			n.Kids = append(n.Kids, tree(names[j], v.MapIndex(keys[j]), depth+1))
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			n.Type, n.Value = "bytes", bytesText(b)
			return n
		}
		if v.Kind() == reflect.Slice && v.IsNil() {
			n.Type, n.Value = "null", "null"
			return n
		}
		n.Type = "array"
		for i := range v.Len() {
			if i == maxKids {
				n.More = v.Len() - i
				break
			}
			n.Kids = append(n.Kids, tree("["+strconv.Itoa(i)+"]", v.Index(i), depth+1))
		}
	case reflect.String:
		n.Type, n.Value = "string", quote(v.String())
	case reflect.Bool:
		n.Type, n.Value = "bool", strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n.Type, n.Value = "number", strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n.Type, n.Value = "number", strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		n.Type, n.Value = "number", strconv.FormatFloat(v.Float(), 'g', -1, 64)
	default:
		n.Type, n.Value = "other", fmt.Sprint(v.Interface())
	}
	n.Open = depth < 2 && len(n.Kids) <= openKids
	return n
}

func quote(s string) string {
	if len(s) <= maxText {
		return strconv.Quote(s)
	}
	cut := maxText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf(" … (%d bytes)", len(s))
}

func bytesText(b []byte) string {
	if len(b) > maxText {
		return base64.StdEncoding.EncodeToString(b[:maxText]) + fmt.Sprintf("… (%d bytes)", len(b))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// decodeState decodes an instance's state into the state type of the
// definition that wrote it (so fields keep their Go names and order), or
// into generic values when no such definition is at hand.
func (h *handler) decodeState(in engine.Instance) (*node, string, error) {
	def := h.definition(in.Workflow, int(max(in.Meta.Version, 1)))
	if def != nil {
		ptr := reflect.New(def.StateType())
		if err := decode.Into("state", in.State, ptr.Interface()); err != nil {
			return nil, "", err
		}
		return tree("", ptr, 0), def.StateType().String(), nil
	}
	var v any
	if err := codec.Unmarshal(in.State, &v); err != nil {
		return nil, "", err
	}
	return tree("", reflect.ValueOf(v), 0), "", nil
}

func decodeOutput(in engine.Instance) (*node, error) {
	if in.Meta.Status != interp.StatusCompleted || len(in.Output) == 0 {
		return nil, nil
	}
	var v any
	if err := codec.Unmarshal(in.Output, &v); err != nil {
		return nil, err
	}
	return tree("", reflect.ValueOf(v), 0), nil
}
