package simulate_test

import (
	"fmt"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
)

// Plan shows what an upgrade would do with the next event of a stored
// instance, next to what today's definition does. Here an order waits in
// the kitchen; version 2 replies from the oven and turns each item into a
// name and a quantity.
func ExamplePlan() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	state, _ := codec.Marshal(pizza.Order{Customer: "ann"})
	r, err := interp.Apply(pizza.Workflow, state, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: now, Instance: "order-1"})
	// answer sends the event the instance waits for under that name.
	answer := func(name string, payload any) interp.Event {
		for _, th := range r.Meta.Threads {
			for _, w := range th.Waits {
				if w.Event == name {
					b, _ := codec.Marshal(payload)
					return interp.Event{Kind: interp.EventCallback, Time: now, Callback: w.Callback, Payload: b}
				}
			}
		}
		return interp.Event{}
	}
	for _, ev := range []struct {
		name    string
		payload any
	}{{"add", pizza.Add{Item: "diavola"}}, {"submit", struct{}{}}, {"confirm", pizza.Confirmation{OK: true}}} {
		if err != nil {
			break
		}
		r, err = interp.Apply(pizza.Workflow, r.State, r.Meta, answer(ev.name, ev.payload))
	}
	if err != nil {
		fmt.Println(err)
		return
	}

	fmt.Print(simulate.Plan(pizza.Workflow, pizza.WorkflowV2, r.State, r.Meta, answer("cooked", struct{}{})))
	// Output:
	// instance order-1, event cooked (callback 11) with payload {} at 2026-11-25T12:00:00Z
	// old: pizza v1
	// new: pizza v2
	//
	// status: running under both
	//
	// threads, the same under both:
	//   main at "courier" (waiting)
	//   payment at "payment/charge" (waiting)
	//
	// effects (-old +new):
	// ~ reply "kitchen" event cooked callback 11 true
	//       .Path: "kitchen" -> "oven"
	//   start-timer "courier" event lost callback 14 at 2026-11-25T14:00:00Z
	//
	// state (-old +new):
	// - .Items[0]: "diavola"
	// + .Items[0]: {"Name":"diavola","Qty":1}
	// + .Log: null
	// + .Stamped: false
}
