// Package cborjson shows CBOR data as JSON: the CLI's inspect and the
// HTTP handler print decoded states and outputs that have no Go type at
// hand.
package cborjson

import (
	"fmt"

	"github.com/weftflow/weft/codec"
)

// Decode decodes CBOR into a value encoding/json can write.
func Decode(b []byte) (any, error) {
	var v any
	if err := codec.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return Plain(v), nil
}

// Plain turns a value decoded from CBOR into one encoding/json can write:
// maps with keys of any type become maps with string keys, in place where
// it can.
func Plain(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = Plain(e)
		}
		return m
	case []any:
		for i := range x {
			x[i] = Plain(x[i])
		}
		return x
	}
	return v
}
