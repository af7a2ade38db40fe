package approval_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/storage/memory"
)

// The approval workflow end to end on the in-memory store with a fake
// clock: the manager is asked (setup effect), a reminder fires after five
// minutes, the manager approves, the user is notified by an activity.
func Example() {
	ctx := context.Background()
	clock := engine.NewFakeClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	e, err := engine.New(memory.New(), engine.WithClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := e.Register(approval.Workflow); err != nil {
		panic(err)
	}
	e.Handle("ask-manager", engine.SetupFuncs{
		SetupFunc: func(ctx context.Context, info engine.EffectInfo) error {
			var ask map[string]any
			_ = info.Decode(&ask)
			fmt.Printf("ask the manager about %v's %v (%s)\n", ask["user"], ask["amount"], info.ID)
			return nil
		},
		TeardownFunc: func(ctx context.Context, info engine.EffectInfo) error {
			fmt.Println("withdraw the question", info.ID)
			return nil
		},
	})

	must(e.Start(ctx, approval.Workflow, "req-1", approval.Request{ID: "req-1", User: "ada", Amount: 300}))
	must(e.Drain(ctx))

	clock.Advance(5 * time.Minute)
	must(e.Drain(ctx))
	s, _ := engine.Query[approval.Request](ctx, e, "req-1")
	fmt.Println("reminded:", s.Reminded)

	var reply string
	must(e.Send(ctx, "req-1", "decide", approval.Decision{Approve: true}, &reply))
	fmt.Println("reply:", reply)
	must(e.Drain(ctx)) // runs the notify activity, then finishes

	inst, _ := e.Get(ctx, "req-1")
	var out string
	_ = inst.DecodeOutput(&out)
	s, _ = engine.Query[approval.Request](ctx, e, "req-1")
	fmt.Println(inst.Meta.Status, out)
	fmt.Println(s.Notified)
	// Output:
	// ask the manager about ada's 300 (req-1/1/1)
	// reminded: true
	// reply: approved ada's request for 300
	// withdraw the question req-1/3/2
	// completed approved
	// to ada: your request req-1 is approved
}

// A denial without a reason is rejected by the handler: nothing changes and
// the wait stays pending.
func Example_rejected() {
	ctx := context.Background()
	e, err := engine.New(memory.New(), engine.WithClock(engine.NewFakeClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))))
	if err != nil {
		fmt.Println(err)
		return
	}
	must(e.Register(approval.Workflow))
	must(e.Start(ctx, approval.Workflow, "req-2", approval.Request{ID: "req-2", User: "bo", Amount: 50}))
	err = e.Send(ctx, "req-2", "decide", approval.Decision{Approve: false}, nil)
	fmt.Println(err)
	inst, _ := e.Get(ctx, "req-2")
	fmt.Println(inst.Meta.Status, inst.Meta.Threads[0].Path)
	// Output:
	// engine: callback of "req-2": interp: event rejected: callback 2 at "decision" (thread main): a denial needs a reason
	// running decision
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
