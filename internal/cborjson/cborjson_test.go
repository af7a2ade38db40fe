package cborjson_test

import (
	"encoding/json"
	"testing"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/cborjson"
)

// TestDecode writes, as JSON, CBOR whose maps have integer keys, nested in
// arrays and maps: encoding/json refuses map[any]any, so every level must
// be converted.
func TestDecode(t *testing.T) {
	b, err := codec.Marshal(map[int]any{1: []any{map[int]string{2: "x"}}, 3: "y"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := cborjson.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json of %#v: %v", v, err)
	}
	if got, want := string(out), `{"1":[{"2":"x"}],"3":"y"}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if _, err := cborjson.Decode([]byte{0xff}); err == nil {
		t.Fatal("Decode of bad CBOR succeeded")
	}
}
