package codec

// wellformed reports whether data is exactly one well-formed CBOR data
// item within the decode limits: whether decMode.Wellformed(data) returns
// nil. It is that check written by hand for the common answer: it reads
// the heads once, allocates nothing and builds no error. The codec checks
// every state, meta and record it writes or reads this way, and asks the
// cbor library only when the answer is no, for its error. A property test
// and a fuzz test hold the two together.
//
// It follows the library's rules for the decoding mode this package uses
// (limits of [MaxDepth], [MaxArrayElements] and [MaxMapPairs],
// indefinite lengths forbidden, tags, floats and simple values accepted,
// the tag content types not checked).
func wellformed(data []byte) bool {
	if len(data) == 0 {
		return false
	}
	off, ok := wellformedItem(data, 0, 0)
	return ok && off == len(data)
}

// wellformedItem checks the item at data[off:], at nesting depth depth,
// and returns the offset just past it.
func wellformedItem(data []byte, off, depth int) (int, bool) {
	major, arg, off, ok := wellformedHead(data, off)
	if !ok {
		return 0, false
	}
	switch major {
	case 2, 3: // byte and text strings
		if arg > uint64(len(data)-off) {
			return 0, false
		}
		return off + int(arg), true
	case 4, 5: // arrays and maps
		depth++
		if depth > MaxDepth {
			return 0, false
		}
		n := arg
		if major == 4 {
			if n > MaxArrayElements {
				return 0, false
			}
		} else {
			if n > MaxMapPairs {
				return 0, false
			}
			n *= 2
		}
		for ; n > 0; n-- {
			if off >= len(data) {
				return 0, false
			}
			// Short integers and short strings, as the library's fast
			// path, and one-byte simple values (false, true, null...),
			// which wellformedHead takes whole.
			if b := data[off]; b&0x1f < 24 {
				switch b >> 5 {
				case 0, 1, 7:
					off++
					continue
				case 2, 3:
					if end := off + 1 + int(b&0x1f); end <= len(data) {
						off = end
						continue
					}
					return 0, false
				}
			}
			if off, ok = wellformedItem(data, off, depth); !ok {
				return 0, false
			}
		}
		return off, true
	case 6: // a tag: the first adds no depth, each tag nested directly in it one
		for {
			if off >= len(data) {
				return 0, false
			}
			if data[off]>>5 != 6 {
				break
			}
			if _, _, off, ok = wellformedHead(data, off); !ok {
				return 0, false
			}
			depth++
			if depth > MaxDepth {
				return 0, false
			}
		}
		return wellformedItem(data, off, depth)
	}
	return off, true // integers, floats and simple values
}

// wellformedHead reads the head at data[off:]: its major type, its
// argument and the offset past it. It refuses what the library's
// wellformedHead refuses: a truncated head, reserved additional
// information (28 to 30), an indefinite length (which the decoding mode
// forbids, and which is malformed for integers and tags and, alone, for
// major type 7) and a two-byte simple value below 32.
func wellformedHead(data []byte, off int) (major byte, arg uint64, next int, ok bool) {
	if off >= len(data) {
		return 0, 0, 0, false
	}
	b := data[off]
	major, ai := b>>5, b&0x1f
	off++
	switch {
	case ai < 24:
		return major, uint64(ai), off, true
	case ai == 24:
		if len(data)-off < 1 {
			return 0, 0, 0, false
		}
		arg = uint64(data[off])
		if major == 7 && arg < 32 {
			return 0, 0, 0, false
		}
		return major, arg, off + 1, true
	case ai == 25:
		if len(data)-off < 2 {
			return 0, 0, 0, false
		}
		return major, uint64(data[off])<<8 | uint64(data[off+1]), off + 2, true
	case ai == 26:
		if len(data)-off < 4 {
			return 0, 0, 0, false
		}
		d := data[off : off+4]
		return major, uint64(d[0])<<24 | uint64(d[1])<<16 | uint64(d[2])<<8 | uint64(d[3]), off + 4, true
	case ai == 27:
		if len(data)-off < 8 {
			return 0, 0, 0, false
		}
		d := data[off : off+8]
		arg = uint64(d[0])<<56 | uint64(d[1])<<48 | uint64(d[2])<<40 | uint64(d[3])<<32 |
			uint64(d[4])<<24 | uint64(d[5])<<16 | uint64(d[6])<<8 | uint64(d[7])
		return major, arg, off + 8, true
	}
	return 0, 0, 0, false // 28 to 30 reserved, 31 indefinite
}
