// Package decode is codec.Unmarshal for weft's own packages, with the name
// of what is decoded ("state", "meta", "payload", ...) in its errors, so
// that a failure says which stored thing is damaged. It is internal because
// naming is weft's business: users decode with codec.Unmarshal, whose
// errors say "value".
//
// It belongs to weft's pure core, which uses it: it does no I/O, reads no
// clock and starts no goroutines.
package decode

import "github.com/weftflow/weft/codec"

// Into decodes the single CBOR data item in data into v, a non-nil
// pointer, as [codec.Unmarshal] does, and names what in its errors: a
// failure is the *codec.DecodeError Unmarshal returns with What set to
// what ("codec: state: corrupt data: ..."). Other errors (v not a non-nil
// pointer) are returned as they are.
func Into(what string, data []byte, v any) error {
	err := codec.Unmarshal(data, v)
	if de, ok := err.(*codec.DecodeError); ok {
		de.What = what
	}
	return err
}
