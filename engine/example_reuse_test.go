package engine_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage/memory"
)

// By default a taken instance ID is refused for good. WithIDReuse allows a
// new run once the previous one finished (IDReuseAfterFinished), or ends a
// running one first (IDReuseTerminateRunning).
func ExampleWithIDReuse() {
	ctx := context.Background()
	clock := engine.NewFakeClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	e, err := engine.New(memory.New(), engine.WithClock(clock))
	if err != nil {
		panic(err)
	}
	if err := e.Register(expense); err != nil {
		panic(err)
	}
	if err := e.Start(ctx, expense, "monthly-report", Expense{Who: "ada", Amount: 10}); err != nil {
		panic(err)
	}
	again := engine.WithIDReuse(engine.IDReuseAfterFinished)
	err = e.Start(ctx, expense, "monthly-report", Expense{Who: "bo", Amount: 20}, again)
	fmt.Println("while it runs:", errors.Is(err, engine.ErrExists))

	clock.Advance(25 * time.Hour) // no review: the first run expires
	if err := e.Drain(ctx); err != nil {
		panic(err)
	}
	if err := e.Start(ctx, expense, "monthly-report", Expense{Who: "bo", Amount: 20}, again); err != nil {
		panic(err)
	}
	s, err := engine.Query[Expense](ctx, e, "monthly-report")
	if err != nil {
		panic(err)
	}
	fmt.Println("after it finished, a new run for", s.Who)

	err = e.Start(ctx, expense, "monthly-report", Expense{Who: "cy", Amount: 30}, engine.WithIDReuse(engine.IDReuseTerminateRunning))
	s, _ = engine.Query[Expense](ctx, e, "monthly-report")
	fmt.Println("terminating the running one:", err, s.Who)
	// Output:
	// while it runs: true
	// after it finished, a new run for bo
	// terminating the running one: <nil> cy
}
