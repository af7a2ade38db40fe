package planted_test

import (
	"context"
	"testing"

	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
)

// endless is an adapter that drops an instance's end effect (Completed,
// Failed, Canceled, Terminated) from the write that ends it, as an engine
// that took every host for one made WithoutEndEffects would.
type endless struct{ storage.Store }

func withoutEnds(effects []storage.Effect) []storage.Effect {
	var out []storage.Effect
	for _, se := range effects {
		if oe, err := outbox.Decode(se); err == nil && outbox.Ends(oe.Kind) {
			continue
		}
		out = append(out, se)
	}
	return out
}

func (s endless) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	return s.Store.Create(ctx, inst, withoutEnds(effects))
}

func (s endless) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	c.Effects = withoutEnds(c.Effects)
	return s.Store.Commit(ctx, c)
}

// The model expects every end's effect unless the hosts were made
// WithoutEndEffects: a lost end is caught, and the option's model side
// does not cover for it when the option is off.
func TestEndEffectLost(t *testing.T) {
	wantCaught(t, simulate.InvEffects, func(tb *simulate.Recorder) {
		simulate.Check(tb, askWF, simulate.Options[request]{
			Store: func(s storage.Store) storage.Store { return endless{s} },
		})
	})
}

// With the option on, the same adapter changes nothing the hosts write
// (they commit no end effect), and the model expects none: no report. A
// model that still expected ends would fail here.
func TestEndEffectLostWithoutEndEffects(t *testing.T) {
	r := &simulate.Recorder{TestName: t.Name()}
	simulate.Check(r, askWF, simulate.Options[request]{
		WithoutEndEffects: true,
		Store:             func(s storage.Store) storage.Store { return endless{s} },
	})
	if r.Failed() {
		t.Fatalf("hosts made WithoutEndEffects commit no end effect, yet the simulator reported:\n%s", firstLines(r.Report(), 20))
	}
}
