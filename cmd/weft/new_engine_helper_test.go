package main

import (
	"testing"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage"
)

// newEngine is engine.New for tests, whose options are all valid.
func newEngine(tb testing.TB, store storage.Store, opts ...engine.Option) *engine.Engine {
	tb.Helper()
	e, err := engine.New(store, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}
