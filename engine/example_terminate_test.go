package engine_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage/memory"
)

// Terminate ends an instance at once: no workflow code runs, the teardowns
// of its open setups and the finish notice are performed by the engine,
// and the record keeps who ended it and why. Later events are refused with
// ErrTerminated.
func ExampleEngine_Terminate() {
	ctx := context.Background()
	clock := engine.NewFakeClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	e, err := engine.New(memory.New(), engine.WithClock(clock),
		engine.WithFinish(func(ctx context.Context, info engine.EffectInfo) error {
			fmt.Printf("finish: %s %s (%s)\n", info.Kind, info.Instance, info.Error)
			return nil
		}))
	if err != nil {
		panic(err)
	}
	if err := e.Register(expense); err != nil {
		panic(err)
	}
	if err := e.Start(ctx, expense, "exp-1", Expense{Who: "ada", Amount: 120}); err != nil {
		panic(err)
	}

	if err := e.Terminate(ctx, "exp-1", "duplicate of exp-0", engine.TerminatedBy("ops")); err != nil {
		panic(err)
	}
	if err := e.Drain(ctx); err != nil {
		panic(err)
	}
	inst, err := e.Get(ctx, "exp-1")
	if err != nil {
		panic(err)
	}
	t := inst.Meta.Terminated
	fmt.Println(inst.Meta.Status, "by", t.By, "at", t.At.Format(time.Kitchen)+":", t.Reason)

	err = e.Send(ctx, "exp-1", "verdict", Verdict{OK: true}, nil)
	fmt.Println("send after terminate:", errors.Is(err, engine.ErrTerminated))
	// Output:
	// finish: terminated exp-1 (duplicate of exp-0)
	// terminated by ops at 9:00AM: duplicate of exp-0
	// send after terminate: true
}
