package engine

import (
	"fmt"
	"time"

	"github.com/weftflow/weft/codec"
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
}

// Outboxed reports whether the engine keeps effects of kind k in the
// outbox, to be performed after the commit. Timers and ResumeAt are folded
// into Meta.Due, which the store indexes; replies go back to the caller.
func Outboxed(k interp.EffectKind) bool {
	switch k {
	case interp.Setup, interp.Teardown, interp.RunActivity, interp.CancelActivity,
		interp.Completed, interp.Failed, interp.Canceled:
		return true
	}
	return false
}

// outboxEffects encodes the effects of one transition that go to the outbox.
func outboxEffects(id, workflow string, effects []interp.Effect) ([]storage.Effect, error) {
	var out []storage.Effect
	for _, ef := range effects {
		if !Outboxed(ef.Kind) {
			continue
		}
		oe := outboxEffect{
			Kind: ef.Kind, Workflow: workflow, Thread: ef.Thread, Path: ef.Path, Event: ef.Event,
			Type: ef.Type, Callback: ef.Callback, Attempt: ef.Attempt, Timeout: int64(ef.Timeout),
			Data: ef.Data, Error: ef.Error,
		}
		if !ef.At.IsZero() {
			oe.At = ef.At.UnixNano()
		}
		data, err := codec.Marshal(oe)
		if err != nil {
			return nil, fmt.Errorf("engine: instance %q: encode %s effect: %w", id, ef.Kind, err)
		}
		out = append(out, storage.Effect{ID: ef.ID.String(), Instance: id, Data: data})
	}
	return out, nil
}

func decodeEffect(se storage.Effect) (outboxEffect, error) {
	var oe outboxEffect
	if err := codec.UnmarshalWhat("effect", se.Data, &oe); err != nil {
		return outboxEffect{}, fmt.Errorf("engine: effect %q: %w", se.ID, err)
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
		Attempt: oe.Attempt, At: oe.at(), Timeout: oe.timeout(),
	}
}

// timeout is a RunActivity's per-attempt timeout (0: none).
func (oe *outboxEffect) timeout() time.Duration { return time.Duration(oe.Timeout) }
