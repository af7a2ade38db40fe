package simulate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

// PlanResult compares what two definitions make of one event on one
// stored instance: the definition running today and the one about to be
// deployed (with its migrations).
type PlanResult struct {
	Instance string
	Event    string
	Old, New Outcome
}

// Outcome is what one definition does with the event.
type Outcome struct {
	Definition string   `json:"definition"` // name and version
	Error      string   `json:"error,omitempty"`
	Status     string   `json:"status,omitempty"`
	Positions  []string `json:"positions,omitempty"`
	Effects    []string `json:"effects,omitempty"`
	State      any      `json:"state,omitempty"` // as JSON values, so states of different types compare field by field
}

// Plan applies ev to the stored instance (state, meta) under old and under
// new, without writing anything, and returns both outcomes. Under new, the
// instance is first upgraded with new's migrations, as the engine would.
func Plan(old, new *dsl.Definition, state []byte, meta interp.Meta, ev interp.Event) PlanResult {
	return PlanResult{
		Instance: meta.Instance,
		Event:    describeEvent(ev),
		Old:      outcome(old, state, meta, ev),
		New:      outcome(new, state, meta, ev),
	}
}

func outcome(def *dsl.Definition, state []byte, meta interp.Meta, ev interp.Event) Outcome {
	o := Outcome{Definition: fmt.Sprintf("%s v%d", def.Name(), def.Version())}
	res, err := interp.Apply(def, state, meta, ev)
	if err != nil {
		o.Error = err.Error()
		return o
	}
	o.Status = res.Meta.Status.String()
	for _, th := range res.Meta.Threads {
		o.Positions = append(o.Positions, fmt.Sprintf("%s at %q (%s)", th.ID, th.Path, th.Phase))
	}
	for _, e := range res.Effects {
		o.Effects = append(o.Effects, describeEffect(e))
	}
	s := reflect.New(def.StateType())
	if err := codec.UnmarshalWhat("state", res.State, s.Interface()); err == nil {
		o.State = asJSON(s.Interface())
	}
	return o
}

// asJSON turns a value into generic JSON values: field names survive, Go
// types do not, so old and new state types diff field by field.
func asJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func describeEvent(ev interp.Event) string {
	switch ev.Kind {
	case interp.Callback:
		s := fmt.Sprintf("callback %d", ev.Callback)
		if ev.Error != "" {
			s += " failing with " + ev.Error
		} else if len(ev.Payload) > 0 {
			var v any
			if codec.Unmarshal(ev.Payload, &v) == nil {
				s += fmt.Sprintf(" with %v", v)
			}
		}
		return s
	default:
		return ev.Kind.String()
	}
}

func describeEffect(e interp.Effect) string {
	s := e.Kind.String()
	if e.Path != "" {
		s += fmt.Sprintf(" %q", e.Path)
	}
	if e.Event != "" {
		s += " event " + e.Event
	}
	if e.Callback != 0 {
		s += fmt.Sprintf(" callback %d", e.Callback)
	}
	if !e.At.IsZero() {
		s += " at " + e.At.Format("2006-01-02 15:04:05")
	}
	if e.Error != "" {
		s += ": " + e.Error
	}
	if len(e.Data) > 0 && (e.Kind == interp.Reply || e.Kind == interp.Completed || e.Kind == interp.Setup) {
		var v any
		if codec.Unmarshal(e.Data, &v) == nil {
			s += fmt.Sprintf(" %v", v)
		}
	}
	return s
}

// String renders the plan as a readable report with diffs (-old +new).
func (p PlanResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "instance %s, event %s\n", p.Instance, p.Event)
	fmt.Fprintf(&b, "old: %s\nnew: %s\n", p.Old.Definition, p.New.Definition)
	if p.Old.Error != "" || p.New.Error != "" {
		fmt.Fprintf(&b, "\nerrors:\n  old: %s\n  new: %s\n", orNone(p.Old.Error), orNone(p.New.Error))
	}
	section := func(name string, old, new any) {
		if d := cmp.Diff(old, new); d != "" {
			fmt.Fprintf(&b, "\n%s (-old +new):\n%s", name, d)
		} else {
			fmt.Fprintf(&b, "\n%s: the same\n", name)
		}
	}
	section("status", p.Old.Status, p.New.Status)
	section("positions", p.Old.Positions, p.New.Positions)
	section("effects", p.Old.Effects, p.New.Effects)
	section("state", p.Old.State, p.New.State)
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(accepted)"
	}
	return s
}
