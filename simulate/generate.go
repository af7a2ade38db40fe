package simulate

import (
	"reflect"
	"time"

	"pgregory.net/rapid"
)

// valueOf draws a value of type typ: the default payload of a custom event
// when the user gives no generator. Values stay small (short strings, up to
// three elements) so traces stay readable and shrink well.
func valueOf(t *rapid.T, typ reflect.Type, label string) reflect.Value {
	return draw(t, typ, label, 0)
}

var timeType = reflect.TypeFor[time.Time]()

func draw(t *rapid.T, typ reflect.Type, label string, depth int) reflect.Value {
	v := reflect.New(typ).Elem()
	if typ == timeType {
		v.Set(reflect.ValueOf(simStart.Add(time.Duration(rapid.IntRange(-48, 48).Draw(t, label)) * time.Hour)))
		return v
	}
	switch typ.Kind() {
	case reflect.Bool:
		v.SetBool(rapid.Bool().Draw(t, label))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(rapid.IntRange(-3, 10).Draw(t, label)))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(uint64(rapid.IntRange(0, 10).Draw(t, label)))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(rapid.IntRange(-100, 100).Draw(t, label)) / 4)
	case reflect.String:
		v.SetString(rapid.StringMatching(`[a-z]{0,6}`).Draw(t, label))
	case reflect.Slice:
		if depth > 3 {
			return v
		}
		n := rapid.IntRange(0, 3).Draw(t, label+".len")
		s := reflect.MakeSlice(typ, n, n)
		for i := range n {
			s.Index(i).Set(draw(t, typ.Elem(), label+"[]", depth+1))
		}
		v.Set(s)
	case reflect.Array:
		for i := range typ.Len() {
			v.Index(i).Set(draw(t, typ.Elem(), label+"[]", depth+1))
		}
	case reflect.Map:
		if depth > 3 {
			return v
		}
		m := reflect.MakeMap(typ)
		for range rapid.IntRange(0, 3).Draw(t, label+".len") {
			m.SetMapIndex(draw(t, typ.Key(), label+".key", depth+1), draw(t, typ.Elem(), label+".value", depth+1))
		}
		v.Set(m)
	case reflect.Pointer:
		if depth <= 3 && rapid.Bool().Draw(t, label+".set") {
			p := reflect.New(typ.Elem())
			p.Elem().Set(draw(t, typ.Elem(), label, depth+1))
			v.Set(p)
		}
	case reflect.Struct:
		for i := range typ.NumField() {
			if f := typ.Field(i); f.IsExported() {
				v.Field(i).Set(draw(t, f.Type, label+"."+f.Name, depth+1))
			}
		}
	}
	// Interfaces, channels and functions stay zero: CBOR cannot carry them.
	return v
}
