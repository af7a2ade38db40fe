package engine_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// Ticket is the state of the ticket workflow below.
type Ticket struct{ Closed bool }

// ticket waits for "close", then ends.
var ticket = dsl.MustCompile[Ticket]("ticket", dsl.S(
	dsl.Wait("open", dsl.On("close", dsl.Signal(func(s *Ticket, _ string) (string, error) {
		s.Closed = true
		return "closed", nil
	}))),
))

// List instances by workflow and status, a page at a time, and count them
// per status.
func ExampleEngine_Find() {
	ctx := context.Background()
	e, err := engine.New(memory.New())
	if err != nil {
		panic(err)
	}
	if err := e.Register(ticket); err != nil {
		panic(err)
	}
	for i := range 5 {
		if err := e.Start(ctx, ticket, fmt.Sprintf("t-%d", i), Ticket{}); err != nil {
			panic(err)
		}
	}
	if err := e.Send(ctx, "t-3", "close", "", nil); err != nil {
		panic(err)
	}

	q := storage.Query{Filter: storage.Filter{Workflow: "ticket", Status: "running"}, Limit: 2}
	for {
		page, err := e.Find(ctx, q)
		if err != nil {
			panic(err)
		}
		for _, inst := range page.Instances {
			fmt.Println(inst.ID, inst.Meta.Status)
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	counts, err := e.Count(ctx, storage.Filter{Workflow: "ticket"})
	if err != nil {
		panic(err)
	}
	fmt.Println(counts)
	// Output:
	// t-0 running
	// t-1 running
	// t-2 running
	// t-4 running
	// map[completed:1 running:4]
}

// Keep finished instances for a week, then delete them. Run does it in
// the background; GC does it now. An instance goes only once the effects
// it asked for are performed (here the Completed effect, which Drain
// performs).
func ExampleEngine_GC() {
	ctx := context.Background()
	clock := engine.NewFakeClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	e, err := engine.New(memory.New(), engine.WithClock(clock), engine.WithRetention(7*24*time.Hour))
	if err != nil {
		panic(err)
	}
	if err := e.Register(ticket); err != nil {
		panic(err)
	}
	if err := e.Start(ctx, ticket, "t-1", Ticket{}); err != nil {
		panic(err)
	}
	if err := e.Send(ctx, "t-1", "close", "", nil); err != nil {
		panic(err)
	}
	clock.Advance(8 * 24 * time.Hour)
	rep, err := e.GC(ctx)
	fmt.Printf("%+v %v\n", rep, err) // its Completed effect is not performed yet

	if err := e.Drain(ctx); err != nil {
		panic(err)
	}
	rep, err = e.GC(ctx)
	fmt.Printf("%+v %v\n", rep, err)
	_, err = e.Get(ctx, "t-1")
	fmt.Println(err)
	// Output:
	// {Deleted:0 Held:1 Dated:0} <nil>
	// {Deleted:1 Held:0 Dated:0} <nil>
	// engine: storage: load "t-1": instance not found
}
