// Package hostdef holds what a host (the engine) reads from a compiled
// definition beyond dsl's public read-only view: whether an instance's end
// must be ordered after setups and children, and how to run a query on a
// stored state. It reaches the definition's statement tree through
// ast.TreeOf, so that no public package outside dsl and interp has to
// import internal/ast (see internal/ast's TestOnlyTheCoreImportsTheTree).
//
// It is internal for the reason internal/activity is: running a query by
// name and deciding how effects are ordered is the engine's plumbing, not
// an API.
package hostdef

import (
	"errors"
	"fmt"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/ast"
)

// ErrPanic is wrapped by the error [Query] returns when the query function
// panicked; the error reads "panic: " and the panic's value.
var ErrPanic = errors.New("panic")

// ErrNoQuery is wrapped by the error [Query] returns when def has no query
// of that name.
var ErrNoQuery = errors.New("no such query")

// Setups reports whether any wait of def has a custom event with a setup
// (and so a teardown) or any statement starts a child workflow: the effects
// a host orders an instance's end after.
func Setups(def *dsl.Definition) bool { return ast.TreeOf(def).Setups }

// Query runs the query named name of def on an encoded state (as stored)
// and returns its result. Errors: [ErrNoQuery], the codec's error when the
// state does not decode as def's state type, and [ErrPanic] when the query
// function panics.
func Query(def *dsl.Definition, name string, state []byte) (result any, err error) {
	t := ast.TreeOf(def)
	q := t.Queries[name]
	if q == nil {
		return nil, fmt.Errorf("%w: %q in workflow %q", ErrNoQuery, name, t.Name)
	}
	s, err := t.Decode(state)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, fmt.Errorf("%w: %v", ErrPanic, r)
		}
	}()
	return q.Run(s), nil
}
