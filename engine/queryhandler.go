package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/internal/hostdef"
	"github.com/weftflow/weft/interp"
)

// Errors of [Engine.Query].
var (
	// ErrNoQuery: the instance's definition declares no query of that name
	// (see dsl.Query).
	ErrNoQuery = errors.New("engine: no such query")

	// ErrQueryFailed: the query function panicked. The instance is
	// unchanged.
	ErrQueryFailed = errors.New("engine: query failed")
)

// Query runs the query handler named name (declared with dsl.Query) on
// the last committed state of instance id and decodes its result into out
// (a pointer; nil discards it). It changes nothing and takes no lock: it
// reads what the store holds, running or finished. An instance written by
// an older version of its definition is first migrated in memory, as its
// next event would migrate it, so the query sees the state type it was
// written for.
//
// Errors: storage.ErrNotFound, [ErrUnregistered] when the instance's
// workflow is not registered, [ErrNoQuery], [ErrQueryFailed] when the
// query function panics, errors of interp.Upgrade for an instance that
// cannot be migrated, and codec errors when the state or the result does
// not decode (into out).
func (e *Engine) Query(ctx context.Context, id, name string, out any) error {
	l, err := e.load(ctx, id)
	if err != nil {
		return err
	}
	def, err := e.definitionOf(l.rec.Workflow, id)
	if err != nil {
		return err
	}
	if !slices.Contains(def.Queries(), name) {
		return fmt.Errorf("%w: %q in workflow %q (instance %q)", ErrNoQuery, name, def.Name(), id)
	}
	state := l.rec.State
	if int(max(l.meta.Version, 1)) < def.Version() && !l.meta.Status.Finished() {
		up, err := interp.Upgrade(def, state, l.meta)
		if err != nil {
			return opErr(fmt.Sprintf("query %q", name), "of", id, err)
		}
		state = up.State
	}
	res, err := hostdef.Query(def, name, state)
	if errors.Is(err, hostdef.ErrPanic) {
		return fmt.Errorf("%w: %q of instance %q: %w", ErrQueryFailed, name, id, err)
	}
	if err != nil {
		return opErr(fmt.Sprintf("query %q", name), "of", id, err)
	}
	if out == nil {
		return nil
	}
	b, err := codec.Marshal(res)
	if err != nil {
		return fmt.Errorf("engine: query %q of instance %q: encode result: %w", name, id, err)
	}
	if err := decode.Into("query result", b, out); err != nil {
		return opErr(fmt.Sprintf("query %q", name), "of", id, err)
	}
	return nil
}
