package interp

import (
	"errors"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/decode"
)

// The stored form of a Meta and of the types it holds. The Go types carry
// time.Time; what is stored is the integer of Unix nanoseconds under the
// same keys, as it was when those fields were int64. The wire structs
// below are that form for the generic encoder and decoder (the hand-written
// EncodeMeta and decodeMetaFast write and read it directly); each has the
// same fields, in the same order, with the same cbor tags, as its Go type
// (TestWireTagsMatch), times being int64.

type metaWire struct {
	Instance     string           `cbor:"1,keyasint,omitempty"`
	Seq          uint64           `cbor:"2,keyasint,omitempty"`
	Status       Status           `cbor:"3,keyasint,omitempty"`
	Threads      []threadWire     `cbor:"4,keyasint,omitempty"`
	NextCallback uint64           `cbor:"5,keyasint,omitempty"`
	Due          int64            `cbor:"6,keyasint,omitempty"`
	Output       []byte           `cbor:"7,keyasint,omitempty"`
	Failure      *Failure         `cbor:"8,keyasint,omitempty"`
	Recent       []uint64         `cbor:"9,keyasint,omitempty"`
	Started      int64            `cbor:"10,keyasint,omitempty"`
	Version      uint32           `cbor:"11,keyasint,omitempty"`
	Migrated     []uint32         `cbor:"12,keyasint,omitempty"`
	Yielded      string           `cbor:"13,keyasint,omitempty"`
	Inbox        []bufferedWire   `cbor:"14,keyasint,omitempty"`
	Terminated   *terminationWire `cbor:"16,keyasint,omitempty"`
}

type threadWire struct {
	ID      string        `cbor:"1,keyasint"`
	Path    string        `cbor:"2,keyasint,omitempty"`
	Phase   Phase         `cbor:"3,keyasint,omitempty"`
	Attempt uint32        `cbor:"4,keyasint,omitempty"`
	At      int64         `cbor:"5,keyasint,omitempty"`
	Waits   []pendingWire `cbor:"6,keyasint,omitempty"`
}

type pendingWire struct {
	Callback uint64      `cbor:"1,keyasint"`
	Event    string      `cbor:"2,keyasint,omitempty"`
	Kind     TriggerKind `cbor:"3,keyasint"`
	At       int64       `cbor:"4,keyasint,omitempty"`
	Attempt  uint32      `cbor:"5,keyasint,omitempty"`
	Setup    bool        `cbor:"6,keyasint,omitempty"`
	Type     string      `cbor:"7,keyasint,omitempty"`
	Child    string      `cbor:"8,keyasint,omitempty"`
	OnEnd    uint8       `cbor:"9,keyasint,omitempty"`
}

type bufferedWire struct {
	Event   string `cbor:"1,keyasint"`
	Payload []byte `cbor:"2,keyasint,omitempty"`
	At      int64  `cbor:"3,keyasint,omitempty"`
}

type terminationWire struct {
	Reason string `cbor:"1,keyasint,omitempty"`
	By     string `cbor:"2,keyasint,omitempty"`
	At     int64  `cbor:"3,keyasint,omitempty"`
}

// MarshalCBOR returns [EncodeMeta] of m, so that codec.Marshal of a Meta
// (or of a value holding one) writes times as stored (see [Meta]).
func (m Meta) MarshalCBOR() ([]byte, error) { return EncodeMeta(m), nil }

// UnmarshalCBOR decodes what [Meta.MarshalCBOR] wrote, as [DecodeMeta]
// does, replacing all of *m. codec.Unmarshal calls it.
func (m *Meta) UnmarshalCBOR(data []byte) error {
	if fast, ok := decodeMetaFast(data); ok {
		*m = fast
		return nil
	}
	var w metaWire
	if err := decode.Into("meta", data, &w); err != nil {
		return innerError(err)
	}
	*m = w.meta()
	return nil
}

// MarshalCBOR writes t with its time as stored (see [Meta]).
func (t Thread) MarshalCBOR() ([]byte, error) { return codec.Marshal(t.wire()) }

// UnmarshalCBOR reads what [Thread.MarshalCBOR] wrote, replacing all of *t.
func (t *Thread) UnmarshalCBOR(data []byte) error {
	var w threadWire
	if err := decode.Into("thread", data, &w); err != nil {
		return innerError(err)
	}
	*t = w.thread()
	return nil
}

// MarshalCBOR writes p with its time as stored (see [Meta]).
func (p Pending) MarshalCBOR() ([]byte, error) { return codec.Marshal(p.wire()) }

// UnmarshalCBOR reads what [Pending.MarshalCBOR] wrote, replacing all of *p.
func (p *Pending) UnmarshalCBOR(data []byte) error {
	var w pendingWire
	if err := decode.Into("pending", data, &w); err != nil {
		return innerError(err)
	}
	*p = w.pending()
	return nil
}

// MarshalCBOR writes b with its time as stored (see [Meta]).
func (b Buffered) MarshalCBOR() ([]byte, error) { return codec.Marshal(b.wire()) }

// UnmarshalCBOR reads what [Buffered.MarshalCBOR] wrote, replacing all of *b.
func (b *Buffered) UnmarshalCBOR(data []byte) error {
	var w bufferedWire
	if err := decode.Into("buffered", data, &w); err != nil {
		return innerError(err)
	}
	*b = w.buffered()
	return nil
}

// MarshalCBOR writes t with its time as stored (see [Meta]).
func (t Termination) MarshalCBOR() ([]byte, error) { return codec.Marshal(t.wire()) }

// UnmarshalCBOR reads what [Termination.MarshalCBOR] wrote, replacing all
// of *t.
func (t *Termination) UnmarshalCBOR(data []byte) error {
	var w terminationWire
	if err := decode.Into("termination", data, &w); err != nil {
		return innerError(err)
	}
	*t = w.termination()
	return nil
}

// innerError is the cause of a decoding error, for an UnmarshalCBOR
// method: the codec call that invoked the method wraps it in its own
// *codec.DecodeError, which should not hold a second one.
func innerError(err error) error {
	var de *codec.DecodeError
	if errors.As(err, &de) && de.Err != nil {
		return de.Err
	}
	return err
}

// decodeMetaGeneric decodes data with the generic decoder, for input the
// fast path declines.
func decodeMetaGeneric(data []byte) (Meta, error) {
	var w metaWire
	err := decode.Into("meta", data, &w)
	return w.meta(), err
}

func (m Meta) wire() metaWire {
	w := metaWire{Instance: m.Instance, Seq: m.Seq, Status: m.Status, NextCallback: m.NextCallback, Due: unixNano(m.Due),
		Output: m.Output, Failure: m.Failure, Recent: m.Recent, Started: unixNano(m.Started), Version: m.Version,
		Migrated: m.Migrated, Yielded: m.Yielded}
	if m.Threads != nil {
		w.Threads = make([]threadWire, len(m.Threads))
		for i, t := range m.Threads {
			w.Threads[i] = t.wire()
		}
	}
	if m.Inbox != nil {
		w.Inbox = make([]bufferedWire, len(m.Inbox))
		for i, b := range m.Inbox {
			w.Inbox[i] = b.wire()
		}
	}
	if m.Terminated != nil {
		t := m.Terminated.wire()
		w.Terminated = &t
	}
	return w
}

func (w metaWire) meta() Meta {
	m := Meta{Instance: w.Instance, Seq: w.Seq, Status: w.Status, NextCallback: w.NextCallback, Due: unixTime(w.Due),
		Output: w.Output, Failure: w.Failure, Recent: w.Recent, Started: unixTime(w.Started), Version: w.Version,
		Migrated: w.Migrated, Yielded: w.Yielded}
	if w.Threads != nil {
		m.Threads = make([]Thread, len(w.Threads))
		for i, t := range w.Threads {
			m.Threads[i] = t.thread()
		}
	}
	if w.Inbox != nil {
		m.Inbox = make([]Buffered, len(w.Inbox))
		for i, b := range w.Inbox {
			m.Inbox[i] = b.buffered()
		}
	}
	if w.Terminated != nil {
		t := w.Terminated.termination()
		m.Terminated = &t
	}
	return m
}

func (t Thread) wire() threadWire {
	w := threadWire{ID: t.ID, Path: t.Path, Phase: t.Phase, Attempt: t.Attempt, At: unixNano(t.At)}
	if t.Waits != nil {
		w.Waits = make([]pendingWire, len(t.Waits))
		for i, p := range t.Waits {
			w.Waits[i] = p.wire()
		}
	}
	return w
}

func (w threadWire) thread() Thread {
	t := Thread{ID: w.ID, Path: w.Path, Phase: w.Phase, Attempt: w.Attempt, At: unixTime(w.At)}
	if w.Waits != nil {
		t.Waits = make([]Pending, len(w.Waits))
		for i, p := range w.Waits {
			t.Waits[i] = p.pending()
		}
	}
	return t
}

func (p Pending) wire() pendingWire {
	return pendingWire{Callback: p.Callback, Event: p.Event, Kind: p.Kind, At: unixNano(p.At), Attempt: p.Attempt,
		Setup: p.Setup, Type: p.Type, Child: p.Child, OnEnd: p.OnEnd}
}

func (w pendingWire) pending() Pending {
	return Pending{Callback: w.Callback, Event: w.Event, Kind: w.Kind, At: unixTime(w.At), Attempt: w.Attempt,
		Setup: w.Setup, Type: w.Type, Child: w.Child, OnEnd: w.OnEnd}
}

func (b Buffered) wire() bufferedWire {
	return bufferedWire{Event: b.Event, Payload: b.Payload, At: unixNano(b.At)}
}

func (w bufferedWire) buffered() Buffered {
	return Buffered{Event: w.Event, Payload: w.Payload, At: unixTime(w.At)}
}

func (t Termination) wire() terminationWire {
	return terminationWire{Reason: t.Reason, By: t.By, At: unixNano(t.At)}
}

func (w terminationWire) termination() Termination {
	return Termination{Reason: w.Reason, By: w.By, At: unixTime(w.At)}
}
