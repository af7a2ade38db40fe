package engine

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/activity"
	"github.com/weftflow/weft/internal/outbox"
)

// ActivityRunner wraps one attempt of a Call activity: info describes the
// RunActivity effect (its ID, path, callback, attempt, the state snapshot
// in Data, the fence token), and run performs the attempt as the engine
// would without a runner, running the definition's function on the
// snapshot (a panic in it is returned as an error wrapping
// [dsl.ErrActivityPanic]). The runner may call run, once or not at all, or
// decide the outcome itself: what it returns is the attempt's result (CBOR
// of the Call's result type) or its error, which the engine delivers as it
// would the function's. A panic in the runner is a failed attempt too.
type ActivityRunner func(ctx context.Context, info EffectInfo, run func(context.Context) ([]byte, error)) ([]byte, error)

// WithActivityRunner makes the engine run activity attempts through run,
// which is handed the definition's function for the attempt; everything
// around the attempt (the check that its result is still wanted, the
// timeout, delivering the result as a transition, acknowledging the
// effect) stays the engine's. It is for simulators and tests that choose
// an attempt's outcome (a stubbed result, a failure, a timeout) while the
// real dispatcher performs the effect, and for hosts that wrap attempts
// (tracing, a limit on concurrent calls). A nil run is invalid.
func WithActivityRunner(run ActivityRunner) Option {
	return func(e *Engine) error {
		if run == nil {
			return invalid("WithActivityRunner", nil, "the runner must not be nil (leave the option out to run the definition's functions)")
		}
		e.runner = run
		return nil
	}
}

// runAttempt runs one attempt of the Call at oe.Path of def: through the
// engine's ActivityRunner if it has one, else the definition's function.
func (e *Engine) runAttempt(ctx context.Context, def *dsl.Definition, info EffectInfo, oe *outbox.Entry) (out []byte, err error) {
	if e.runner == nil {
		return activity.Run(ctx, def, oe.Path, oe.Data)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: activity %q: %v", dsl.ErrActivityPanic, oe.Path, r)
		}
	}()
	path, input := oe.Path, oe.Data
	return e.runner(ctx, info, func(ctx context.Context) ([]byte, error) { return activity.Run(ctx, def, path, input) })
}

// WithoutConflictPause makes the engine reload and retry at once after a
// commit conflict (another process committed the instance first), instead
// of pausing a short random time so that racing processes stop colliding.
// It is for simulators that run several engines over one store in one
// goroutine, where nothing races and the pause is only lost wall time.
func WithoutConflictPause() Option {
	return func(e *Engine) error {
		e.noConflictPause = true
		return nil
	}
}
