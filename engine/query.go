package engine

import (
	"context"
	"fmt"
	"reflect"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// Instance is a stored workflow instance as the engine reads it.
type Instance struct {
	ID       string
	Workflow string      // the definition's name
	Version  uint64      // the store's compare-and-set version: one more per accepted event
	Meta     interp.Meta // positions, pending waits, status, due time, failure
	State    []byte      // CBOR of the state; see [Query]
	Output   []byte      // CBOR of the Return value once completed; see [Instance.DecodeOutput]
}

// DecodeOutput decodes the instance's output (the value of the Return that
// completed it) into v, a pointer. It returns [ErrNoOutput] unless the
// instance has completed.
func (i Instance) DecodeOutput(v any) error {
	if i.Meta.Status != interp.StatusCompleted {
		return fmt.Errorf("%w: instance %q is %s", ErrNoOutput, i.ID, i.Meta.Status)
	}
	return decode.Into("output", i.Output, v)
}

// Get returns instance id. It works for instances of any workflow, even one
// not registered with this engine. Errors: storage.ErrNotFound, and codec
// errors (codec.ErrCorrupt, codec.ErrFormat) for a record it cannot read.
func (e *Engine) Get(ctx context.Context, id string) (Instance, error) {
	l, err := e.load(ctx, id)
	if err != nil {
		return Instance{}, err
	}
	return l.instance(), nil
}

func (l *loaded) instance() Instance {
	return Instance{
		ID:       l.stored.ID,
		Workflow: l.rec.Workflow,
		Version:  l.stored.Version,
		Meta:     l.meta,
		State:    l.rec.State,
		Output:   l.meta.Output,
	}
}

// Query returns the state of instance id decoded as S, which must be the
// workflow's state type (otherwise a *[StateTypeError]). The workflow must
// be registered ([ErrUnregistered]). It reads the last committed state and
// changes nothing.
func Query[S any](ctx context.Context, e *Engine, id string) (S, error) {
	var s S
	l, err := e.load(ctx, id)
	if err != nil {
		return s, err
	}
	def, err := e.definitionOf(l.rec.Workflow, id)
	if err != nil {
		return s, err
	}
	if t := reflect.TypeFor[S](); t != def.StateType() {
		return s, &StateTypeError{Workflow: def.Name(), What: "query", Want: def.StateType(), Got: t}
	}
	if err := decode.Into("state", l.rec.State, &s); err != nil {
		return s, opErr("", "", id, err)
	}
	return s, nil
}

// List returns up to limit instances with IDs greater than after, in
// byte-wise ID order; pass the last ID of a page to get the next. limit must
// be positive (storage.ErrInvalid). Like [Engine.Get] it needs no
// registered definitions.
func (e *Engine) List(ctx context.Context, after string, limit int) (_ []Instance, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = e.recovered("", "", "list", r)
		}
	}()
	stored, err := e.store.List(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	out := make([]Instance, 0, len(stored))
	for _, si := range stored {
		l, err := decodeStored(si)
		if err != nil {
			return nil, err
		}
		out = append(out, l.instance())
	}
	return out, nil
}

func decodeStored(si storage.Instance) (loaded, error) {
	// The store's Data is ours (it copies on every read), and no one
	// writes to it: the record's parts need no copies of their own.
	rec, err := codec.DecodeRecordAliasing(si.Data)
	if err != nil {
		return loaded{}, opErr("", "", si.ID, err)
	}
	m, err := interp.DecodeMeta(rec.Meta)
	if err != nil {
		return loaded{}, opErr("", "", si.ID, err)
	}
	return loaded{stored: si, rec: rec, meta: m}, nil
}
