package journal_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/journal"
	"github.com/weftflow/weft/storage/memory"
)

// An engine keeps a journal of an order's workflow; its history reads as
// a timeline, and a new version of the workflow is replayed against it.
func Example() {
	ctx := context.Background()
	clock := engine.NewFakeClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	e, err := engine.New(memory.New(), engine.WithClock(clock),
		engine.WithJournal("order", journal.Policy{Keep: 100}))
	if err != nil {
		panic(err)
	}
	if err := e.Register(orderV1); err != nil {
		panic(err)
	}
	if err := e.Start(ctx, orderV1, "o-1", Order{}); err != nil {
		panic(err)
	}
	clock.Advance(time.Minute)
	if err := e.Send(ctx, "o-1", "pay", 30, nil); err != nil {
		panic(err)
	}
	if err := e.Send(ctx, "o-1", "ship", struct{}{}, nil); err != nil {
		panic(err)
	}
	history, err := e.History(ctx, "o-1", 0, 0)
	if err != nil {
		panic(err)
	}
	for _, en := range history {
		fmt.Println(en)
	}
	// Output:
	// #1 2026-03-01T09:00:00Z started with map[Paid:0 Shipped:false]; thread main starts at loop/next
	// #2 2026-03-01T09:01:00Z event "pay" received at loop/next with 30; emits reply "pay" at loop/next [o-1/2/0]
	// #3 2026-03-01T09:01:00Z event "ship" received at loop/next with map[]; thread main ends (was at loop/next); emits reply "ship" at loop/next [o-1/3/0]; emits completed [o-1/3/1]; now completed
}
