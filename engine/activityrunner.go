package engine

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/outbox"
)

// ActivityRunner runs one attempt of a Call activity in place of the
// definition's function: info describes the RunActivity effect (its ID,
// path, callback, attempt, the state snapshot in Data, the fence token).
// It returns the attempt's result (CBOR of the Call's result type) or its
// error, which the engine delivers as it would the function's.
type ActivityRunner func(ctx context.Context, def *dsl.Definition, info EffectInfo) ([]byte, error)

// WithActivityRunner makes the engine run activity attempts through run
// instead of calling def.RunActivity itself; everything around the attempt
// (the check that its result is still wanted, the timeout, delivering the
// result as a transition, acknowledging the effect) stays the engine's.
// It is for simulators and tests that choose an attempt's outcome (a
// stubbed result, a failure, a timeout) while the real dispatcher performs
// the effect. A nil run is invalid.
func WithActivityRunner(run ActivityRunner) Option {
	return func(e *Engine) error {
		if run == nil {
			return invalid("WithActivityRunner", nil, "the runner must not be nil (leave the option out to run the definition's functions)")
		}
		e.runner = run
		return nil
	}
}

// runAttempt runs one attempt: through the engine's ActivityRunner if it
// has one, else the definition's function.
func (e *Engine) runAttempt(ctx context.Context, def *dsl.Definition, info EffectInfo, oe *outbox.Entry) (out []byte, err error) {
	if e.runner == nil {
		return def.RunActivity(ctx, oe.Path, oe.Data)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: activity %q: %v", dsl.ErrActivityPanic, oe.Path, r)
		}
	}()
	return e.runner(ctx, def, info)
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
