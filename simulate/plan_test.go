package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
)

func TestPlanShowsWhatTheUpgradeChanges(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	state, _ := codec.Marshal(pizza.Order{Customer: "bo", Items: []string{"margherita"}, Submitted: true})
	r, err := interp.Apply(pizza.Workflow, state, interp.Meta{}, interp.Event{Kind: interp.Start, Time: now, Instance: "o1"})
	if err != nil {
		t.Fatal(err)
	}
	// Add, submit, confirm: the order waits in the kitchen.
	for _, step := range []struct {
		event   string
		payload any
	}{{"add", pizza.Add{Item: "funghi"}}, {"submit", struct{}{}}, {"confirm", pizza.Confirmation{OK: true}}} {
		var cb uint64
		for _, p := range r.Meta.Threads[0].Waits {
			if p.Event == step.event {
				cb = p.Callback
			}
		}
		b, _ := codec.Marshal(step.payload)
		if r, err = interp.Apply(pizza.Workflow, r.State, r.Meta, interp.Event{Kind: interp.Callback, Time: now, Callback: cb, Payload: b}); err != nil {
			t.Fatal(err)
		}
	}
	var cooked uint64
	for _, th := range r.Meta.Threads {
		for _, p := range th.Waits {
			if p.Event == "cooked" {
				cooked = p.Callback
			}
		}
	}
	b, _ := codec.Marshal(struct{}{})
	plan := simulate.Plan(pizza.Workflow, pizza.WorkflowV2, r.State, r.Meta, interp.Event{Kind: interp.Callback, Time: now, Callback: cooked, Payload: b})
	if plan.Old.Error != "" || plan.New.Error != "" {
		t.Fatalf("plan errors: %+v", plan)
	}
	text := plan.String()
	for _, want := range []string{
		"old: pizza v1", "new: pizza v2",
		`map[string]any{"Name": string("margherita"), "Qty": float64(1)}`,
		`"Stamped"`, "status: the same", `"kitch"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	// Without the migration the new definition cannot read the instance.
	plan = simulate.Plan(pizza.Workflow, pizza.WorkflowV2NoMigration(), r.State, r.Meta, interp.Event{Kind: interp.Resume, Time: now})
	if !strings.Contains(plan.New.Error, "pizza.OrderV2.Items") {
		t.Fatalf("new error %q, want the state decode failure", plan.New.Error)
	}
}
