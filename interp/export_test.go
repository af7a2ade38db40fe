package interp

import "github.com/weftflow/weft/codec"

// EncodeMetaGeneric is what the generic encoder writes for m's stored
// form: the reference the hand-written EncodeMeta must match.
func EncodeMetaGeneric(m Meta) ([]byte, error) { return codec.Marshal(m.wire()) }

// DecodeMetaGeneric decodes data with the generic decoder only.
var DecodeMetaGeneric = decodeMetaGeneric

// DecodeMetaFast decodes data with the fast path only; ok is false when
// it declines.
var DecodeMetaFast = decodeMetaFast
