package codec_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/weftflow/weft/codec"
)

// target is the struct most decoding tests decode into.
type target struct {
	Name string         `cbor:"1,keyasint"`
	N    int8           `cbor:"2,keyasint"`
	Tags []string       `cbor:"3,keyasint"`
	M    map[string]int `cbor:"4,keyasint"`
}

// tb is what the helpers need from *testing.T, *testing.B and *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

func mustHex(t tb, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func mustMarshal(t tb, v any) []byte {
	t.Helper()
	b, err := codec.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%#v): %v", v, err)
	}
	return b
}

// nestedArrays returns depth arrays nested in one another, the innermost
// empty: 0x81 0x81 ... 0x80.
func nestedArrays(depth int) []byte {
	b := bytes.Repeat([]byte{0x81}, depth-1)
	return append(b, 0x80)
}

// arrayOfZeros returns a CBOR array of n zeros.
func arrayOfZeros(n int) []byte {
	b := []byte{0x9a, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	return append(b, make([]byte, n)...)
}

// mapOfInts returns a CBOR map {0: 0, 1: 0, ..., n-1: 0}; keys are in
// canonical order.
func mapOfInts(n int) []byte {
	b := []byte{0xba, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	for i := range n {
		switch {
		case i < 24:
			b = append(b, byte(i))
		case i < 256:
			b = append(b, 0x18, byte(i))
		case i < 65536:
			b = append(b, 0x19, byte(i>>8), byte(i))
		default:
			b = append(b, 0x1a, byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
		}
		b = append(b, 0x00)
	}
	return b
}

func TestUnmarshalCorrupt(t *testing.T) {
	valid := mustMarshal(t, &target{Name: "order", N: 3, Tags: []string{"a", "b"}, M: map[string]int{"x": 1}})
	tooBig := append([]byte{0x5a, 0x01, 0x00, 0x00, 0x01}, make([]byte, codec.MaxBytes+1)...) // a 16 MiB + 1 byte string

	tests := []struct {
		name   string
		data   []byte
		into   func() any
		want   error // sentinel that must match
		cause  any   // pointer to a cbor error type errors.As must find, or nil
		notToo bool  // the error must not match ErrTooLarge
	}{
		{name: "empty", data: nil, want: codec.ErrCorrupt, notToo: true},
		{name: "truncated", data: valid[:len(valid)-1], want: codec.ErrCorrupt, notToo: true},
		{name: "truncated head", data: mustHex(t, "1a 00 01"), want: codec.ErrCorrupt, notToo: true},
		{name: "huge length claim", data: mustHex(t, "5b ffffffffffffffff"), want: codec.ErrCorrupt, into: func() any { return new([]byte) }},
		{name: "wrong type", data: mustHex(t, "a1 02 61 78"), want: codec.ErrCorrupt, cause: new(*cbor.UnmarshalTypeError), notToo: true}, // {2: "x"}
		{name: "int overflow", data: mustHex(t, "a1 02 19 0100"), want: codec.ErrCorrupt, cause: new(*cbor.UnmarshalTypeError)},           // N = 256 does not fit int8
		{name: "not a map", data: mustHex(t, "83 01 02 03"), want: codec.ErrCorrupt, cause: new(*cbor.UnmarshalTypeError)},
		{name: "indefinite array", data: mustHex(t, "9f 01 ff"), into: func() any { return new([]int) }, want: codec.ErrCorrupt, cause: new(*cbor.IndefiniteLengthError), notToo: true},
		{name: "indefinite text", data: mustHex(t, "7f 61 61 ff"), into: func() any { return new(string) }, want: codec.ErrCorrupt, cause: new(*cbor.IndefiniteLengthError)},
		{name: "indefinite map", data: mustHex(t, "bf 01 61 61 ff"), want: codec.ErrCorrupt, cause: new(*cbor.IndefiniteLengthError)},
		{name: "duplicate field key", data: mustHex(t, "a2 01 61 61 01 61 62"), want: codec.ErrCorrupt, cause: new(*cbor.DupMapKeyError), notToo: true},
		{name: "duplicate unknown key", data: mustHex(t, "a2 18 63 01 18 63 02"), want: codec.ErrCorrupt, cause: new(*cbor.DupMapKeyError)},
		{name: "duplicate map key", data: mustHex(t, "a1 04 a2 61 78 01 61 78 02"), want: codec.ErrCorrupt, cause: new(*cbor.DupMapKeyError)},
		{name: "too deep", data: nestedArrays(codec.MaxDepth + 1), into: func() any { return new(any) }, want: codec.ErrTooLarge, cause: new(*cbor.MaxNestedLevelError)},
		{name: "too many elements", data: arrayOfZeros(codec.MaxArrayElements + 1), into: func() any { return new([]int) }, want: codec.ErrTooLarge, cause: new(*cbor.MaxArrayElementsError)},
		{name: "too many pairs", data: mapOfInts(codec.MaxMapPairs + 1), into: func() any { return new(map[int]int) }, want: codec.ErrTooLarge, cause: new(*cbor.MaxMapPairsError)},
		{name: "too many bytes", data: tooBig, into: func() any { return new([]byte) }, want: codec.ErrTooLarge},
		{name: "trailing garbage", data: append(append([]byte{}, valid...), 0x00), want: codec.ErrCorrupt, cause: new(*cbor.ExtraneousDataError), notToo: true},
		{name: "two items", data: append(append([]byte{}, valid...), valid...), want: codec.ErrCorrupt, cause: new(*cbor.ExtraneousDataError)},
		{name: "reserved additional info", data: mustHex(t, "1c"), want: codec.ErrCorrupt, cause: new(*cbor.SyntaxError)},
		{name: "lone break", data: mustHex(t, "ff"), want: codec.ErrCorrupt, cause: new(*cbor.SyntaxError)},
		{name: "bad time text", data: mustHex(t, "63 61 62 63"), into: func() any { return new(time.Time) }, want: codec.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			into := tt.into
			if into == nil {
				into = func() any { return new(target) }
			}
			err := codec.Unmarshal(tt.data, into())
			if err == nil {
				t.Fatal("Unmarshal succeeded, want an error")
			}
			var de *codec.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			if de.What != "value" || !strings.HasPrefix(err.Error(), "codec: value: ") {
				t.Errorf("error %q does not name what was decoded", err)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.want)
			}
			if !errors.Is(err, codec.ErrCorrupt) {
				t.Errorf("errors.Is(%v, ErrCorrupt) = false; every decode failure must match it", err)
			}
			if errors.Is(err, codec.ErrFormat) {
				t.Errorf("errors.Is(%v, ErrFormat) = true", err)
			}
			if tt.notToo && errors.Is(err, codec.ErrTooLarge) {
				t.Errorf("errors.Is(%v, ErrTooLarge) = true", err)
			}
			if tt.cause != nil && !errors.As(err, tt.cause) {
				t.Errorf("errors.As(%v, %T) = false", err, tt.cause)
			}
			// Valid agrees about well-formedness problems.
			if tt.want == codec.ErrTooLarge {
				if verr := codec.Valid(tt.data); !errors.Is(verr, codec.ErrTooLarge) {
					t.Errorf("Valid = %v, want ErrTooLarge", verr)
				}
			}
		})
	}
}

func TestLimitsAreInclusive(t *testing.T) {
	var v any
	if err := codec.Unmarshal(nestedArrays(codec.MaxDepth), &v); err != nil {
		t.Errorf("nesting %d: %v", codec.MaxDepth, err)
	}
	var s []int
	if err := codec.Unmarshal(arrayOfZeros(codec.MaxArrayElements), &s); err != nil || len(s) != codec.MaxArrayElements {
		t.Errorf("%d elements: len %d, %v", codec.MaxArrayElements, len(s), err)
	}
	var m map[int]int
	if err := codec.Unmarshal(mapOfInts(codec.MaxMapPairs), &m); err != nil || len(m) != codec.MaxMapPairs {
		t.Errorf("%d pairs: len %d, %v", codec.MaxMapPairs, len(m), err)
	}
	var b []byte
	big := append([]byte{0x5a, 0x00, 0xff, 0xff, 0xfb}, make([]byte, codec.MaxBytes-5)...) // exactly MaxBytes in all
	if err := codec.Unmarshal(big, &b); err != nil || len(b) != codec.MaxBytes-5 {
		t.Errorf("%d bytes: %v", len(big), err)
	}
}

func TestUnmarshalMisuse(t *testing.T) {
	data := mustMarshal(t, 1)
	for _, v := range []any{nil, 1, (*int)(nil)} {
		err := codec.Unmarshal(data, v)
		var iue *cbor.InvalidUnmarshalError
		if !errors.As(err, &iue) {
			t.Errorf("Unmarshal into %#v: %v, want InvalidUnmarshalError", v, err)
		}
		if errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("Unmarshal into %#v: %v matches ErrCorrupt; misuse is not bad data", v, err)
		}
	}
}

func TestUnknownFieldsIgnored(t *testing.T) {
	type v2 struct {
		Name  string `cbor:"1,keyasint"`
		N     int8   `cbor:"2,keyasint"`
		Extra []int  `cbor:"9,keyasint"`
		Named string `cbor:"named"`
	}
	data := mustMarshal(t, v2{Name: "a", N: 2, Extra: []int{1, 2}, Named: "n"})
	var got target
	if err := codec.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(target{Name: "a", N: 2}, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
}

func TestMarshalDeterministicForm(t *testing.T) {
	type inner struct {
		B int `cbor:"b"`
		A int `cbor:"a"`
	}
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"shortest int", uint64(500), "19 01f4"},
		{"negative int", -1, "20"},
		{"shortest float", 1.5, "f9 3e00"},
		{"NaN", nanFloat(), "f9 7e00"},
		{"struct fields sorted", inner{B: 1, A: 2}, "a2 61 61 02 61 62 01"},
		{"map keys sorted by encoding", map[any]int{"b": 1, 10: 2, "aa": 3, -1: 4}, "a4 0a 02 20 04 61 62 01 62 61 61 03"},
		{"nil slice is null", []int(nil), "f6"},
		{"empty slice is an empty array", []int{}, "80"},
		{"nil bytes are null", []byte(nil), "f6"},
		{"zero time is null", time.Time{}, "f6"},
		{"UTC time is untagged text", time.Date(2024, 5, 1, 12, 0, 0, 500, time.UTC), "78 1c" + hex.EncodeToString([]byte("2024-05-01T12:00:00.0000005Z"))},
		{"offset kept", time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("", 2*3600)), "78 19" + hex.EncodeToString([]byte("2024-05-01T12:00:00+02:00"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustMarshal(t, tt.v)
			if want := mustHex(t, tt.want); !bytes.Equal(got, want) {
				t.Errorf("Marshal = %x, want %x", got, want)
			}
		})
	}
}

func nanFloat() float64 {
	zero := 0.0
	return zero / zero
}

func TestMarshalRefusesWhatCannotBeDecoded(t *testing.T) {
	var deep any = []any{}
	for range codec.MaxDepth {
		deep = []any{deep}
	}
	tests := []struct {
		name string
		v    any
		want error
	}{
		{"too deep", deep, codec.ErrTooLarge},
		{"too many elements", make([]int, codec.MaxArrayElements+1), codec.ErrTooLarge},
		{"too many bytes", make([]byte, codec.MaxBytes), codec.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := codec.Marshal(tt.v)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Marshal = %d bytes, %v; want %v", len(b), err, tt.want)
			}
			if b != nil {
				t.Errorf("Marshal returned bytes with an error")
			}
		})
	}
	// Times outside RFC 3339's years cannot be written.
	if _, err := codec.Marshal(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("Marshal(year 10000) succeeded")
	}
	// A channel is not encodable.
	if _, err := codec.Marshal(make(chan int)); err == nil {
		t.Error("Marshal(chan) succeeded")
	}
}

func TestInvalidUTF8RoundTrips(t *testing.T) {
	s := "ok\xff\xfe"
	data := mustMarshal(t, s)
	var got string
	if err := codec.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got != s {
		t.Errorf("got %q, want %q", got, s)
	}
}

func TestDecodeErrorShape(t *testing.T) {
	cause := errors.New("boom")
	e := &codec.DecodeError{What: "payload", Err: cause, Kind: codec.ErrTooLarge}
	if got, want := e.Error(), "codec: payload: data exceeds decode limits: boom"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, cause) || !errors.Is(e, codec.ErrTooLarge) || !errors.Is(e, codec.ErrCorrupt) || errors.Is(e, codec.ErrFormat) {
		t.Error("wrong errors.Is matches for an ErrTooLarge DecodeError")
	}
	f := &codec.DecodeError{What: "record", Kind: codec.ErrFormat}
	if errors.Is(f, codec.ErrCorrupt) || !errors.Is(f, codec.ErrFormat) {
		t.Error("an ErrFormat DecodeError must match ErrFormat only")
	}
	if got, want := (&codec.DecodeError{}).Error(), "codec: value: decode failed"; got != want {
		t.Errorf("zero DecodeError: %q, want %q", got, want)
	}
	if (&codec.DecodeError{}).Unwrap() != nil {
		t.Error("zero DecodeError unwraps to something")
	}
}

func TestValid(t *testing.T) {
	if err := codec.Valid(mustMarshal(t, map[string]any{"a": []int{1, 2}})); err != nil {
		t.Errorf("Valid(good) = %v", err)
	}
	// Valid checks well-formedness, not types or duplicate keys.
	if err := codec.Valid(mustHex(t, "a2 01 01 01 02")); err != nil {
		t.Errorf("Valid(duplicate keys) = %v", err)
	}
	for _, bad := range []string{"", "9f 01 ff", "01 01", "1c", "62 61"} {
		err := codec.Valid(mustHex(t, bad))
		var de *codec.DecodeError
		if !errors.As(err, &de) || !errors.Is(err, codec.ErrCorrupt) || de.What != "value" {
			t.Errorf("Valid(%s) = %v, want a DecodeError matching ErrCorrupt", bad, err)
		}
	}
}
