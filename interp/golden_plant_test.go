package interp_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/internal/golden"
	"github.com/weftflow/weft/interp"
)

// The golden check must fail for every kind of accidental format change.
// Each planted change below builds a copy of the stored types with one
// encoding detail altered (with reflect.StructOf, so the real types stay
// untouched), reads and writes the stored goldens through it, and requires
// checkStored to report problems. A check that passed them would let that
// change ship.

// mutateTag returns a copy of the struct type t in which the field reached
// by path (field names, through slices and pointers) has the given tag.
func mutateTag(t reflect.Type, path []string, tag string) reflect.Type {
	fields := make([]reflect.StructField, t.NumField())
	found := false
	for i := range fields {
		f := t.Field(i)
		if f.Name == path[0] {
			found = true
			if len(path) == 1 {
				f.Tag = reflect.StructTag(`cbor:"` + tag + `"`)
			} else {
				f.Type = mutateWithin(f.Type, path[1:], tag)
			}
		}
		fields[i] = f
	}
	if !found {
		panic("mutateTag: no field " + path[0] + " in " + t.String())
	}
	return reflect.StructOf(fields)
}

func mutateWithin(t reflect.Type, path []string, tag string) reflect.Type {
	switch t.Kind() {
	case reflect.Slice:
		return reflect.SliceOf(mutateWithin(t.Elem(), path, tag))
	case reflect.Pointer:
		return reflect.PointerTo(mutateWithin(t.Elem(), path, tag))
	case reflect.Struct:
		return mutateTag(t, path, tag)
	}
	panic("mutateTag: cannot descend into " + t.String())
}

// storedType returns a copy of the struct type t, and of the structs it
// holds, that codec encodes as a Meta is stored: the same fields and tags,
// with times (time.Time) as int64 Unix nanoseconds, and none of the
// MarshalCBOR methods of the interp types. With keepTimes, times stay
// time.Time, which the generic encoder writes as RFC 3339 text.
func storedType(t reflect.Type, keepTimes bool) reflect.Type {
	switch {
	case t == timeType && keepTimes:
		return t
	case t == timeType:
		return reflect.TypeFor[int64]()
	case t.Kind() == reflect.Slice:
		return reflect.SliceOf(storedType(t.Elem(), keepTimes))
	case t.Kind() == reflect.Pointer:
		return reflect.PointerTo(storedType(t.Elem(), keepTimes))
	case t.Kind() != reflect.Struct:
		return t
	}
	fields := make([]reflect.StructField, t.NumField())
	for i := range fields {
		fields[i] = t.Field(i)
		fields[i].Type = storedType(fields[i].Type, keepTimes)
	}
	return reflect.StructOf(fields)
}

var timeType = reflect.TypeFor[time.Time]()

// deepCopy copies src into dst, two values of types that differ only in
// struct tags and in times being time.Time or int64 Unix nanoseconds.
func deepCopy(dst, src reflect.Value) {
	switch {
	case src.Type() == timeType && dst.Type() == timeType:
		dst.Set(src)
		return
	case src.Type() == timeType:
		dst.SetInt(unixNano(src.Interface().(time.Time)))
		return
	case dst.Type() == timeType:
		dst.Set(reflect.ValueOf(unixTime(src.Int())))
		return
	}
	switch src.Kind() {
	case reflect.Struct:
		for i := range src.NumField() {
			deepCopy(dst.Field(i), src.Field(i))
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(dst.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			deepCopy(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(dst.Type().Elem())
		deepCopy(p.Elem(), src.Elem())
		dst.Set(p)
	default:
		dst.Set(src.Convert(dst.Type()))
	}
}

// taggedMeta is a meta codec that encodes and decodes through a copy of
// interp.Meta's stored form whose field at path has tag.
func taggedMeta(path, tag string) metaCodec {
	return genericMeta("Meta with "+path+` tagged "`+tag+`"`,
		mutateTag(storedType(reflect.TypeFor[interp.Meta](), false), strings.Split(path, "."), tag))
}

// textTimes is the meta codec of a build whose times reach the generic
// encoder as time.Time (a lost MarshalCBOR, say): RFC 3339 text, not
// Unix nanoseconds.
func textTimes() metaCodec {
	return genericMeta("Meta with times as RFC 3339 text", storedType(reflect.TypeFor[interp.Meta](), true))
}

// genericMeta is a meta codec that encodes and decodes through mt, a copy
// of interp.Meta's stored form, with the generic codec.
func genericMeta(name string, mt reflect.Type) metaCodec {
	return metaCodec{
		name: name,
		encode: func(m interp.Meta) ([]byte, error) {
			v := reflect.New(mt)
			deepCopy(v.Elem(), reflect.ValueOf(m))
			return codec.Marshal(v.Interface())
		},
		decode: func(b []byte) (interp.Meta, error) {
			v := reflect.New(mt)
			if err := decode.Into("meta", b, v.Interface()); err != nil {
				return interp.Meta{}, err
			}
			var m interp.Meta
			deepCopy(reflect.ValueOf(&m).Elem(), v.Elem())
			return m, nil
		},
	}
}

// taggedRecord is a record codec through a copy of codec.Record whose
// field has tag.
func taggedRecord(field, tag string) recordCodec {
	rt := mutateTag(reflect.TypeFor[codec.Record](), []string{field}, tag)
	return recordCodec{
		name: "Record with " + field + ` tagged "` + tag + `"`,
		encode: func(r codec.Record) ([]byte, error) {
			r.Format = codec.Format
			v := reflect.New(rt)
			deepCopy(v.Elem(), reflect.ValueOf(r))
			return codec.Marshal(v.Interface())
		},
		decode: func(b []byte) (codec.Record, error) {
			v := reflect.New(rt)
			if err := codec.Unmarshal(b, v.Interface()); err != nil {
				return codec.Record{}, err
			}
			var r codec.Record
			deepCopy(reflect.ValueOf(&r).Elem(), v.Elem())
			return r, nil
		},
	}
}

// renumberedPhases is the meta codec of a build that inserted a new phase
// constant before PhaseWaiting: stored 4 (waiting) now reads as the new
// phase, which the old code has no name for, and 5 (retry) as waiting.
func renumberedPhases() metaCodec {
	shift := func(m interp.Meta, f func(interp.Phase) interp.Phase) interp.Meta {
		m.Threads = append([]interp.Thread(nil), m.Threads...)
		for i := range m.Threads {
			m.Threads[i].Phase = f(m.Threads[i].Phase)
		}
		return m
	}
	return metaCodec{
		name: "a new Phase constant inserted before PhaseWaiting",
		encode: func(m interp.Meta) ([]byte, error) {
			return interp.EncodeMeta(shift(m, func(p interp.Phase) interp.Phase {
				if p >= interp.PhaseWaiting {
					return p + 1
				}
				return p
			})), nil
		},
		decode: func(b []byte) (interp.Meta, error) {
			m, err := interp.DecodeMeta(b)
			return shift(m, func(p interp.Phase) interp.Phase {
				switch {
				case p == interp.PhaseWaiting:
					return 200 // the new constant: no name in this build
				case p > interp.PhaseWaiting:
					return p - 1
				}
				return p
			}), err
		},
	}
}

// swappedStatuses is the meta codec of a build that reordered the last two
// Status constants.
func swappedStatuses() metaCodec {
	swap := func(m interp.Meta) interp.Meta {
		switch m.Status {
		case interp.StatusCanceling:
			m.Status = interp.StatusCanceled
		case interp.StatusCanceled:
			m.Status = interp.StatusCanceling
		}
		return m
	}
	return metaCodec{
		name:   "StatusCanceling and StatusCanceled swapped",
		encode: func(m interp.Meta) ([]byte, error) { return interp.EncodeMeta(swap(m)), nil },
		decode: func(b []byte) (interp.Meta, error) { m, err := interp.DecodeMeta(b); return swap(m), err },
	}
}

// forgetfulEncoder is a hand-written encoder that drops a field (as an
// edit of EncodeMeta that misses one would).
func forgetfulEncoder() metaCodec {
	return metaCodec{
		name:   "EncodeMeta that forgets Meta.Yielded",
		encode: func(m interp.Meta) ([]byte, error) { m.Yielded = ""; return interp.EncodeMeta(m), nil },
		decode: interp.DecodeMeta,
	}
}

func TestGoldenCatchesFormatChanges(t *testing.T) {
	type stored struct {
		name string
		raw  []byte
		f    golden.File
	}
	var all []stored
	for _, c := range goldenCases {
		raw, f, err := golden.Files(goldenDir, c.name, ".cbor")
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, stored{c.name, raw, f})
	}
	realRecord := recordCodecs[:1]
	for _, c := range []struct {
		records []recordCodec
		metas   []metaCodec
	}{
		{realRecord, []metaCodec{taggedMeta("Threads.Path", "20,keyasint,omitempty")}},  // a changed key number
		{realRecord, []metaCodec{taggedMeta("Recent", "14,keyasint,omitempty")}},        // a changed key number
		{realRecord, []metaCodec{taggedMeta("Threads.Waits.Event", "event,omitempty")}}, // a renamed field tag
		{realRecord, []metaCodec{taggedMeta("Threads.Attempt", "4,keyasint")}},          // omitempty dropped
		{realRecord, []metaCodec{taggedMeta("Failure.Panic", "4,keyasint")}},            // omitempty dropped
		{realRecord, []metaCodec{renumberedPhases()}},                                   // an enum renumbered
		{realRecord, []metaCodec{swappedStatuses()}},                                    // an enum renumbered
		{realRecord, []metaCodec{forgetfulEncoder()}},                                   // a field dropped by hand
		{realRecord, []metaCodec{textTimes()}},                                          // times written as text
		{realRecord, []metaCodec{taggedMeta("Due", "6,keyasint,omitempty")}},            // harmless: the stored form as it is
		{[]recordCodec{taggedRecord("Workflow", "5,keyasint")}, nil},                    // the record's keys
		{[]recordCodec{taggedRecord("State", "3,keyasint,omitempty")}, nil},             // harmless for these goldens
	} {
		name := ""
		for _, r := range c.records[:1] {
			name = r.name
		}
		if len(c.metas) > 0 {
			name = c.metas[0].name
		}
		t.Run(name, func(t *testing.T) {
			var caught []string
			for _, s := range all {
				if len(checkStored(s.raw, s.f, c.records, c.metas)) > 0 {
					caught = append(caught, s.name)
				}
			}
			harmless := strings.Contains(name, "State tagged") || strings.Contains(name, `Due tagged "6,keyasint,omitempty"`)
			switch {
			case harmless && len(caught) > 0:
				// Adding omitempty to a field that is never empty changes
				// no stored byte: the check must not cry wolf.
				t.Fatalf("a change that alters no stored byte was reported in %v", caught)
			case !harmless && len(caught) == 0:
				t.Fatalf("no golden failed: the check misses this change")
			}
			t.Logf("caught by %d of %d goldens: %v", len(caught), len(all), caught)
		})
	}
}
