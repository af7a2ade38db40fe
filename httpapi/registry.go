package httpapi

import (
	"errors"
	"fmt"
	"reflect"
	"sort"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

// Registry describes the workflows a [Handler] serves: each definition with
// the Go types of its start input (the state type), of every custom event's
// payload and reply, and of every activity's result, read from the
// definition itself. A Registry is immutable and safe for concurrent use:
// make one at program start and share it among handlers and engines.
type Registry struct {
	defs map[string]*workflow
}

// workflow is a definition and the types its events take.
type workflow struct {
	def *dsl.Definition
	// events maps a custom event's name to its On nodes, one per Wait
	// that has an On of that name (their payload types may differ).
	events map[string][]dsl.Node
}

// NewRegistry returns a registry of defs. It fails if a definition is nil
// or two have the same name.
func NewRegistry(defs ...*dsl.Definition) (*Registry, error) {
	r := &Registry{defs: map[string]*workflow{}}
	for _, d := range defs {
		if d == nil {
			return nil, errors.New("httpapi: registry: nil definition")
		}
		if r.defs[d.Name()] != nil {
			return nil, fmt.Errorf("httpapi: registry: two definitions named %q", d.Name())
		}
		w := &workflow{def: d, events: map[string][]dsl.Node{}}
		for _, p := range d.Positions() { // sorted: a deterministic order of the nodes of an event
			if n, _ := d.Lookup(p); n.Trigger() == dsl.TriggerCustom {
				w.events[n.Name()] = append(w.events[n.Name()], n)
			}
		}
		r.defs[d.Name()] = w
	}
	return r, nil
}

// Definitions returns the registered definitions, sorted by name, to
// register with an engine.
func (r *Registry) Definitions() []*dsl.Definition {
	out := make([]*dsl.Definition, 0, len(r.defs))
	for _, w := range r.defs {
		out = append(out, w.def)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

func (r *Registry) workflow(name string) *workflow { return r.defs[name] }

// eventTypes are the payload and reply types of one custom event wait.
type eventTypes struct {
	payload, reply reflect.Type
}

// sendTypes returns the types of the custom event named event as the
// instance with meta m would take it: the On of the first thread (in ID
// order, as engine.Send chooses) waiting for it. waiting is false if no
// thread waits for it; known is false if the definition has no custom
// event of that name at all.
func (w *workflow) sendTypes(m *interp.Meta, event string) (t eventTypes, waiting, known bool) {
	ons := w.events[event]
	for _, th := range m.Threads {
		for _, p := range th.Waits {
			if p.Kind != interp.Custom || p.Event != event {
				continue
			}
			if n, _ := w.def.Lookup(onPath(th.Path, event)); n.Trigger() == dsl.TriggerCustom {
				return eventTypes{n.Payload(), n.Reply()}, true, true
			}
			if len(ons) > 0 { // a path the current definition no longer has: go by the name
				return eventTypes{ons[0].Payload(), ons[0].Reply()}, true, true
			}
			return eventTypes{}, true, false
		}
	}
	if len(ons) > 0 {
		return eventTypes{ons[0].Payload(), ons[0].Reply()}, false, true
	}
	return eventTypes{}, false, false
}

// callbackTypes returns what answers callback in the instance with meta
// m: the payload and reply types of a custom event, the result type of an
// activity, or no payload for a timer. pending is false if the instance
// has no such pending callback.
func (w *workflow) callbackTypes(m *interp.Meta, callback uint64) (t eventTypes, kind interp.TriggerKind, pending bool) {
	for _, th := range m.Threads {
		for _, p := range th.Waits {
			if p.Callback != callback {
				continue
			}
			switch p.Kind {
			case interp.Custom:
				t, _, _ := w.sendTypesAt(th.Path, p.Event)
				return t, p.Kind, true
			case interp.Activity:
				if n, _ := w.def.Lookup(th.Path); n.Kind() == dsl.KindCall {
					return eventTypes{payload: n.Output()}, p.Kind, true
				}
			}
			return eventTypes{}, p.Kind, true
		}
	}
	return eventTypes{}, 0, false
}

// sendTypesAt returns the types of the On named event of the Wait at path.
func (w *workflow) sendTypesAt(path, event string) (eventTypes, bool, bool) {
	if n, _ := w.def.Lookup(onPath(path, event)); n.Trigger() == dsl.TriggerCustom {
		return eventTypes{n.Payload(), n.Reply()}, true, true
	}
	if ons := w.events[event]; len(ons) > 0 {
		return eventTypes{ons[0].Payload(), ons[0].Reply()}, true, true
	}
	return eventTypes{}, false, false
}

// onPath is the path of the On named event of the Wait at path.
func onPath(path, event string) string {
	if path == "" {
		return event
	}
	return path + "/" + event
}
