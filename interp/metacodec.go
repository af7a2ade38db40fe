package interp

import (
	"math"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/cborhead"
)

// EncodeMeta returns the CBOR of m: the same bytes as codec.Marshal(m)
// (Core Deterministic Encoding of the struct tags), written by hand because
// a host encodes the meta at every transition and the generic encoder's
// reflection dominated that cost.
func EncodeMeta(m Meta) []byte {
	return appendMeta(make([]byte, 0, metaSize(&m)), &m)
}

// AppendMeta appends the CBOR of *m to b, the bytes [EncodeMeta] returns,
// for a caller that writes the meta into a larger buffer (the engine
// writes it into the stored record). fits reports whether those bytes are
// within the codec's decode limits (no array longer than
// codec.MaxArrayElements, at most codec.MaxBytes in all; the meta's depth
// and map sizes are fixed and far below theirs): only then are they
// appended, and otherwise b is returned as it was. Bytes it appends are
// one well-formed CBOR data item, so a caller may write them without
// checking them again; EncodeMeta's bytes for a meta that does not fit
// fail codec.EncodeRecord's check.
func AppendMeta(b []byte, m *Meta) (_ []byte, fits bool) {
	if !metaFits(m) {
		return b, false
	}
	start := len(b)
	b = appendMeta(b, m)
	if len(b)-start > codec.MaxBytes {
		return b[:start], false
	}
	return b, true
}

// MetaSize is room enough for the encoding of *m in practice (see
// metaSize): a buffer of this many bytes more than it holds takes
// [AppendMeta] without growing.
func MetaSize(m *Meta) int { return metaSize(m) }

// metaFits reports whether m's arrays are within the decode limits.
func metaFits(m *Meta) bool {
	const max = codec.MaxArrayElements
	if len(m.Threads) > max || len(m.Recent) > max || len(m.Migrated) > max || len(m.Inbox) > max {
		return false
	}
	for i := range m.Threads {
		if len(m.Threads[i].Waits) > max {
			return false
		}
	}
	return true
}

// appendMeta appends the CBOR of *m to b.
func appendMeta(b []byte, m *Meta) []byte {
	due, started := unixNano(m.Due), unixNano(m.Started)
	n := 0
	count := func(ok bool) {
		if ok {
			n++
		}
	}
	count(m.Instance != "")
	count(m.Seq != 0)
	count(m.Status != 0)
	count(len(m.Threads) > 0)
	count(m.NextCallback != 0)
	count(due != 0)
	count(len(m.Output) > 0)
	count(m.Failure != nil)
	count(len(m.Recent) > 0)
	count(started != 0)
	count(m.Version != 0)
	count(len(m.Migrated) > 0)
	count(m.Yielded != "")
	count(len(m.Inbox) > 0)
	count(m.Terminated != nil)
	b = cborhead.Append(b, 5, uint64(n))
	if m.Instance != "" {
		b = cborhead.Text(cborhead.Append(b, 0, 1), m.Instance)
	}
	if m.Seq != 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 2), 0, m.Seq)
	}
	if m.Status != 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 3), 0, uint64(m.Status))
	}
	if len(m.Threads) > 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 4), 4, uint64(len(m.Threads)))
		for i := range m.Threads {
			b = encodeThread(b, &m.Threads[i])
		}
	}
	if m.NextCallback != 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 5), 0, m.NextCallback)
	}
	if due != 0 {
		b = cborhead.Int(cborhead.Append(b, 0, 6), due)
	}
	if len(m.Output) > 0 {
		b = append(cborhead.Append(cborhead.Append(b, 0, 7), 2, uint64(len(m.Output))), m.Output...)
	}
	if f := m.Failure; f != nil {
		b = cborhead.Append(b, 0, 8)
		k := 1
		for _, ok := range []bool{f.Path != "", f.Thread != "", f.Panic} {
			if ok {
				k++
			}
		}
		b = cborhead.Append(b, 5, uint64(k))
		if f.Path != "" {
			b = cborhead.Text(cborhead.Append(b, 0, 1), f.Path)
		}
		if f.Thread != "" {
			b = cborhead.Text(cborhead.Append(b, 0, 2), f.Thread)
		}
		b = cborhead.Text(cborhead.Append(b, 0, 3), f.Message)
		if f.Panic {
			b = append(cborhead.Append(b, 0, 4), 0xf5)
		}
	}
	if len(m.Recent) > 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 9), 4, uint64(len(m.Recent)))
		for _, r := range m.Recent {
			b = cborhead.Append(b, 0, r)
		}
	}
	if started != 0 {
		b = cborhead.Int(cborhead.Append(b, 0, 10), started)
	}
	if m.Version != 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 11), 0, uint64(m.Version))
	}
	if len(m.Migrated) > 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 12), 4, uint64(len(m.Migrated)))
		for _, v := range m.Migrated {
			b = cborhead.Append(b, 0, uint64(v))
		}
	}
	if m.Yielded != "" {
		b = cborhead.Text(cborhead.Append(b, 0, 13), m.Yielded)
	}
	if len(m.Inbox) > 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 14), 4, uint64(len(m.Inbox)))
		for i := range m.Inbox {
			b = encodeBuffered(b, &m.Inbox[i])
		}
	}
	if m.Terminated != nil {
		b = encodeTermination(cborhead.Append(b, 0, 16), m.Terminated)
	}
	return b
}

func encodeBuffered(b []byte, e *Buffered) []byte {
	n := 1 // Event is always written
	if len(e.Payload) > 0 {
		n++
	}
	at := unixNano(e.At)
	if at != 0 {
		n++
	}
	b = cborhead.Text(cborhead.Append(cborhead.Append(b, 5, uint64(n)), 0, 1), e.Event)
	if len(e.Payload) > 0 {
		b = append(cborhead.Append(cborhead.Append(b, 0, 2), 2, uint64(len(e.Payload))), e.Payload...)
	}
	if at != 0 {
		b = cborhead.Int(cborhead.Append(b, 0, 3), at)
	}
	return b
}

// metaSize is room enough for m's encoding when its numbers are below
// 2^32 and its strings shorter than 256 bytes, as they are in practice,
// so that EncodeMeta allocates its buffer once: every time takes 10
// bytes, every other number at most 6, a string 2 more than its length.
// A meta beyond that only grows the buffer.
func metaSize(m *Meta) int {
	n := 64 + len(m.Instance) + len(m.Output) + len(m.Yielded) + 5*(len(m.Recent)+len(m.Migrated))
	for i := range m.Threads {
		t := &m.Threads[i]
		n += 32 + len(t.ID) + len(t.Path)
		for j := range t.Waits {
			p := &t.Waits[j]
			n += 40 + len(p.Event) + len(p.Type) + len(p.Child)
		}
	}
	if f := m.Failure; f != nil {
		n += 16 + len(f.Path) + len(f.Thread) + len(f.Message)
	}
	for i := range m.Inbox {
		n += 16 + len(m.Inbox[i].Event) + len(m.Inbox[i].Payload)
	}
	if t := m.Terminated; t != nil {
		n += 16 + len(t.By) + len(t.Reason)
	}
	return n
}

func encodeThread(b []byte, t *Thread) []byte {
	n := 1 // ID is always written
	at := unixNano(t.At)
	for _, ok := range []bool{t.Path != "", t.Phase != 0, t.Attempt != 0, at != 0, len(t.Waits) > 0} {
		if ok {
			n++
		}
	}
	b = cborhead.Text(cborhead.Append(cborhead.Append(b, 5, uint64(n)), 0, 1), t.ID)
	if t.Path != "" {
		b = cborhead.Text(cborhead.Append(b, 0, 2), t.Path)
	}
	if t.Phase != 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 3), 0, uint64(t.Phase))
	}
	if t.Attempt != 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 4), 0, uint64(t.Attempt))
	}
	if at != 0 {
		b = cborhead.Int(cborhead.Append(b, 0, 5), at)
	}
	if len(t.Waits) > 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 6), 4, uint64(len(t.Waits)))
		for i := range t.Waits {
			b = encodePending(b, &t.Waits[i])
		}
	}
	return b
}

func encodePending(b []byte, p *Pending) []byte {
	n := 2 // Callback and Kind are always written
	at := unixNano(p.At)
	for _, ok := range []bool{p.Event != "", at != 0, p.Attempt != 0, p.Setup, p.Type != "", p.Child != "", p.OnEnd != 0} {
		if ok {
			n++
		}
	}
	b = cborhead.Append(cborhead.Append(cborhead.Append(b, 5, uint64(n)), 0, 1), 0, p.Callback)
	if p.Event != "" {
		b = cborhead.Text(cborhead.Append(b, 0, 2), p.Event)
	}
	b = cborhead.Append(cborhead.Append(b, 0, 3), 0, uint64(p.Kind))
	if at != 0 {
		b = cborhead.Int(cborhead.Append(b, 0, 4), at)
	}
	if p.Attempt != 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 5), 0, uint64(p.Attempt))
	}
	if p.Setup {
		b = append(cborhead.Append(b, 0, 6), 0xf5)
	}
	if p.Type != "" {
		b = cborhead.Text(cborhead.Append(b, 0, 7), p.Type)
	}
	if p.Child != "" {
		b = cborhead.Text(cborhead.Append(b, 0, 8), p.Child)
	}
	if p.OnEnd != 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 9), 0, uint64(p.OnEnd))
	}
	return b
}

// DecodeMeta decodes what EncodeMeta (or codec.Marshal of a Meta) wrote.
// Input in that canonical form takes a fast path; anything else goes to the
// generic, bounded decoder, so errors are codec's (*codec.DecodeError).
func DecodeMeta(data []byte) (Meta, error) {
	if m, ok := decodeMetaFast(data); ok {
		return m, nil
	}
	return decodeMetaGeneric(data)
}

// reader walks canonical CBOR; any surprise sets bad, and the caller falls
// back to the generic decoder. It never panics: every read is bounds-checked.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) head() (major byte, v uint64) {
	if r.bad || len(r.b) == 0 {
		r.bad = true
		return 0, 0
	}
	c := r.b[0]
	major, info := c>>5, c&31
	r.b = r.b[1:]
	var size int
	switch {
	case info < 24:
		return major, uint64(info)
	case info == 24:
		size = 1
	case info == 25:
		size = 2
	case info == 26:
		size = 4
	case info == 27:
		size = 8
	default:
		r.bad = true
		return 0, 0
	}
	if len(r.b) < size {
		r.bad = true
		return 0, 0
	}
	for _, x := range r.b[:size] {
		v = v<<8 | uint64(x)
	}
	r.b = r.b[size:]
	// Canonical form only: the shortest head for v.
	if (size == 1 && v < 24) || (size == 2 && v <= math.MaxUint8) || (size == 4 && v <= math.MaxUint16) || (size == 8 && v <= math.MaxUint32) {
		r.bad = true
	}
	return major, v
}

func (r *reader) uint(max uint64) uint64 {
	major, v := r.head()
	if major != 0 || v > max {
		r.bad = true
	}
	return v
}

func (r *reader) int64() int64 {
	major, v := r.head()
	switch {
	case major == 0 && v <= math.MaxInt64:
		return int64(v)
	case major == 1 && v <= math.MaxInt64:
		return -1 - int64(v)
	}
	r.bad = true
	return 0
}

func (r *reader) bytesOf(major byte) []byte {
	m, n := r.head()
	if r.bad || m != major || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) text() string { return string(r.bytesOf(3)) }

func (r *reader) bool() bool {
	if len(r.b) == 0 || (r.b[0] != 0xf4 && r.b[0] != 0xf5) {
		r.bad = true
		return false
	}
	v := r.b[0] == 0xf5
	r.b = r.b[1:]
	return v
}

// length reads an array or map head whose count must fit in what is left
// (every element takes at least one byte).
// An empty one is not canonical here (omitempty drops it), nor is one over
// the decoder's limits: both go to the generic decoder.
func (r *reader) length(major byte) int {
	m, n := r.head()
	if r.bad || m != major || n == 0 || n > uint64(len(r.b)) || n > codec.MaxArrayElements || n > codec.MaxMapPairs {
		r.bad = true
		return 0
	}
	return int(n)
}

// keys iterates a map's integer keys, which must ascend (canonical, no
// duplicates).
func (r *reader) keys(fn func(k uint64)) {
	m, v := r.head()
	if r.bad || m != 5 || v > uint64(len(r.b)) || v > codec.MaxMapPairs {
		r.bad = true
		return
	}
	n := int(v)
	last := uint64(0)
	for i := 0; i < n && !r.bad; i++ {
		k := r.uint(math.MaxUint64)
		if k <= last {
			r.bad = true
			return
		}
		last = k
		fn(k)
	}
}

func decodeMetaFast(data []byte) (Meta, bool) {
	var m Meta
	r := &reader{b: data}
	r.keys(func(k uint64) {
		switch k {
		case 1:
			m.Instance = r.text()
		case 2:
			m.Seq = r.uint(math.MaxUint64)
		case 3:
			m.Status = Status(r.uint(math.MaxUint8))
		case 4:
			if n := r.length(4); !r.bad {
				m.Threads = make([]Thread, n)
				for i := range m.Threads {
					m.Threads[i] = r.thread()
				}
			}
		case 5:
			m.NextCallback = r.uint(math.MaxUint64)
		case 6:
			m.Due = unixTime(r.int64())
		case 7:
			if b := r.bytesOf(2); len(b) > 0 {
				m.Output = append([]byte(nil), b...)
			} else {
				r.bad = true
			}
		case 8:
			f := &Failure{}
			r.keys(func(k uint64) {
				switch k {
				case 1:
					f.Path = r.text()
				case 2:
					f.Thread = r.text()
				case 3:
					f.Message = r.text()
				case 4:
					f.Panic = r.bool()
				default:
					r.bad = true
				}
			})
			m.Failure = f
		case 9:
			m.Recent = make([]uint64, r.length(4))
			for i := range m.Recent {
				m.Recent[i] = r.uint(math.MaxUint64)
			}
		case 10:
			m.Started = unixTime(r.int64())
		case 11:
			m.Version = uint32(r.uint(math.MaxUint32))
		case 12:
			m.Migrated = make([]uint32, r.length(4))
			for i := range m.Migrated {
				m.Migrated[i] = uint32(r.uint(math.MaxUint32))
			}
		case 13:
			m.Yielded = r.text()
		case 14:
			if n := r.length(4); !r.bad {
				m.Inbox = make([]Buffered, n)
				for i := range m.Inbox {
					m.Inbox[i] = r.buffered()
				}
			}
		case 16:
			t := &Termination{}
			r.keys(func(k uint64) {
				switch k {
				case 1:
					t.Reason = r.text()
				case 2:
					t.By = r.text()
				case 3:
					t.At = unixTime(r.int64())
				default:
					r.bad = true
				}
			})
			m.Terminated = t
		default:
			r.bad = true // an unknown field: let the generic decoder judge
		}
	})
	if r.bad || len(r.b) != 0 || len(data) > codec.MaxBytes {
		return Meta{}, false
	}
	return m, true
}

func (r *reader) thread() Thread {
	var t Thread
	r.keys(func(k uint64) {
		switch k {
		case 1:
			t.ID = r.text()
		case 2:
			t.Path = r.text()
		case 3:
			t.Phase = Phase(r.uint(math.MaxUint8))
		case 4:
			t.Attempt = uint32(r.uint(math.MaxUint32))
		case 5:
			t.At = unixTime(r.int64())
		case 6:
			if n := r.length(4); !r.bad {
				t.Waits = make([]Pending, n)
				for i := range t.Waits {
					t.Waits[i] = r.pending()
				}
			}
		default:
			r.bad = true
		}
	})
	return t
}

func (r *reader) pending() Pending {
	var p Pending
	r.keys(func(k uint64) {
		switch k {
		case 1:
			p.Callback = r.uint(math.MaxUint64)
		case 2:
			p.Event = r.text()
		case 3:
			p.Kind = TriggerKind(r.uint(math.MaxUint8))
		case 4:
			p.At = unixTime(r.int64())
		case 5:
			p.Attempt = uint32(r.uint(math.MaxUint32))
		case 6:
			p.Setup = r.bool()
		case 7:
			p.Type = r.text()
		case 8:
			p.Child = r.text()
		case 9:
			p.OnEnd = uint8(r.uint(math.MaxUint8))
		default:
			r.bad = true
		}
	})
	return p
}

func (r *reader) buffered() Buffered {
	var e Buffered
	r.keys(func(k uint64) {
		switch k {
		case 1:
			e.Event = r.text()
		case 2:
			if b := r.bytesOf(2); len(b) > 0 {
				e.Payload = append([]byte(nil), b...)
			} else {
				r.bad = true
			}
		case 3:
			e.At = unixTime(r.int64())
		default:
			r.bad = true
		}
	})
	return e
}
