package simulate

import (
	"reflect"
	"time"
)

// valueOf draws a value of type typ: the default payload of a custom event
// when the user gives no generator. Values stay small (short strings, up to
// three elements) so traces stay readable and shrink well.
func valueOf(src source, typ reflect.Type, label string) reflect.Value {
	return draw(src, typ, label, 0)
}

var timeType = reflect.TypeFor[time.Time]()

func draw(t source, typ reflect.Type, label string, depth int) reflect.Value {
	v := reflect.New(typ).Elem()
	if typ == timeType {
		v.Set(reflect.ValueOf(simStart.Add(time.Duration(t.intn(-48, 48, label)) * time.Hour)))
		return v
	}
	switch typ.Kind() {
	case reflect.Bool:
		v.SetBool(t.intn(0, 1, label) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(t.intn(-3, 10, label)))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(uint64(t.intn(0, 10, label)))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(t.intn(-100, 100, label)) / 4)
	case reflect.String:
		b := make([]byte, t.intn(0, 6, label+".len"))
		for i := range b {
			b[i] = byte(t.intn('a', 'z', label))
		}
		v.SetString(string(b))
	case reflect.Slice:
		if depth > 3 {
			return v
		}
		n := t.intn(0, 3, label+".len")
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
		for range t.intn(0, 3, label+".len") {
			m.SetMapIndex(draw(t, typ.Key(), label+".key", depth+1), draw(t, typ.Elem(), label+".value", depth+1))
		}
		v.Set(m)
	case reflect.Pointer:
		if depth <= 3 && t.intn(0, 1, label+".set") == 1 {
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
