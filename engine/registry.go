package engine

import (
	"fmt"
	"maps"

	"github.com/weftflow/weft/dsl"
)

// registry is what Register and Handle made known. A published registry is
// never changed: Register and Handle copy it (under Engine.mu) and publish
// the copy. The lookups of every transition and effect are one atomic load
// and write nothing (an RWMutex's read lock writes its counter, shared by
// every worker), and a Register that fails leaves no trace.
type registry struct {
	defs       map[string]*dsl.Definition // by name
	childNames map[string]bool            // workflows some definition starts as children (child.go)
	handlers   map[string]SetupHandler    // by event type (handler.go)
}

// clone returns a copy of r to change and publish.
func (r *registry) clone() *registry {
	return &registry{defs: maps.Clone(r.defs), childNames: maps.Clone(r.childNames), handlers: maps.Clone(r.handlers)}
}

// add adds defs to r (a copy not yet published), after the checks of
// Register.
func (r *registry) add(defs []*dsl.Definition) error {
	for i, d := range defs {
		if r.defs[d.Name()] != nil || namedIn(defs[:i], d.Name()) {
			return fmt.Errorf("%w: %q", ErrDuplicate, d.Name())
		}
	}
	for _, d := range defs {
		for _, c := range d.Children() {
			if !namedIn(defs, c.Name()) && r.defs[c.Name()] == nil {
				return fmt.Errorf("%w: workflow %q starts child workflow %q: register it first or with it", ErrUnregistered, d.Name(), c.Name())
			}
			if r.childNames == nil {
				r.childNames = map[string]bool{}
			}
			r.childNames[c.Name()] = true
		}
	}
	if r.defs == nil {
		r.defs = make(map[string]*dsl.Definition, len(defs))
	}
	for _, d := range defs {
		r.defs[d.Name()] = d
	}
	return nil
}

// namedIn reports whether one of defs is named name. (Definitions are
// registered a few at a time: a scan costs less than building a set.)
func namedIn(defs []*dsl.Definition, name string) bool {
	for _, d := range defs {
		if d.Name() == name {
			return true
		}
	}
	return false
}

// definition returns the registered definition named name.
func (e *Engine) definition(name string) *dsl.Definition {
	return e.reg.Load().defs[name]
}

// isChildWorkflow reports whether some registered definition starts
// instances of workflow as children: only their ends are looked up for a
// parent to tell.
func (e *Engine) isChildWorkflow(workflow string) bool {
	return e.reg.Load().childNames[workflow]
}

// handler returns the handler registered for event type typ, or nil.
func (e *Engine) handler(typ string) SetupHandler {
	return e.reg.Load().handlers[typ]
}
