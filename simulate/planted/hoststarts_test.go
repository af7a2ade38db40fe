package planted_test

import (
	"context"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
)

// Hosts that start runs with options or with an event: a Host wrapper
// (Options.Host) with StartWith and SignalWithStart is given the
// simulator's new runs over a taken ID and its signal-with-starts, so
// that a host's own handling of them is checked, not only the engine's.

// starts is the engine's side of a wrapped Host: the Host the simulator
// gives a wrapper has both methods.
type starts interface {
	StartWith(ctx context.Context, def *dsl.Definition, id string, input any, opts ...engine.StartOption) error
	SignalWithStart(ctx context.Context, def *dsl.Definition, id string, input any, event string, payload any, opts ...engine.SendOption) error
}

// replacing is a host that starts every run over a taken ID with
// IDReuseTerminateRunning, whatever policy it was asked for (as an API
// that maps "allow reuse" to "replace"): a running instance asked for
// IDReuseAfterFinished, which must be refused, is terminated instead.
type replacing struct{ simulate.Host }

func (h replacing) StartWith(ctx context.Context, def *dsl.Definition, id string, input any, _ ...engine.StartOption) error {
	return h.Host.(starts).StartWith(ctx, def, id, input, engine.WithIDReuse(engine.IDReuseTerminateRunning)) // the bug
}

func TestHostReplacesARunningInstance(t *testing.T) {
	forSeeds(t, func(t *testing.T) {
		wantCaught(t, simulate.InvIDReuse, func(r *simulate.Recorder) {
			simulate.Check(r, askWF, simulate.Options[request]{Host: func(h simulate.Host) simulate.Host { return replacing{h} }})
		})
	})
}

// signalDropping is a host whose signal-with-start starts the instance
// and drops the event (as an API that starts and then sends, and loses
// the send when the start reports the instance new).
type signalDropping struct{ simulate.Host }

func (h signalDropping) SignalWithStart(ctx context.Context, def *dsl.Definition, id string, input any, _ string, _ any, _ ...engine.SendOption) error {
	return h.Host.Start(ctx, def, id, input) // the bug
}

func TestHostDropsTheSignalOfASignalWithStart(t *testing.T) {
	def := cartDef(func(s *cart) string { return "" })
	forSeeds(t, func(t *testing.T) {
		wantCaught(t, simulate.InvSignalWithStart, func(r *simulate.Recorder) {
			simulate.Check(r, def, simulate.Options[cart]{Host: func(h simulate.Host) simulate.Host { return signalDropping{h} }})
		})
	})
}

// The same wrappers without their bugs pass: the simulator calls them
// and they forward to the engine.
type forwarding struct{ simulate.Host }

func (h forwarding) StartWith(ctx context.Context, def *dsl.Definition, id string, input any, opts ...engine.StartOption) error {
	return h.Host.(starts).StartWith(ctx, def, id, input, opts...)
}

func (h forwarding) SignalWithStart(ctx context.Context, def *dsl.Definition, id string, input any, event string, payload any, opts ...engine.SendOption) error {
	return h.Host.(starts).SignalWithStart(ctx, def, id, input, event, payload, opts...)
}

func (h forwarding) Apply(ctx context.Context, id string, ev interp.Event) (interp.Result, error) {
	return h.Host.Apply(ctx, id, ev)
}

func TestForwardingHostStartsPass(t *testing.T) {
	def := cartDef(func(s *cart) string { return "" })
	forSeeds(t, func(t *testing.T) {
		simulate.Check(t, def, simulate.Options[cart]{Host: func(h simulate.Host) simulate.Host { return forwarding{h} }})
		simulate.Check(t, askWF, simulate.Options[request]{Host: func(h simulate.Host) simulate.Host { return forwarding{h} }})
	})
}
