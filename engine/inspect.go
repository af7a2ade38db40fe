package engine

import (
	"sort"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/storage"
)

// Definitions returns the registered definitions, sorted by name: for
// tools that show an engine's workflows (package inspector).
func (e *Engine) Definitions() []*dsl.Definition {
	defs := e.reg.Load().defs
	out := make([]*dsl.Definition, 0, len(defs))
	for _, d := range defs {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Store returns the store the engine was made with, for tools that read
// it directly next to the engine (dead letters, the outbox, the upgrade
// verifier of package simulate). Writing to it behind the engine's back
// breaks the engine's guarantees: change instances through the engine.
func (e *Engine) Store() storage.Store { return e.store }
