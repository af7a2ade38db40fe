package interp

import (
	"reflect"
	"testing"
	"time"
)

// Each wire struct has its Go type's fields, in order, with the same cbor
// tags, times (time.Time) being int64 Unix nanoseconds: the stored form
// of a field cannot drift from the key its Go type documents.
func TestWireTagsMatch(t *testing.T) {
	timeType := reflect.TypeFor[time.Time]()
	pairs := []struct{ goType, wire reflect.Type }{
		{reflect.TypeFor[Meta](), reflect.TypeFor[metaWire]()},
		{reflect.TypeFor[Thread](), reflect.TypeFor[threadWire]()},
		{reflect.TypeFor[Pending](), reflect.TypeFor[pendingWire]()},
		{reflect.TypeFor[Buffered](), reflect.TypeFor[bufferedWire]()},
		{reflect.TypeFor[Termination](), reflect.TypeFor[terminationWire]()},
	}
	wireOf := map[reflect.Type]reflect.Type{}
	for _, p := range pairs {
		wireOf[p.goType] = p.wire
	}
	for _, p := range pairs {
		if p.goType.NumField() != p.wire.NumField() {
			t.Errorf("%v has %d fields, %v %d", p.goType, p.goType.NumField(), p.wire, p.wire.NumField())
			continue
		}
		for i := range p.goType.NumField() {
			g, w := p.goType.Field(i), p.wire.Field(i)
			if g.Name != w.Name || g.Tag.Get("cbor") != w.Tag.Get("cbor") {
				t.Errorf("%v.%s `%s` vs %v.%s `%s`", p.goType, g.Name, g.Tag, p.wire, w.Name, w.Tag)
			}
			want := g.Type
			switch {
			case g.Type == timeType:
				want = reflect.TypeFor[int64]()
			case g.Type.Kind() == reflect.Slice && wireOf[g.Type.Elem()] != nil:
				want = reflect.SliceOf(wireOf[g.Type.Elem()])
			case g.Type.Kind() == reflect.Pointer && wireOf[g.Type.Elem()] != nil:
				want = reflect.PointerTo(wireOf[g.Type.Elem()])
			}
			if w.Type != want {
				t.Errorf("%v.%s is %v, want %v", p.wire, w.Name, w.Type, want)
			}
		}
	}
}

// unixTime and unixNano are inverses on every int64, and the times
// unixTime makes are UTC without a monotonic reading, so equal instants
// are equal values (reflect.DeepEqual), whatever built them.
func TestUnixTime(t *testing.T) {
	for _, ns := range []int64{0, 1, -1, 1767225600123456789, 1<<63 - 1, -1 << 63} {
		tm := unixTime(ns)
		if got := unixNano(tm); got != ns {
			t.Errorf("unixNano(unixTime(%d)) = %d", ns, got)
		}
		if (ns == 0) != tm.IsZero() {
			t.Errorf("unixTime(%d) = %v: zero %v", ns, tm, tm.IsZero())
		}
		if ns != 0 && tm.Location() != time.UTC {
			t.Errorf("unixTime(%d) is in %v, want UTC", ns, tm.Location())
		}
	}
	a := unixTime(1767225600123456789)
	b := time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("unixTime gives %#v, time.Date in UTC %#v: not DeepEqual", a, b)
	}
	if unixNano(time.Time{}) != 0 {
		t.Error("the zero time is not 0")
	}
}
