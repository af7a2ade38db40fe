package engine

import (
	"fmt"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/cborhead"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// outboxEffect is how the engine stores an interp.Effect in the outbox: the
// fields it needs to perform the effect later, perhaps in another process.
// Integer keys keep it compact and stable under renaming.
type outboxEffect struct {
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
}

// Outboxed reports whether the engine keeps effects of kind k in the
// outbox, to be performed after the commit. Timers and ResumeAt are folded
// into Meta.Due, which the store indexes; replies go back to the caller.
func Outboxed(k interp.EffectKind) bool {
	switch k {
	case interp.EffectSetup, interp.EffectTeardown, interp.EffectRunActivity, interp.EffectCancelActivity,
		interp.EffectCompleted, interp.EffectFailed, interp.EffectCanceled, interp.EffectTerminated,
		interp.EffectStartChild, interp.EffectEndChild:
		return true
	}
	return false
}

// outboxEffects encodes the effects of one transition that go to the outbox.
func outboxEffects(id, workflow string, effects []interp.Effect) ([]storage.Effect, error) {
	n := 0
	for _, ef := range effects {
		if Outboxed(ef.Kind) {
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	out := make([]storage.Effect, 0, n)
	for _, ef := range effects {
		if !Outboxed(ef.Kind) {
			continue
		}
		oe := toOutbox(workflow, ef)
		data, err := oe.encode()
		if err != nil {
			return nil, fmt.Errorf("engine: instance %q: encode %s effect: %w", id, ef.Kind, err)
		}
		// The store indexes the not-before time of a retried activity
		// attempt, so that claimers find it ready without decoding Data.
		out = append(out, storage.Effect{ID: ef.ID.String(), Instance: id, Data: data, NotBefore: storableDue(ef.At)})
	}
	return out, nil
}

// encode is codec.Marshal(oe), written by hand: every transition that
// leaves effects encodes them, and the reflection-based encoder was a
// tenth of the cost of a send to a wait with a setup (docs/performance.md).
// A property test checks that it writes exactly the codec's bytes. The
// keys are the struct tags' integers, in order, each a one-byte CBOR
// unsigned integer; fields with omitempty are left out when zero.
func (oe *outboxEffect) encode() ([]byte, error) {
	n := 1 + // map head (at most 14 pairs)
		1 + headLen(uint64(oe.Kind)) + 1 + headLen(oe.Callback) + 1 + 9 + 1 + headLen(uint64(oe.Attempt)) + 1 + 9 +
		textLen(oe.Workflow) + textLen(oe.Thread) + textLen(oe.Path) + textLen(oe.Event) + textLen(oe.Type) +
		1 + headLen(uint64(len(oe.Data))) + len(oe.Data) + textLen(oe.Error) + textLen(oe.Child) + 1 + 2
	if n > codec.MaxBytes {
		// The codec has the error to say so.
		return codec.Marshal(oe)
	}
	pairs := 1
	for _, present := range []bool{oe.Workflow != "", oe.Thread != "", oe.Path != "", oe.Event != "", oe.Type != "",
		oe.Callback != 0, oe.At != 0, oe.Attempt != 0, oe.Timeout != 0, len(oe.Data) > 0, oe.Error != "",
		oe.Child != "", oe.OnEnd != 0} {
		if present {
			pairs++
		}
	}
	b := make([]byte, 0, n)
	b = append(b, cborMap|byte(pairs))
	b = appendUintField(b, 1, uint64(oe.Kind), true)
	b = appendTextField(b, 2, oe.Workflow)
	b = appendTextField(b, 3, oe.Thread)
	b = appendTextField(b, 4, oe.Path)
	b = appendTextField(b, 5, oe.Event)
	b = appendTextField(b, 6, oe.Type)
	b = appendUintField(b, 7, oe.Callback, false)
	b = appendIntField(b, 8, oe.At)
	b = appendUintField(b, 9, uint64(oe.Attempt), false)
	b = appendIntField(b, 10, oe.Timeout)
	if len(oe.Data) > 0 {
		b = append(b, 11)
		b = appendHead(b, cborBytes, uint64(len(oe.Data)))
		b = append(b, oe.Data...)
	}
	b = appendTextField(b, 12, oe.Error)
	b = appendTextField(b, 13, oe.Child)
	b = appendUintField(b, 14, uint64(oe.OnEnd), false)
	return b, nil
}

// CBOR major types, shifted into the initial byte.
const (
	cborUint  = 0 << 5
	cborNeg   = 1 << 5
	cborBytes = 2 << 5
	cborText  = 3 << 5
	cborMap   = 5 << 5
)

func appendUintField(b []byte, key byte, v uint64, always bool) []byte {
	if v == 0 && !always {
		return b
	}
	return appendHead(append(b, key), cborUint, v)
}

func appendIntField(b []byte, key byte, v int64) []byte {
	switch {
	case v == 0:
		return b
	case v > 0:
		return appendHead(append(b, key), cborUint, uint64(v))
	}
	return appendHead(append(b, key), cborNeg, uint64(-1-v))
}

func appendTextField(b []byte, key byte, s string) []byte {
	if s == "" {
		return b
	}
	b = appendHead(append(b, key), cborText, uint64(len(s)))
	return append(b, s...)
}

// headLen is the length of the shortest CBOR head with argument v.
func headLen(v uint64) int { return cborhead.Len(v) }

// textLen bounds the bytes a string or byte string field takes: key, head
// and content.
func textLen(s string) int { return 1 + headLen(uint64(len(s))) + len(s) }

// appendHead appends the shortest CBOR head of the major type (shifted
// into the initial byte, as the constants here hold it) with argument v.
func appendHead(b []byte, major byte, v uint64) []byte { return cborhead.Append(b, major>>5, v) }

// toOutbox is the outbox form of an effect of workflow.
func toOutbox(workflow string, ef interp.Effect) outboxEffect {
	oe := outboxEffect{
		Kind: ef.Kind, Workflow: workflow, Thread: ef.Thread, Path: ef.Path, Event: ef.Event,
		Type: ef.Type, Callback: ef.Callback, Attempt: ef.Attempt, Timeout: int64(ef.Timeout),
		Data: ef.Data, Error: ef.Error, Child: ef.Child, OnEnd: ef.OnEnd,
	}
	if !ef.At.IsZero() {
		oe.At = ef.At.UnixNano()
	}
	return oe
}

func decodeEffect(se storage.Effect) (outboxEffect, error) {
	var oe outboxEffect
	if err := codec.UnmarshalWhat("effect", se.Data, &oe); err != nil {
		return outboxEffect{}, opErr("effect", "", se.ID, err)
	}
	return oe, nil
}

// at returns the effect's not-before time (the zero time when it has none).
func (oe *outboxEffect) at() time.Time {
	if oe.At == 0 {
		return time.Time{}
	}
	return time.Unix(0, oe.At).UTC()
}

func (oe *outboxEffect) info(id, instance string) EffectInfo {
	return EffectInfo{
		ID: id, Kind: oe.Kind, Instance: instance, Workflow: oe.Workflow, Thread: oe.Thread,
		Path: oe.Path, Event: oe.Event, Type: oe.Type, Callback: oe.Callback, Data: oe.Data, Error: oe.Error,
		Attempt: oe.Attempt, At: oe.at(), Timeout: oe.timeout(), Child: oe.Child, OnEnd: dsl.ParentEndPolicy(oe.OnEnd),
	}
}

// timeout is a RunActivity's per-attempt timeout (0: none).
func (oe *outboxEffect) timeout() time.Duration { return time.Duration(oe.Timeout) }
