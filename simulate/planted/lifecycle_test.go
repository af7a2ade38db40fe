package planted_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/simulate"
)

// cart is a small workflow with a query, for the lifecycle plants.
type cart struct {
	Items []string
	Done  bool
}

func cartDef(last func(s *cart) string) *dsl.Definition {
	return dsl.MustCompile[cart]("cart", dsl.S(
		dsl.While("shopping", func(s *cart) bool { return !s.Done },
			dsl.Wait("next",
				dsl.On("add", dsl.Signal(func(s *cart, item string) (int, error) {
					s.Items = append(s.Items, item)
					return len(s.Items), nil
				})),
				dsl.On("checkout", dsl.Signal(func(s *cart, _ struct{}) (int, error) {
					s.Done = true
					return len(s.Items), nil
				})),
				dsl.On("abandon", dsl.After(time.Hour), dsl.Fail(errors.New("abandoned"))),
			)),
		dsl.ReturnWith(func(s *cart) int { return len(s.Items) }),
	), dsl.Query("last", last))
}

// A query that indexes past the end of an empty cart: the simulator
// queries every state the run reaches, the empty one first of all.
func TestPlantedQueryPanics(t *testing.T) {
	def := cartDef(func(s *cart) string { return s.Items[len(s.Items)-1] })
	wantCaught(t, simulate.InvQuery, func(r *simulate.Recorder) {
		simulate.Check(r, def, simulate.Options[cart]{})
	})
}

// swallowing is a host that, like a careless retry wrapper, turns "the
// ID is taken" into success.
type swallowing struct{ simulate.Host }

func (h swallowing) Start(ctx context.Context, def *dsl.Definition, id string, input any) error {
	if err := h.Host.Start(ctx, def, id, input); !errors.Is(err, engine.ErrExists) {
		return err
	}
	return nil
}

func TestPlantedStartSwallowsExists(t *testing.T) {
	def := cartDef(func(s *cart) string { return "" })
	wantCaught(t, simulate.InvIDReuse, func(r *simulate.Recorder) {
		simulate.Check(r, def, simulate.Options[cart]{Host: func(h simulate.Host) simulate.Host { return swallowing{h} }})
	})
}

// optimistic is a host whose Await reports every ended instance as
// completed: a failure or a cancellation reads as success.
type optimistic struct{ simulate.Host }

func (h optimistic) Await(ctx context.Context, id string, out any) error {
	err := h.Host.(interface {
		Await(ctx context.Context, id string, out any) error
	}).Await(ctx, id, out)
	if errors.Is(err, engine.ErrWorkflowFailed) || errors.Is(err, engine.ErrCanceled) {
		return nil
	}
	return err
}

func TestPlantedAwaitHidesFailure(t *testing.T) {
	def := cartDef(func(s *cart) string { return "" })
	wantCaught(t, simulate.InvAwait, func(r *simulate.Recorder) {
		simulate.Check(r, def, simulate.Options[cart]{Host: func(h simulate.Host) simulate.Host { return optimistic{h} }})
	})
}
