package engine_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage/memory"
)

// Tab is the state of the tab workflow: orders arrive once the tab is
// opened, until it is paid.
type Tab struct {
	Orders []string
	Total  int
}

var tab = dsl.MustCompile[Tab]("tab", dsl.S(
	dsl.Wait("open", dsl.On("open", dsl.Signal(func(s *Tab, _ bool) (bool, error) { return true, nil }))),
	dsl.For("ordering", dsl.Wait("next",
		dsl.On("order", dsl.Signal(func(s *Tab, item string) (int, error) {
			s.Orders = append(s.Orders, item)
			s.Total += 4
			return s.Total, nil
		})),
		dsl.On("pay", dsl.Signal(func(s *Tab, amount int) (int, error) {
			if amount < s.Total {
				return 0, fmt.Errorf("%d is short of %d", amount, s.Total)
			}
			return amount - s.Total, nil
		}), dsl.Break()),
		dsl.On("walk out", dsl.Signal(func(s *Tab, _ bool) (bool, error) { return true, nil }),
			dsl.Fail(errors.New("the customer left without paying"))),
	)),
	dsl.ReturnWith(func(s *Tab) string { return fmt.Sprintf("%d orders, %d paid", len(s.Orders), s.Total) }),
),
	dsl.Query("total", func(s *Tab) int { return s.Total }),
)

func tabEngine() *engine.Engine {
	e, err := engine.New(memory.New())
	if err != nil {
		panic(err)
	}
	if err := e.Register(tab); err != nil {
		panic(err)
	}
	return e
}

// Events sent before the workflow waits for them are buffered in the
// instance's inbox, and delivered in order when a wait that takes them
// opens.
func ExampleEngine_Send_buffered() {
	ctx := context.Background()
	e := tabEngine()
	if err := e.Start(ctx, tab, "t1", Tab{}); err != nil {
		panic(err)
	}
	var buffered bool
	for _, item := range []string{"coffee", "cake"} {
		if err := e.Send(ctx, "t1", "order", item, nil, engine.ReportBuffered(&buffered)); err != nil {
			panic(err)
		}
	}
	inst, _ := e.Get(ctx, "t1")
	fmt.Println("buffered:", buffered, len(inst.Meta.Inbox))
	// NoBuffer refuses instead.
	err := e.Send(ctx, "t1", "order", "tea", nil, engine.NoBuffer())
	fmt.Println(errors.Is(err, engine.ErrNoSuchWait))

	if err := e.Send(ctx, "t1", "open", true, nil); err != nil { // the order wait opens and takes both
		panic(err)
	}
	var total int
	if err := e.Query(ctx, "t1", "total", &total); err != nil {
		panic(err)
	}
	fmt.Println("total:", total)
	// Output:
	// buffered: true 2
	// true
	// total: 8
}

// SignalWithStart starts the instance with its first event in one commit,
// or sends the event if the instance exists.
func ExampleEngine_SignalWithStart() {
	ctx := context.Background()
	e := tabEngine()
	for _, item := range []string{"coffee", "tea"} { // the first call starts the tab
		if err := e.SignalWithStart(ctx, tab, "t1", Tab{}, "order", item); err != nil {
			panic(err)
		}
	}
	inst, _ := e.Get(ctx, "t1")
	fmt.Println(inst.Meta.Status, len(inst.Meta.Inbox), "orders waiting for the tab to open")
	// Output:
	// running 2 orders waiting for the tab to open
}

// Await waits for an instance's end and returns its output, or a typed
// error saying how it ended otherwise.
func ExampleEngine_Await() {
	ctx := context.Background()
	e := tabEngine()
	for _, id := range []string{"paid", "unpaid"} {
		if err := e.SignalWithStart(ctx, tab, id, Tab{}, "open", true); err != nil {
			panic(err)
		}
		if err := e.Send(ctx, id, "order", "coffee", nil); err != nil {
			panic(err)
		}
	}
	go func() { // another goroutine, or another process on the same store
		_ = e.Send(ctx, "paid", "pay", 5, nil)
		_ = e.Send(ctx, "unpaid", "walk out", true, nil)
	}()
	var out string
	if err := e.Await(ctx, "paid", &out); err != nil {
		panic(err)
	}
	fmt.Println(out)
	err := e.Await(ctx, "unpaid", nil)
	var failed *engine.WorkflowFailedError
	if errors.As(err, &failed) {
		fmt.Printf("failed at %q: %s\n", failed.Path, failed.Message)
	}
	// Output:
	// 1 orders, 4 paid
	// failed at "ordering/next/walk out": the customer left without paying
}

// Query runs a query handler declared with dsl.Query on the stored state.
func ExampleEngine_Query() {
	ctx := context.Background()
	e := tabEngine()
	if err := e.SignalWithStart(ctx, tab, "t1", Tab{}, "open", true); err != nil {
		panic(err)
	}
	if err := e.Send(ctx, "t1", "order", "coffee", nil); err != nil {
		panic(err)
	}
	var total int
	if err := e.Query(ctx, "t1", "total", &total); err != nil {
		panic(err)
	}
	fmt.Println(total, tab.Queries())
	fmt.Println(errors.Is(e.Query(ctx, "t1", "tip", &total), engine.ErrNoQuery))
	// Output:
	// 4 [total]
	// true
}
