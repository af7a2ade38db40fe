// Package statecopy copies workflow states for the interpreter's step
// snapshots. A step with attempts left must not leak a failed attempt's
// changes into the next one, so the interpreter keeps the state from
// before the step; taking that snapshot as CBOR costs an encode (and its
// limit checks) for every such step, and steps are the commonest
// statement. For state types whose CBOR round trip is a plain deep copy,
// a deep copy is the same snapshot at a fraction of the cost.
//
// A type qualifies when it is built only of booleans, numbers, strings,
// and arrays, slices, maps, pointers and structs of those, where every
// struct field is exported, not embedded and not skipped or renamed away
// by a `cbor:"-"` or `json:"-"` tag, and no type in it has its own
// encoding (MarshalCBOR, MarshalBinary, MarshalText, MarshalJSON or their
// Unmarshal counterparts). For those, decode(encode(x)) and a deep copy
// of x encode to the same bytes: nil and empty slices and maps stay
// apart, shared pointers become separate copies, and nothing is dropped.
// Other types (interfaces, times, unexported fields, custom encodings)
// get no copier, and the interpreter snapshots them as CBOR.
//
// Like the rest of the pure core it does no I/O and keeps no state
// between calls but what For builds.
package statecopy

import (
	"reflect"
	"strings"
)

// MaxDepth bounds the nesting a copy follows, as the codec bounds what it
// encodes (codec.MaxDepth), counting pointers as levels too: a deeper or
// cyclic value is not copied, and the caller falls back to the codec,
// which encodes it or refuses it.
const MaxDepth = 32

// Func copies *S: given a *S it returns a new *S holding a deep copy, or
// false when the value nests deeper than MaxDepth.
type Func func(s any) (any, bool)

// For returns the copier of pointers to t, or nil when t does not qualify
// (see the package documentation).
func For(t reflect.Type) Func {
	b := builder{fns: map[reflect.Type]*copyFn{}}
	if !b.plain(t, map[reflect.Type]bool{}) {
		return nil
	}
	fn := b.fn(t)
	return func(s any) (any, bool) {
		src := reflect.ValueOf(s)
		if src.Kind() != reflect.Pointer || src.IsNil() || src.Type().Elem() != t {
			return nil, false
		}
		dst := reflect.New(t)
		if !(*fn)(dst.Elem(), src.Elem(), 0) {
			return nil, false
		}
		return dst.Interface(), true
	}
}

// Of returns the snapshot copier of *S (ast.Tree.Copy), or nil when S
// does not qualify. Its first argument is nil or a *S it returned earlier
// that the caller no longer uses: for a flat S (no slices, maps or
// pointers anywhere in it) the copy is an assignment into that value, so
// a run of snapshots allocates once; other types get For's fresh deep
// copy.
func Of[S any]() func(dst, s any) (any, bool) {
	t := reflect.TypeFor[S]()
	deep := For(t)
	if deep == nil {
		return nil
	}
	if !flat(t, map[reflect.Type]bool{}) {
		return func(_, s any) (any, bool) { return deep(s) }
	}
	return func(dst, s any) (any, bool) {
		src, ok := s.(*S)
		if !ok || src == nil {
			return nil, false
		}
		d, _ := dst.(*S)
		if d == nil || d == src {
			d = new(S)
		}
		*d = *src
		return d, true
	}
}

// copyFn copies src into dst (settable, of the same type) at nesting
// depth; false when too deep.
type copyFn func(dst, src reflect.Value, depth int) bool

type builder struct {
	fns map[reflect.Type]*copyFn
}

// encoders are the methods through which a type takes over its own
// encoding in the codec or the libraries it honours.
var encoders = []string{"MarshalCBOR", "UnmarshalCBOR", "MarshalBinary", "UnmarshalBinary",
	"MarshalText", "UnmarshalText", "MarshalJSON", "UnmarshalJSON"}

func ownEncoding(t reflect.Type) bool {
	for _, m := range encoders {
		if _, ok := t.MethodByName(m); ok {
			return true
		}
		if _, ok := reflect.PointerTo(t).MethodByName(m); ok {
			return true
		}
	}
	return false
}

// plain reports whether t qualifies; seen breaks recursion (a type met
// again is judged by its first visit).
func (b *builder) plain(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true
	}
	seen[t] = true
	if ownEncoding(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	case reflect.Array, reflect.Slice, reflect.Pointer:
		return b.plain(t.Elem(), seen)
	case reflect.Map:
		return b.plain(t.Key(), seen) && b.plain(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Anonymous || f.Tag.Get("cbor") == "-" || f.Tag.Get("json") == "-" {
				return false
			}
			if k := f.Type.Kind(); (k == reflect.Slice || k == reflect.Map) && (omits(f.Tag.Get("cbor")) || omits(f.Tag.Get("json"))) {
				return false // an empty one would be omitted and come back nil
			}
			if !b.plain(f.Type, seen) {
				return false
			}
		}
		return true
	}
	return false // interfaces, channels, functions, complex numbers, unsafe pointers
}

// omits reports whether a struct tag's options leave empty values out.
func omits(tag string) bool {
	_, opts, _ := strings.Cut(tag, ",")
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == "omitempty" || o == "omitzero" {
			return true
		}
	}
	return false
}

// flat reports whether values of t hold no references, so that an
// assignment copies them whole.
func flat(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false // recursive: it goes through a reference
	}
	seen[t] = true
	defer delete(seen, t)
	switch t.Kind() {
	case reflect.Array:
		return flat(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if !flat(t.Field(i).Type, seen) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Map, reflect.Pointer:
		return false
	}
	return true // scalars and strings (immutable)
}

// fn returns the copier of t, building it on first use (a placeholder
// first, so recursive types refer to themselves).
func (b *builder) fn(t reflect.Type) *copyFn {
	if f, ok := b.fns[t]; ok {
		return f
	}
	f := new(copyFn)
	b.fns[t] = f
	if flat(t, map[reflect.Type]bool{}) {
		*f = func(dst, src reflect.Value, _ int) bool { dst.Set(src); return true }
		return f
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem := b.fn(t.Elem())
		*f = func(dst, src reflect.Value, depth int) bool {
			if src.IsNil() {
				return true
			}
			if depth >= MaxDepth { // pointers count too: a chain of them may be a cycle
				return false
			}
			p := reflect.New(t.Elem())
			if !(*elem)(p.Elem(), src.Elem(), depth+1) {
				return false
			}
			dst.Set(p)
			return true
		}
	case reflect.Slice:
		elem := b.fn(t.Elem())
		*f = func(dst, src reflect.Value, depth int) bool {
			if src.IsNil() {
				return true
			}
			if depth >= MaxDepth {
				return false
			}
			n := src.Len()
			s := reflect.MakeSlice(t, n, n)
			for i := range n {
				if !(*elem)(s.Index(i), src.Index(i), depth+1) {
					return false
				}
			}
			dst.Set(s)
			return true
		}
	case reflect.Array:
		elem := b.fn(t.Elem())
		*f = func(dst, src reflect.Value, depth int) bool {
			if depth >= MaxDepth {
				return false
			}
			for i := range src.Len() {
				if !(*elem)(dst.Index(i), src.Index(i), depth+1) {
					return false
				}
			}
			return true
		}
	case reflect.Map:
		key, elem := b.fn(t.Key()), b.fn(t.Elem())
		*f = func(dst, src reflect.Value, depth int) bool {
			if src.IsNil() {
				return true
			}
			if depth >= MaxDepth {
				return false
			}
			m := reflect.MakeMapWithSize(t, src.Len())
			k, v := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			for it := src.MapRange(); it.Next(); {
				k.SetZero()
				v.SetZero()
				if !(*key)(k, it.Key(), depth+1) || !(*elem)(v, it.Value(), depth+1) {
					return false
				}
				m.SetMapIndex(k, v)
			}
			dst.Set(m)
			return true
		}
	case reflect.Struct:
		fields := make([]*copyFn, t.NumField())
		for i := range fields {
			fields[i] = b.fn(t.Field(i).Type)
		}
		*f = func(dst, src reflect.Value, depth int) bool {
			if depth >= MaxDepth {
				return false
			}
			for i, fi := range fields {
				if !(*fi)(dst.Field(i), src.Field(i), depth+1) {
					return false
				}
			}
			return true
		}
	default:
		*f = func(dst, src reflect.Value, _ int) bool { dst.Set(src); return true }
	}
	return f
}
