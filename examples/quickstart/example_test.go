package quickstart_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/quickstart"
	"github.com/weftflow/weft/storage/memory"
)

// The README's hosting snippet, with a stop to read the result.
func Example() {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	var once sync.Once // the finish hook is at least once
	e, err := engine.New(memory.New(), engine.WithFinish(func(ctx context.Context, info engine.EffectInfo) error {
		once.Do(func() { close(done) })
		return nil
	}))
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
	<-done                                                     // the notify activity ran and the workflow returned
	s, _ := engine.Query[quickstart.Approval](ctx, e, "req-1") // the typed state
	inst, _ := e.Get(ctx, "req-1")
	var out string
	_ = inst.DecodeOutput(&out)
	fmt.Println(reply, "|", s.Notified, "|", out)
	stop()
	<-stopped
	// Output:
	// noted | told ada: approved=true | answered
}
