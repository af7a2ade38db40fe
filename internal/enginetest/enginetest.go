// Package enginetest holds what the tests of several packages need to make
// engines.
package enginetest

import (
	"testing"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage"
)

// New is engine.New for tests whose options are all valid: an error fails
// tb.
func New(tb testing.TB, store storage.Store, opts ...engine.Option) *engine.Engine {
	tb.Helper()
	e, err := engine.New(store, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}
