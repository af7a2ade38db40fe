package simulate_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
	"pgregory.net/rapid"
)

var planTime = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// pizzaAt starts a version 1 order for customer and sends it the events,
// each with its payload, and returns the stored instance.
func pizzaAt(t *testing.T, customer string, events ...any) interp.Result {
	t.Helper()
	state, err := codec.Marshal(pizza.Order{Customer: customer})
	if err != nil {
		t.Fatal(err)
	}
	r, err := interp.Apply(pizza.Workflow, state, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: planTime, Instance: customer})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(events); i += 2 {
		ev := callback(t, r.Meta, events[i].(string), events[i+1])
		if r, err = interp.Apply(pizza.Workflow, r.State, r.Meta, ev); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// callback is the event answering the wait named name, with payload.
func callback(t *testing.T, m interp.Meta, name string, payload any) interp.Event {
	t.Helper()
	for _, th := range m.Threads {
		for _, w := range th.Waits {
			if w.Event == name {
				b, err := codec.Marshal(payload)
				if err != nil {
					t.Fatal(err)
				}
				return interp.Event{Kind: interp.EventCallback, Time: planTime, Callback: w.Callback, Payload: b}
			}
		}
	}
	t.Fatalf("the instance waits for no %q", name)
	return interp.Event{}
}

// The report of a plan, as a person reads it (weft plan prints the same).
func TestPlanString(t *testing.T) {
	empty := struct{}{}
	kitchen := pizzaAt(t, "ann", "add", pizza.Add{Item: "diavola"}, "submit", empty, "confirm", pizza.Confirmation{OK: true})
	shopping := pizzaAt(t, "bo", "add", pizza.Add{Item: "funghi"})
	for _, c := range []struct {
		name     string
		old, new *dsl.Definition
		at       interp.Result
		event    func(m interp.Meta) interp.Event
		want     string
	}{{
		// The reply moves from kitchen to oven; the items change type.
		name: "an upgrade", old: pizza.Workflow, new: pizza.WorkflowV2, at: kitchen,
		event: func(m interp.Meta) interp.Event { return callback(t, m, "cooked", empty) },
		want: `instance ann, event cooked (callback 11) with payload {} at 2026-11-25T12:00:00Z
old: pizza v1
new: pizza v2

status: running under both

threads, the same under both:
  main at "courier" (waiting)
  payment at "payment/charge" (waiting)

effects (-old +new):
~ reply "kitchen" event cooked callback 11 true
      .Path: "kitchen" -> "oven"
  start-timer "courier" event lost callback 14 at 2026-11-25T14:00:00Z

state (-old +new):
- .Items[0]: "diavola"
+ .Items[0]: {"Name":"diavola","Qty":1}
+ .Log: null
+ .Stamped: false
`,
	}, {
		// Version 2 has no shopping wait: its side cannot take the event,
		// and everything the old side has is listed as removed.
		name: "the new side refuses", old: pizza.Workflow, new: pizza.WorkflowV2, at: shopping,
		event: func(m interp.Meta) interp.Event { return callback(t, m, "add", pizza.Add{Item: "funghi"}) },
		want: `instance bo, event add (callback 5) with payload {"Item":"funghi"} at 2026-11-25T12:00:00Z
old: pizza v1
new: pizza v2

errors:
  old: (accepted)
  new: interp: stale callback: callback 5

status: running -> (none)

threads (-old +new):
- main at "cart/shopping" (waiting)

effects (-old +new):
- reply "cart/shopping" event add callback 5 2
- cancel-timer "cart/shopping" event abandoned callback 8
- start-timer "cart/shopping" event abandoned callback 12 at 2026-11-26T12:00:00Z

state (-old +new):
- .Confirmed: false
- .Cooked: false
- .Customer: "bo"
- .Delivered: false
- .Items: ["funghi","funghi"]
- .Receipt: ""
- .Submitted: false
`,
	}, {
		name: "no change", old: pizza.Workflow, new: pizza.Workflow, at: kitchen,
		event: func(interp.Meta) interp.Event { return interp.Event{Kind: interp.EventCancel, Time: planTime} },
		want: `instance ann, event cancel at 2026-11-25T12:00:00Z
old: pizza v1
new: pizza v1

status: canceled under both

threads: none under either

effects, the same under both:
  cancel-activity "payment/charge" callback 12
  canceled

state: the same under both
`,
	}, {
		name: "neither side", old: pizza.Workflow, new: pizza.WorkflowV2, at: kitchen,
		event: func(interp.Meta) interp.Event {
			return interp.Event{Kind: interp.EventCallback, Time: planTime, Callback: 99, Error: "boom"}
		},
		want: `instance ann, event callback 99 failing with boom at 2026-11-25T12:00:00Z
old: pizza v1
new: pizza v2

errors:
  old: interp: unknown callback: callback 99
  new: interp: unknown callback: callback 99

Neither definition applies the event: nothing to compare.
`,
	}} {
		t.Run(c.name, func(t *testing.T) {
			plan := simulate.Plan(c.old, c.new, c.at.State, c.at.Meta, c.event(c.at.Meta))
			if diff := cmp.Diff(c.want, plan.String()); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			// A plan is plain data: decoded from its JSON, it reads the same.
			b, err := json.Marshal(plan)
			if err != nil {
				t.Fatal(err)
			}
			var back simulate.PlanResult
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(plan.String(), back.String()); diff != "" {
				t.Errorf("the plan decoded from JSON reads differently (-before +after):\n%s", diff)
			}
		})
	}
}

func TestPlanWithoutTheMigration(t *testing.T) {
	kitchen := pizzaAt(t, "ann", "add", pizza.Add{Item: "diavola"}, "submit", struct{}{}, "confirm", pizza.Confirmation{OK: true})
	plan := simulate.Plan(pizza.Workflow, pizza.WorkflowV2NoMigration(), kitchen.State, kitchen.Meta, callback(t, kitchen.Meta, "cooked", struct{}{}))
	// The new definition cannot read the instance.
	if !strings.Contains(plan.New.Error, "pizza.OrderV2.Items") {
		t.Fatalf("new error %q, want the state decode failure", plan.New.Error)
	}
	// The old side's fields are listed as only on that side.
	text := plan.String()
	for _, want := range []string{"errors:\n  old: (accepted)\n  new: interp: corrupt instance", "status: running -> (none)", "- .Customer: \"ann\""} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%s", want, text)
		}
	}
}

// A plan built by hand: threads pair by ID and effects by kind, and a
// changed one lists its changed fields; numbers compare by value whatever
// their Go type.
func TestPlanStringOfHandBuiltPlan(t *testing.T) {
	plan := simulate.PlanResult{
		Instance: "o1", Event: "resume",
		Old: simulate.Outcome{
			Definition: "w v1", Status: "running",
			Threads: []simulate.PlanThread{
				{ID: "main", Path: "a", Phase: "waiting"},
				{ID: "main/1", Path: "b", Phase: "running"},
			},
			Effects: []simulate.PlanEffect{
				{Kind: "run-activity", Path: "charge", Attempt: 1, Data: map[string]any{"Cents": 100}},
				{Kind: "cancel-timer", Path: "a", Event: "late", Callback: 3},
			},
			State: map[string]any{"Cart": []any{map[string]any{"Qty": 1}, map[string]any{"Qty": 2}}, "N": 7},
		},
		New: simulate.Outcome{
			Definition: "w v2", Status: "running",
			Threads: []simulate.PlanThread{
				{ID: "main", Path: "a", Phase: "waiting"},
				{ID: "main/1", Path: "b", Phase: "waiting", Waits: []string{"custom go (callback 4)"}},
			},
			Effects: []simulate.PlanEffect{
				{Kind: "setup", Path: "a", Type: "go", Callback: 4},
				{Kind: "run-activity", Path: "charge", Attempt: 1, Data: map[string]any{"Cents": 120}},
			},
			State: map[string]any{"Cart": []any{map[string]any{"Qty": 1}, map[string]any{"Qty": 3}}, "N": 7.0},
		},
	}
	want := `instance o1, event resume
old: w v1
new: w v2

status: running under both

threads (-old +new):
  main at "a" (waiting)
~ main/1 at "b" (running)
      .Phase: "running" -> "waiting"
    + .Waits: ["custom go (callback 4)"]

effects (-old +new):
+ setup "a" callback 4
~ run-activity "charge" attempt 1
      .Data.Cents: 100 -> 120
- cancel-timer "a" event late callback 3

state (-old +new):
  .Cart[1].Qty: 2 -> 3
`
	if diff := cmp.Diff(want, plan.String()); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

// outcomeGen draws outcomes with a few threads and effects and a small
// state, from few values, so that two draws often share elements.
func outcomeGen() *rapid.Generator[simulate.Outcome] {
	word := rapid.SampledFrom([]string{"a", "b", "c/d"})
	return rapid.Custom(func(t *rapid.T) simulate.Outcome {
		o := simulate.Outcome{Definition: "w v1", Status: rapid.SampledFrom([]string{"running", "completed"}).Draw(t, "status")}
		for _, id := range rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"main", "main/1", "main/2"}), 0, 3, rapid.ID[string]).Draw(t, "threads") {
			o.Threads = append(o.Threads, simulate.PlanThread{ID: id, Path: word.Draw(t, "path"),
				Phase: rapid.SampledFrom([]string{"waiting", "running"}).Draw(t, "phase")})
		}
		for range rapid.IntRange(0, 4).Draw(t, "effects") {
			o.Effects = append(o.Effects, simulate.PlanEffect{Kind: rapid.SampledFrom([]string{"reply", "start-timer", "setup"}).Draw(t, "kind"),
				Path: word.Draw(t, "path"), Callback: rapid.Uint64Range(0, 3).Draw(t, "callback"),
				Data: rapid.SampledFrom([]any{nil, 1, "x", []any{1, 2}, map[string]any{"K": 1.5}}).Draw(t, "data")})
		}
		state := map[string]any{}
		for _, k := range rapid.SliceOfNDistinct(word, 0, 3, rapid.ID[string]).Draw(t, "fields") {
			state[k] = rapid.SampledFrom([]any{nil, true, 2, "s", []any{"x", "y"}}).Draw(t, "value")
		}
		o.State = state
		return o
	})
}

// A report marks a difference exactly where the outcomes differ, reads
// the same on every call, and the same after a JSON round trip.
func TestPlanStringProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		old := outcomeGen().Draw(t, "old")
		new := outcomeGen().Draw(t, "new")
		if rapid.Bool().Draw(t, "same") {
			new = old
		}
		plan := simulate.PlanResult{Instance: "i", Event: "resume", Old: old, New: new}
		text := plan.String()
		if text != plan.String() {
			t.Fatal("not deterministic")
		}
		checkPlanSections(t, plan, text)
		b, err := json.Marshal(plan)
		if err != nil {
			t.Fatal(err)
		}
		var back simulate.PlanResult
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if got := back.String(); got != text {
			t.Fatalf("after a JSON round trip (-before +after):\n%s", cmp.Diff(text, got))
		}
	})
}

// checkPlanSections checks each section of a report against the outcomes:
// a section says the parts differ exactly when they do and then shows a
// change; a list shows every old element in order (as "  ", "- " or "~ "),
// and as many new ones; a changed element is followed by its changed
// fields.
func checkPlanSections(t *rapid.T, plan simulate.PlanResult, text string) {
	lines := func(xs []fmt.Stringer) []string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = x.String()
		}
		return out
	}
	var ot, nt, oe, ne []fmt.Stringer
	for _, x := range plan.Old.Threads {
		ot = append(ot, x)
	}
	for _, x := range plan.New.Threads {
		nt = append(nt, x)
	}
	for _, x := range plan.Old.Effects {
		oe = append(oe, x)
	}
	for _, x := range plan.New.Effects {
		ne = append(ne, x)
	}
	parts := map[string]struct {
		differs  bool
		old, new []string // nil for the state
	}{
		"threads": {!cmp.Equal(plan.Old.Threads, plan.New.Threads), lines(ot), lines(nt)},
		"effects": {!cmp.Equal(plan.Old.Effects, plan.New.Effects), lines(oe), lines(ne)},
		"state":   {!cmp.Equal(plan.Old.State, plan.New.State), nil, nil},
	}
	seen := 0
	for _, sec := range strings.Split(strings.TrimSuffix(text, "\n"), "\n\n") {
		ls := strings.Split(sec, "\n")
		name, _, _ := strings.Cut(ls[0], " ")
		part, ok := parts[strings.TrimRight(name, ":,")]
		if !ok {
			continue
		}
		seen++
		header, body := ls[0], ls[1:]
		if strings.HasSuffix(header, "(-old +new):") != part.differs {
			t.Fatalf("%q, but the parts differ: %v:\n%s", header, part.differs, text)
		}
		changed := name == "state" && len(body) > 0 // every line of the state is a change
		for _, l := range body {
			if !strings.HasPrefix(l, "  ") || strings.HasPrefix(l, "    ") {
				changed = true
			}
		}
		if changed != part.differs {
			t.Fatalf("section %q shows a change: %v, but the parts differ: %v:\n%s", header, changed, part.differs, text)
		}
		if name == "state" {
			continue
		}
		var olds, news []string
		for i, l := range body {
			if strings.HasPrefix(l, "    ") {
				continue // a changed field
			}
			mark, el := l[:2], l[2:]
			if mark != "+ " {
				olds = append(olds, el)
			}
			if mark != "- " {
				news = append(news, el)
			}
			if mark == "~ " && (i+1 == len(body) || !strings.HasPrefix(body[i+1], "    ")) {
				t.Fatalf("changed element %q shows no changed field:\n%s", el, text)
			}
		}
		if !cmp.Equal(olds, part.old, cmpopts.EquateEmpty()) || len(news) != len(part.new) {
			t.Fatalf("%s: the old elements read %q, want %q; %d new, want %d:\n%s", name, olds, part.old, len(news), len(part.new), text)
		}
	}
	if seen != len(parts) {
		t.Fatalf("%d of the %d sections:\n%s", seen, len(parts), text)
	}
}
