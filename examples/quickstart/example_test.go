package quickstart_test

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/quickstart"
	"github.com/weftflow/weft/storage/memory"
)

// The README's hosting snippet: start, send, and Await the result.
func Example() {
	ctx, stop := context.WithCancel(context.Background())
	e, err := engine.New(memory.New())
	if err != nil {
		stop()
		fmt.Println(err)
		return
	}
	approval := quickstart.Workflow
	if err := e.Register(approval); err != nil {
		panic(err)
	}
	stopped := make(chan error)
	go func() { stopped <- e.Run(ctx) }() // fires timers, runs activities, dispatches effects

	if err := e.Start(ctx, approval, "req-1", quickstart.Approval{}); err != nil {
		panic(err)
	}
	var reply string
	if err := e.Send(ctx, "req-1", "answer", true, &reply); err != nil {
		panic(err)
	}
	var out string
	if err := e.Await(ctx, "req-1", &out); err != nil { // blocks until the workflow returns (or fails: a typed error)
		panic(err)
	}
	s, _ := engine.Query[quickstart.Approval](ctx, e, "req-1") // the typed state
	fmt.Println(reply, "|", s.Notified, "|", out)
	stop()
	<-stopped
	// Output:
	// noted | told ada: approved=true | answered
}
