// Package outbox is the stored form of the effects the engine keeps in a
// store's outbox: the [Entry] it encodes into storage.Effect.Data when a
// transition commits, and decodes when it, or another process, performs
// the effect later. It also says which effect kinds go to the outbox
// ([Kept]).
//
// The entry is a stored format, frozen by engine/testdata/golden (see
// docs/format.md): an engine of a later version must perform the effects
// an earlier one left. It is internal because it is the engine's plumbing,
// not an API: hosts get effects as engine.EffectInfo, and tools in this
// module (the simulator, the inspector, the command line) that read the
// outbox themselves decode entries here.
package outbox

import (
	"fmt"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// Entry is how the engine stores an interp.Effect in the outbox: the fields
// it needs to perform the effect later, perhaps in another process.
// Integer keys keep it compact and stable under renaming.
type Entry struct {
	Kind     interp.EffectKind `cbor:"1,keyasint"`
	Workflow string            `cbor:"2,keyasint,omitempty"`
	Thread   string            `cbor:"3,keyasint,omitempty"`
	Path     string            `cbor:"4,keyasint,omitempty"`
	Event    string            `cbor:"5,keyasint,omitempty"`
	Type     string            `cbor:"6,keyasint,omitempty"`
	Callback uint64            `cbor:"7,keyasint,omitempty"`
	At       int64             `cbor:"8,keyasint,omitempty"`  // unix ns; RunActivity: not before
	Attempt  uint32            `cbor:"9,keyasint,omitempty"`  // RunActivity
	Timeout  int64             `cbor:"10,keyasint,omitempty"` // RunActivity: ns per attempt, 0 for none
	Data     []byte            `cbor:"11,keyasint,omitempty"`
	Error    string            `cbor:"12,keyasint,omitempty"`
	Child    string            `cbor:"13,keyasint,omitempty"` // StartChild, EndChild: the child's instance ID
	OnEnd    uint8             `cbor:"14,keyasint,omitempty"` // EndChild: the dsl.ParentEndPolicy
	// The end effect of a child: the parent instance and its callback
	// waiting for the child's end, so that the end reaches the parent
	// even if the child's ID holds a new run by the time it is performed
	// (ID reuse). Entries written before these keys existed have neither;
	// the engine then reads the parent link from the child's record.
	Parent         string `cbor:"15,keyasint,omitempty"`
	ParentCallback uint64 `cbor:"16,keyasint,omitempty"`
}

// Wakeup is the engine's own effect kind for wake-ups (engine/scheduler.go),
// stored in the outbox like the interpreter's. The interpreter's kinds
// count up from 1; the engine's count down from 255, so the two cannot
// meet.
const Wakeup interp.EffectKind = 0xF0

// Kept reports whether the engine keeps effects of kind k in the outbox,
// to be performed after the commit. Timers and ResumeAt are folded into
// Meta.Due, which the store indexes; replies go back to the caller. The
// engine's wake-ups, which the interpreter does not emit, are kept too but
// are not counted here.
func Kept(k interp.EffectKind) bool {
	switch k {
	case interp.EffectSetup, interp.EffectTeardown, interp.EffectRunActivity, interp.EffectCancelActivity,
		interp.EffectCompleted, interp.EffectFailed, interp.EffectCanceled, interp.EffectTerminated,
		interp.EffectStartChild, interp.EffectEndChild:
		return true
	}
	return false
}

// Ends reports whether k is the effect of an instance's end: Completed,
// Failed, Canceled or Terminated.
func Ends(k interp.EffectKind) bool {
	switch k {
	case interp.EffectCompleted, interp.EffectFailed, interp.EffectCanceled, interp.EffectTerminated:
		return true
	}
	return false
}

// Of is the outbox entry of effect *ef of an instance of workflow. (By
// pointer: an Effect is large, and a commit makes an entry of each.)
func Of(workflow string, ef *interp.Effect) Entry {
	e := Entry{
		Kind: ef.Kind, Workflow: workflow, Thread: ef.Thread, Path: ef.Path, Event: ef.Event,
		Type: ef.Type, Callback: ef.Callback, Attempt: ef.Attempt, Timeout: int64(ef.Timeout),
		Data: ef.Data, Error: ef.Error, Child: ef.Child, OnEnd: ef.OnEnd,
	}
	if !ef.At.IsZero() {
		e.At = ef.At.UnixNano()
	}
	return e
}

// Decode decodes the outbox entry in se.Data. Its errors name the effect
// and wrap the codec's *codec.DecodeError ("engine: effect "i/1/0":
// codec: effect: corrupt data: ...").
func Decode(se storage.Effect) (Entry, error) {
	var e Entry
	if err := decode.Into("effect", se.Data, &e); err != nil {
		return Entry{}, fmt.Errorf("engine: effect %q: %w", se.ID, err)
	}
	return e, nil
}

// NotBefore returns the effect's not-before time (the zero time when it
// has none).
func (e *Entry) NotBefore() time.Time {
	if e.At == 0 {
		return time.Time{}
	}
	return time.Unix(0, e.At).UTC()
}

// AttemptTimeout is a RunActivity's per-attempt timeout (0: none).
func (e *Entry) AttemptTimeout() time.Duration { return time.Duration(e.Timeout) }

// Encode is codec.Marshal(e), written by hand: every transition that
// leaves effects encodes them, and the reflection-based encoder was a
// tenth of the cost of a send to a wait with a setup (docs/performance.md).
// A property test checks that it writes exactly the codec's bytes. The
// keys are the struct tags' integers, in order, each a one-byte CBOR
// unsigned integer; fields with omitempty are left out when zero. An entry
// beyond the codec's limits fails as codec.Marshal does.
func (e *Entry) Encode() ([]byte, error) {
	n := e.Size()
	if n > codec.MaxBytes {
		return e.marshal()
	}
	return e.appendTo(make([]byte, 0, n)), nil
}

// Size is at least the length of the entry's encoding: a buffer of the
// sizes of several entries takes them all without growing (see Append).
func (e *Entry) Size() int {
	return 1 + // map head (at most 16 pairs)
		1 + headLen(uint64(e.Kind)) + 1 + headLen(e.Callback) + 1 + 9 + 1 + headLen(uint64(e.Attempt)) + 1 + 9 +
		textLen(e.Workflow) + textLen(e.Thread) + textLen(e.Path) + textLen(e.Event) + textLen(e.Type) +
		1 + headLen(uint64(len(e.Data))) + len(e.Data) + textLen(e.Error) + textLen(e.Child) + 1 + 2 +
		textLen(e.Parent) + 1 + headLen(e.ParentCallback)
}

// Append appends Encode's bytes to b, so that the entries of one commit
// can share one buffer. On error b is returned unchanged.
func (e *Entry) Append(b []byte) ([]byte, error) {
	if e.Size() > codec.MaxBytes {
		data, err := e.marshal()
		if err != nil {
			return b, err
		}
		return append(b, data...), nil
	}
	return e.appendTo(b), nil
}

// marshal is codec.Marshal(e), which has the error to give for an entry
// beyond the codec's limits.
func (e *Entry) marshal() ([]byte, error) {
	v := *e // (a copy: e itself must not escape, or every caller allocates its entry)
	return codec.Marshal(v)
}

// appendTo appends the encoding of an entry within the codec's limits.
func (e *Entry) appendTo(b []byte) []byte {
	pairs := 1
	for _, present := range []bool{e.Workflow != "", e.Thread != "", e.Path != "", e.Event != "", e.Type != "",
		e.Callback != 0, e.At != 0, e.Attempt != 0, e.Timeout != 0, len(e.Data) > 0, e.Error != "",
		e.Child != "", e.OnEnd != 0, e.Parent != "", e.ParentCallback != 0} {
		if present {
			pairs++
		}
	}
	b = append(b, cborMap|byte(pairs))
	b = appendUintField(b, 1, uint64(e.Kind), true)
	b = appendTextField(b, 2, e.Workflow)
	b = appendTextField(b, 3, e.Thread)
	b = appendTextField(b, 4, e.Path)
	b = appendTextField(b, 5, e.Event)
	b = appendTextField(b, 6, e.Type)
	b = appendUintField(b, 7, e.Callback, false)
	b = appendIntField(b, 8, e.At)
	b = appendUintField(b, 9, uint64(e.Attempt), false)
	b = appendIntField(b, 10, e.Timeout)
	if len(e.Data) > 0 {
		b = append(b, 11)
		b = appendHead(b, cborBytes, uint64(len(e.Data)))
		b = append(b, e.Data...)
	}
	b = appendTextField(b, 12, e.Error)
	b = appendTextField(b, 13, e.Child)
	b = appendUintField(b, 14, uint64(e.OnEnd), false)
	b = appendTextField(b, 15, e.Parent)
	b = appendUintField(b, 16, e.ParentCallback, false)
	return b
}
