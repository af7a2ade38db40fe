package engine_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage/memory"
)

// A host without a run loop: the engine hands "instance X is due at T" to
// a delayed-call service (here a slice standing in for a cloud task
// queue), and the queue's call, at T, processes the instance.
func ExampleWithScheduler() {
	ctx := context.Background()
	clock := engine.NewFakeClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	var queue []engine.Wakeup
	e, err := engine.New(memory.New(), engine.WithClock(clock),
		engine.WithScheduler(func(ctx context.Context, w engine.Wakeup) error {
			queue = append(queue, w) // a real one calls the task queue's API, naming the task w.ID
			return nil
		}))
	if err != nil {
		panic(err)
	}
	if err := e.Register(requestWF); err != nil {
		panic(err)
	}
	e.Handle("ask-manager", engine.SetupFuncs{})
	if err := e.Start(ctx, requestWF, "r", Request{User: "ada"}); err != nil {
		panic(err)
	}
	w, _ := e.ProcessInstance(ctx, "r") // performs the setup and the wake-up
	fmt.Println("effects:", w.Effects)
	for _, wk := range queue {
		fmt.Println("call back", wk.Instance, "at", wk.At.Format(time.Kitchen))
	}

	clock.Set(queue[0].At) // the task queue calls back
	if _, err := e.ProcessInstance(ctx, queue[0].Instance); err != nil {
		panic(err)
	}
	inst, _ := e.Get(ctx, "r")
	var out string
	_ = inst.DecodeOutput(&out)
	fmt.Println(inst.Meta.Status, out)
	// Output:
	// effects: 2
	// call back r at 10:00AM
	// completed gave up
}
