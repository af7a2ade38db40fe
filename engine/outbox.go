package engine

import (
	"fmt"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// The engine stores an interp.Effect in the outbox as an outbox.Entry
// (internal/outbox), the stored format frozen by outbox_golden_test.go.

// outboxEffects encodes the effects of one transition that go to the outbox.
func outboxEffects(id, workflow string, effects []interp.Effect) ([]storage.Effect, error) {
	n := 0
	for _, ef := range effects {
		if outbox.Kept(ef.Kind) {
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	out := make([]storage.Effect, 0, n)
	for _, ef := range effects {
		if !outbox.Kept(ef.Kind) {
			continue
		}
		oe := outbox.Of(workflow, ef)
		data, err := oe.Encode()
		if err != nil {
			return nil, fmt.Errorf("engine: instance %q: encode %s effect: %w", id, ef.Kind, err)
		}
		// The store indexes the not-before time of a retried activity
		// attempt, so that claimers find it ready without decoding Data.
		out = append(out, storage.Effect{ID: ef.ID.String(), Instance: id, Data: data, NotBefore: storableDue(ef.At)})
	}
	return out, nil
}

// infoOf is what a handler is told of the effect id of instance stored as oe.
func infoOf(oe *outbox.Entry, id, instance string) EffectInfo {
	return EffectInfo{
		ID: id, Kind: oe.Kind, Instance: instance, Workflow: oe.Workflow, Thread: oe.Thread,
		Path: oe.Path, Event: oe.Event, Type: oe.Type, Callback: oe.Callback, Data: oe.Data, Error: oe.Error,
		Attempt: oe.Attempt, At: oe.NotBefore(), Timeout: oe.AttemptTimeout(), Child: oe.Child, OnEnd: dsl.ParentEndPolicy(oe.OnEnd),
	}
}
