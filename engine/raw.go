package engine

import (
	"bytes"
	"context"
	"fmt"

	"github.com/weftflow/weft/interp"
)

// Apply applies a raw interpreter event to instance id through the engine's
// one commit path: under the instance's lock, load, interp.Apply at the
// clock's time (ev.Time is overwritten), and a compare-and-set commit of the
// record with its outbox effects. It is for simulators and tools that build
// events themselves, such as an activity result carrying an error; hosts
// use Deliver, Send, Resume and Cancel. Start events are refused: use Start.
func (e *Engine) Apply(ctx context.Context, id string, ev interp.Event) (interp.Result, error) {
	if ev.Kind == interp.EventStart {
		return interp.Result{}, fmt.Errorf("engine: apply to %q: %w: use Start", id, interp.ErrBadEvent)
	}
	res, err := e.transition(ctx, id, event(ev))
	if err != nil {
		return interp.Result{}, err
	}
	// The record cache shares res's state and meta: the caller gets
	// copies it may write to.
	res.State = bytes.Clone(res.State)
	res.Meta = cloneMeta(res.Meta)
	return res, nil
}
