package dsl_test

import (
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
)

type Approval struct {
	User     string
	Approved bool
}

func ExampleCompile() {
	decide := dsl.Signal(func(s *Approval, yes bool) (string, error) {
		s.Approved = yes
		return "noted", nil
	})
	def, err := dsl.Compile[Approval]("approval", dsl.S(
		dsl.Step("load user", func(s *Approval) error { s.User = "ada"; return nil }),
		dsl.If("no user", func(s *Approval) bool { return s.User == "" }, dsl.Return("no user")),
		dsl.Wait("decision",
			dsl.On("timeout", dsl.After(10*time.Minute), dsl.Return("timed out")),
			dsl.On("answer", decide, dsl.Return("answered")),
		),
	))
	fmt.Println(def.Name(), err)
	for _, p := range def.Positions() {
		fmt.Printf("%q\n", p)
	}
	// Output:
	// approval <nil>
	// ""
	// "decision"
	// "decision/answer"
	// "decision/timeout"
	// "load user"
	// "no user"
	// "no user/then"
}

func ExampleCompile_errors() {
	_, err := dsl.Compile[Approval]("broken", dsl.S(
		dsl.Step("a", func(*Approval) error { return nil }),
		dsl.Step("a", func(*Approval) error { return nil }),
		dsl.Break(),
		dsl.Wait("w"),
	))
	fmt.Println(err)
	// Output:
	// dsl: "broken": a: duplicate path: step at #1 and step at #2
	// dsl: "broken": #3: break outside a loop
	// dsl: "broken": w: wait has no events
}

// A custom event whose wait asks someone outside (a setup effect, routed
// to the host's handler for "ask-manager"), with its types inferred from
// the two functions.
func ExampleSignalWithSetup() {
	type Expense struct {
		Amount   int
		Approved bool
	}
	def, err := dsl.Compile[Expense]("expense", dsl.Wait("manager",
		dsl.On("decide", dsl.SignalWithSetup("ask-manager",
			func(s *Expense, ok bool) (bool, error) { s.Approved = ok; return ok, nil },
			func(s *Expense) any { return s.Amount }))))
	fmt.Printf("%q %v\n", def.Positions(), err)
	// Output: ["" "manager" "manager/decide"] <nil>
}
