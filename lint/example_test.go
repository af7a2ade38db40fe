package lint_test

import (
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/lint"
)

type Order struct{ Paid, Shipped bool }

func ExampleCheck() {
	paid := dsl.Signal(func(s *Order, _ struct{}) (bool, error) { s.Paid = true; return true, nil })
	def := dsl.MustCompile[Order]("order", dsl.S(
		dsl.Wait("payment", dsl.On("paid", paid)),
		dsl.Go("ship", dsl.Step("pack", func(s *Order) error { s.Shipped = true; return nil })),
		dsl.Wait("delivery", dsl.On("late", dsl.After(72*time.Hour), dsl.Return("late"))),
		dsl.Return("done"),
	))
	for _, f := range lint.Check(def) {
		fmt.Printf("%s %s at %q\n", f.Severity, f.Check, f.Path)
	}
	fmt.Println(len(lint.Check(def, lint.Disable("thread-never-joined", "wait-without-timeout"))))
	// Output:
	// warning unreachable at "#4"
	// warning wait-without-timeout at "payment"
	// warning thread-never-joined at "ship"
	// 1
}

func ExampleFinding_String() {
	def := dsl.MustCompile[Order]("order",
		dsl.For("poll", dsl.Step("check", func(s *Order) error { return nil })))
	for _, f := range lint.Check(def) {
		fmt.Println(f)
	}
	// Output:
	// poll: loop "poll" never blocks (no Wait, Call, WaitFor or Join) and never ends (no Break, Return or Fail): it spins through the statement budget of every transition, forever; add a way out, or a Wait between iterations (loop-without-blocking-point)
}

func ExampleChecks() {
	for _, c := range lint.Checks() {
		fmt.Printf("%-28s %-7s %s\n", c.Name, c.Severity, c.Summary)
	}
	// Output:
	// wait-without-timeout         warning a Wait with no timer event (After or At) can wait forever
	// unreachable                  warning statements after a Return, Fail, Break, Continue or another statement that never finishes never run
	// loop-without-blocking-point  error   a For loop with no Wait, Call, WaitFor or Join and no Break, Return or Fail spins forever
	// thread-never-joined          warning a Go thread no Join waits for is stopped wherever it is when the workflow ends
	// waitfor-unchangeable         warning a WaitFor with no other thread to change the state passes at once or never
}

// Version 2 turns the payment's timer into a custom event and forgets a
// migration: orders waiting at "payment" would be lost.
func ExampleUpgrade() {
	paid := dsl.Signal(func(s *Order, _ struct{}) (bool, error) { s.Paid = true; return true, nil })
	v1 := dsl.MustCompile[Order]("order", dsl.Wait("payment", dsl.On("paid", paid), dsl.On("expired", dsl.After(72*time.Hour))))
	v2 := dsl.MustCompile[Order]("order", dsl.Wait("payment", dsl.On("paid", paid), dsl.On("expired", paid)), dsl.Version(2))
	for _, f := range lint.Upgrade(v1, v2) {
		fmt.Printf("%s %s at %q\n", f.Severity, f.Check, f.Path)
	}
	fixed := dsl.MustCompile[Order]("order", dsl.Wait("payment", dsl.On("paid", paid), dsl.On("expired", paid)), dsl.Version(2),
		dsl.Migrate(dsl.Migration{From: 1, Removed: map[string]string{"payment": "payment"}}))
	fmt.Println(len(lint.Upgrade(v1, fixed)))
	// Output:
	// error lost-position at "payment"
	// 0
}
