package engine_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage/memory"
)

// Expense is the state of the expense workflow below.
type Expense struct {
	Who      string
	Amount   int
	Approved bool
	Paid     string
}

// Verdict is the payload of the "review" event.
type Verdict struct{ OK bool }

// expense waits a day for a review; an approved expense is paid by an
// activity.
var expense = dsl.MustCompile[Expense]("expense", dsl.S(
	dsl.Wait("review",
		dsl.On("verdict", dsl.Signal(func(s *Expense, v Verdict) (string, error) {
			s.Approved = v.OK
			return fmt.Sprintf("%s's %d noted", s.Who, s.Amount), nil
		})),
		dsl.On("no review", dsl.After(24*time.Hour), dsl.Return("expired")),
	),
	dsl.If("rejected", func(s *Expense) bool { return !s.Approved }, dsl.Return("rejected")),
	dsl.Call("pay", func(ctx context.Context, s Expense) (string, error) {
		return fmt.Sprintf("paid %d to %s", s.Amount, s.Who), nil
	}, func(s *Expense, receipt string) { s.Paid = receipt }),
	dsl.Return("paid"),
))

// Start an instance, send it an event, let the engine run its activity,
// then read the typed state and the output.
func Example() {
	ctx := context.Background()
	clock := engine.NewFakeClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	e, err := engine.New(memory.New(), engine.WithClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := e.Register(expense); err != nil {
		panic(err)
	}

	if err := e.Start(ctx, expense, "exp-1", Expense{Who: "ada", Amount: 120}); err != nil {
		panic(err)
	}
	var reply string
	if err := e.Send(ctx, "exp-1", "verdict", Verdict{OK: true}, &reply); err != nil {
		panic(err)
	}
	fmt.Println("reply:", reply)

	if err := e.Drain(ctx); err != nil { // runs the "pay" activity
		panic(err)
	}
	s, err := engine.Query[Expense](ctx, e, "exp-1")
	if err != nil {
		panic(err)
	}
	fmt.Println("state:", s.Paid)
	inst, err := e.Get(ctx, "exp-1")
	if err != nil {
		panic(err)
	}
	var out string
	if err := inst.DecodeOutput(&out); err != nil {
		panic(err)
	}
	fmt.Println("status:", inst.Meta.Status, "output:", out)

	err = e.Send(ctx, "exp-1", "verdict", Verdict{OK: false}, nil)
	fmt.Println("again:", err)
	// Output:
	// reply: ada's 120 noted
	// state: paid 120 to ada
	// status: completed output: paid
	// again: engine: send "verdict" to "exp-1": interp: instance finished: it is completed
}

// With a fake clock, Drain and Advance step through time: the review
// expires after a day.
func ExampleEngine_Drain() {
	ctx := context.Background()
	clock := engine.NewFakeClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	e, err := engine.New(memory.New(), engine.WithClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = e.Register(expense)
	_ = e.Start(ctx, expense, "exp-2", Expense{Who: "bo", Amount: 80})

	for _, step := range []time.Duration{0, 23 * time.Hour, time.Hour} {
		clock.Advance(step)
		if err := e.Drain(ctx); err != nil {
			panic(err)
		}
		inst, _ := e.Get(ctx, "exp-2")
		fmt.Println(clock.Now().Format("Jan 2 15:04"), inst.Meta.Status)
	}
	// Output:
	// Jan 1 09:00 running
	// Jan 2 08:00 running
	// Jan 2 09:00 completed
}

// Reminder is the state of the reminder workflow.
type Reminder struct{ To string }

// nudge is a custom event whose Setup asks the host to notify someone.
type nudge struct{}

func (nudge) Handle(s *Reminder, ack string) (string, error) { return "thanks, " + ack, nil }
func (nudge) Setup(s *Reminder) any                          { return "please acknowledge, " + s.To }

var reminder = dsl.MustCompile[Reminder]("reminder",
	dsl.Wait("ack", dsl.On("ack", dsl.Custom[Reminder, string, string]("notify", nudge{}))))

// A SetupHandler performs the setup and teardown effects of a custom event
// type; failures are retried with backoff until it succeeds.
func ExampleEngine_Handle() {
	ctx := context.Background()
	clock := engine.NewFakeClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	e, err := engine.New(memory.New(), engine.WithClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = e.Register(reminder)
	failOnce := true
	var callback uint64 // whoever is notified answers with it
	e.Handle("notify", engine.SetupFuncs{
		SetupFunc: func(ctx context.Context, info engine.EffectInfo) error {
			if failOnce {
				failOnce = false
				return errors.New("mail server down")
			}
			var msg string
			_ = info.Decode(&msg)
			fmt.Printf("setup %s: %q (answer callback %d)\n", info.ID, msg, info.Callback)
			callback = info.Callback
			return nil
		},
		TeardownFunc: func(ctx context.Context, info engine.EffectInfo) error {
			fmt.Printf("teardown %s of callback %d\n", info.ID, info.Callback)
			return nil
		},
	})

	_ = e.Start(ctx, reminder, "rem-1", Reminder{To: "ada"})
	fmt.Println(e.Drain(ctx))
	clock.Advance(time.Second) // the first retry is due after one second
	fmt.Println(e.Drain(ctx))
	var reply string
	_ = e.Deliver(ctx, "rem-1", callback, "ada", &reply)
	fmt.Println(reply)
	fmt.Println(e.Drain(ctx))
	// Output:
	// engine: setup effect rem-1/1/0: mail server down
	// setup rem-1/1/0: "please acknowledge, ada" (answer callback 1)
	// <nil>
	// thanks, ada
	// teardown rem-1/2/1 of callback 1
	// <nil>
}

// Run is the production driver: start it once, in its own goroutine.
func ExampleEngine_Run() {
	done := make(chan string, 1)
	e, err := engine.New(memory.New(), engine.WithFinish(func(ctx context.Context, info engine.EffectInfo) error {
		var out string
		_ = info.Decode(&out)
		select {
		case done <- info.Instance + " " + info.Kind.String() + ": " + out:
		default: // told before: the hook is at least once
		}
		return nil
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = e.Register(napWF)
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- e.Run(ctx) }()

	_ = e.Start(ctx, napWF, "nap-1", Nap{}) // a 50ms timer
	fmt.Println(<-done)
	stop()
	fmt.Println(<-stopped)
	// Output:
	// nap-1 completed: rested
	// <nil>
}
