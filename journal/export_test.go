package journal

import "github.com/weftflow/weft/codec"

// EncodeGeneric is what the generic encoder writes for e's stored form
// (At as int64 Unix nanoseconds): the reference Encode must match.
func EncodeGeneric(e Entry) ([]byte, error) { return codec.Marshal(e.wire()) }
