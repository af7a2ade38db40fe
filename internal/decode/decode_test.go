package decode_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/decode"
)

func TestIntoNamesWhat(t *testing.T) {
	big := make([]byte, codec.MaxBytes+1)
	for _, tc := range []struct {
		name string
		data []byte
		kind error
	}{
		{"corrupt", []byte{0x9f, 0x01, 0xff}, codec.ErrCorrupt}, // an indefinite-length array
		{"wrong type", []byte{0x61, 0x61}, codec.ErrCorrupt},    // "a" into an int
		{"too large", big, codec.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n int
			err := decode.Into("state", tc.data, &n)
			var de *codec.DecodeError
			if !errors.As(err, &de) || de.What != "state" || !errors.Is(err, tc.kind) {
				t.Fatalf("error %v (%T), want a *codec.DecodeError of the state matching %v", err, err, tc.kind)
			}
			// The message is codec.Unmarshal's, with the name in place of "value".
			plain := codec.Unmarshal(tc.data, &n)
			if want := strings.Replace(plain.Error(), "codec: value: ", "codec: state: ", 1); err.Error() != want {
				t.Fatalf("message %q, want %q", err, want)
			}
		})
	}
}

func TestIntoDecodes(t *testing.T) {
	b, err := codec.Marshal(map[string]int{"a": 1})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]int
	if err := decode.Into("payload", b, &m); err != nil || m["a"] != 1 {
		t.Fatalf("Into = %v, %v; want map[a:1]", m, err)
	}
}

// A nil target is the caller's bug, not bad data: the error is not a
// DecodeError and Into does not panic.
func TestIntoBadTarget(t *testing.T) {
	err := decode.Into("state", []byte{0x01}, nil)
	var de *codec.DecodeError
	if err == nil || errors.As(err, &de) {
		t.Fatalf("error %v, want a non-DecodeError", err)
	}
}
