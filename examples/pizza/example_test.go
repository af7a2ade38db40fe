package pizza_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/storage/memory"
)

// A pizza order from cart to door: the customer fills the cart, the manager
// confirms, the payment thread charges through an activity while the kitchen
// cooks, the courier delivers, and the workflow joins the payment.
func Example() {
	ctx := context.Background()
	clock := engine.NewFakeClock(time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC))
	e, err := engine.New(memory.New(), engine.WithClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}
	must(e.Register(pizza.Workflow))
	e.Handle("confirm-order", engine.SetupFuncs{
		SetupFunc: func(ctx context.Context, info engine.EffectInfo) error {
			var ask map[string]any
			_ = info.Decode(&ask)
			fmt.Printf("manager, please confirm %v for %v cents\n", ask["items"], ask["total"])
			return nil
		},
		TeardownFunc: func(ctx context.Context, info engine.EffectInfo) error { return nil },
	})
	must(e.Start(ctx, pizza.Workflow, "order-7", pizza.Order{Customer: "bo"}))

	send := func(event string, payload any) {
		var reply any
		if err := e.Send(ctx, "order-7", event, payload, &reply); err != nil {
			fmt.Println(event+":", err)
			return
		}
		fmt.Println(event+":", reply)
		must(e.Drain(ctx))
	}
	send("submit", struct{}{}) // rejected: the cart is empty
	send("add", pizza.Add{Item: "margherita"})
	send("add", pizza.Add{Item: "diavola"})
	send("submit", struct{}{})
	send("confirm", pizza.Confirmation{OK: true})
	s, _ := engine.Query[pizza.Order](ctx, e, "order-7")
	fmt.Println("receipt:", s.Receipt)
	send("cooked", struct{}{})
	send("delivered", struct{}{})

	inst, _ := e.Get(ctx, "order-7")
	var out string
	_ = inst.DecodeOutput(&out)
	fmt.Println(inst.Meta.Status, out)
	// Output:
	// submit: engine: callback of "order-7": interp: event rejected: callback 3 at "cart/shopping" (thread main): the cart is empty
	// add: 1
	// add: 2
	// submit: 2400
	// manager, please confirm [margherita diavola] for 2400 cents
	// confirm: true
	// receipt: rcpt-bo-2400
	// cooked: true
	// delivered: true
	// completed delivered 2 items to bo, receipt rcpt-bo-2400
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
