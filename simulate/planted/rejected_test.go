package planted_test

import (
	"context"
	"errors"
	"testing"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
)

// impatient is a host that, like a wrapper whose deadline fires while
// the commit is under way, reports a failure for an event the store
// applied: the caller retries, or gives up on, an event that happened.
type impatient struct{ simulate.Host }

func (h impatient) Apply(ctx context.Context, id string, ev interp.Event) (interp.Result, error) {
	r, err := h.Host.Apply(ctx, id, ev)
	if err == nil {
		return interp.Result{}, errors.New("impatient: deadline exceeded") // the bug
	}
	return r, err
}

func TestHostRejectsAnAppliedEvent(t *testing.T) {
	def := cartDef(func(s *cart) string { return "" })
	wantCaught(t, simulate.InvRejectedChange, func(r *simulate.Recorder) {
		simulate.Check(r, def, simulate.Options[cart]{Host: func(h simulate.Host) simulate.Host { return impatient{h} }})
	})
}

// cancelingTerminate is a host that ends an instance asked to terminate
// by canceling it instead, so that its cleanup code runs.
type cancelingTerminate struct{ simulate.Host }

func (h cancelingTerminate) Apply(ctx context.Context, id string, ev interp.Event) (interp.Result, error) {
	if ev.Kind == interp.EventTerminate {
		ev.Kind = interp.EventCancel // the bug
	}
	return h.Host.Apply(ctx, id, ev)
}

func TestHostCancelsForTerminate(t *testing.T) {
	def := cartDef(func(s *cart) string { return "" })
	wantCaught(t, simulate.InvTerminate, func(r *simulate.Recorder) {
		simulate.Check(r, def, simulate.Options[cart]{Host: func(h simulate.Host) simulate.Host { return cancelingTerminate{h} }})
	})
}

// lateCreate is a storage adapter that stores a new instance and then
// reports the create as failed (as a driver that times out after the
// write does): the start looks refused but its instance exists. With
// withEvent, only a create that carries an event with the start (a
// signal-with-start) fails so.
type lateCreate struct {
	storage.Store
	withEvent bool
}

func (s lateCreate) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	v, err := s.Store.Create(ctx, inst, effects)
	if err != nil {
		return 0, err
	}
	if s.withEvent {
		rec, derr := codec.DecodeRecord(inst.Data)
		if derr != nil {
			return 0, derr
		}
		if m, derr := interp.DecodeMeta(rec.Meta); derr != nil || m.Seq < 2 {
			return v, derr
		}
	}
	return 0, errors.New("lateCreate: timed out") // the bug
}

func TestAdapterFailsAStartItMade(t *testing.T) {
	def := cartDef(func(s *cart) string { return "" })
	wantCaught(t, simulate.InvRejectedChange, func(r *simulate.Recorder) {
		simulate.Check(r, def, simulate.Options[cart]{Store: func(s storage.Store) storage.Store { return lateCreate{Store: s} }})
	})
}

func TestAdapterFailsASignalWithStartItMade(t *testing.T) {
	def := cartDef(func(s *cart) string { return "" })
	wantCaught(t, simulate.InvSignalWithStart, func(r *simulate.Recorder) {
		simulate.Check(r, def, simulate.Options[cart]{Store: func(s storage.Store) storage.Store { return lateCreate{Store: s, withEvent: true} }})
	})
}
