package simulate_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/examples/quickstart"
	"github.com/weftflow/weft/simulate"
	"pgregory.net/rapid"
)

func TestApproval(t *testing.T) {
	simulate.Check(t, approval.Workflow, simulate.Options[approval.Request]{
		Input: func(t *rapid.T) approval.Request {
			return approval.Request{ID: "r", User: rapid.SampledFrom([]string{"", "ada"}).Draw(t, "user"), Amount: rapid.IntRange(0, 500).Draw(t, "amount")}
		},
		Invariant: func(s *approval.Request) error {
			if s.Approved && s.Reason == "timed out" {
				return errors.New("approved and timed out")
			}
			return nil
		},
	})
}

func TestPizza(t *testing.T) {
	simulate.Check(t, pizza.Workflow, pizzaOptions())
}

func TestQuickstart(t *testing.T) {
	simulate.Check(t, quickstart.Workflow, simulate.Options[quickstart.Approval]{})
}

// A deploy of pizza v2 (with its migration) mid-flight: every instance keeps
// working, whatever it was doing.
func TestPizzaUpgradeMidFlight(t *testing.T) {
	simulate.Check(t, pizza.Workflow, simulate.Options[pizza.Order]{
		Input:   func(t *rapid.T) pizza.Order { return pizza.Order{Customer: "bo"} },
		Upgrade: pizza.WorkflowV2,
		Invariant: func(s *pizza.Order) error { // checked until the upgrade changes the state type
			if s.Delivered && !s.Confirmed {
				return errors.New("delivered without confirmation")
			}
			return nil
		},
	})
}

// The payment activity stubbed out: its result is drawn, the real charge
// never runs.
func TestPizzaWithStubbedPayment(t *testing.T) {
	simulate.Check(t, pizza.Workflow, simulate.Options[pizza.Order]{
		Input: func(t *rapid.T) pizza.Order { return pizza.Order{Customer: "bo"} },
		Activities: map[string]func(*rapid.T) any{
			"payment/charge": func(t *rapid.T) any { return rapid.SampledFrom([]string{"stub-1", "stub-2"}).Draw(t, "receipt") },
		},
		Invariant: func(s *pizza.Order) error {
			if s.Receipt != "" && !strings.HasPrefix(s.Receipt, "stub-") {
				return fmt.Errorf("the real payment ran: %q", s.Receipt)
			}
			return nil
		},
	})
}

// A stub whose result the Call cannot take (an int for a string) fails
// the attempt, as the engine delivers it: the simulator folds the failure
// the engine committed, not the result it was given.
func TestPizzaWithABadStub(t *testing.T) {
	simulate.Check(t, pizza.Workflow, simulate.Options[pizza.Order]{
		Input: func(t *rapid.T) pizza.Order { return pizza.Order{Customer: "bo"} },
		Activities: map[string]func(*rapid.T) any{
			"payment/charge": func(t *rapid.T) any { return 42 },
		},
		Invariant: func(s *pizza.Order) error {
			if s.Receipt != "" {
				return fmt.Errorf("a rejected result was taken: %q", s.Receipt)
			}
			return nil
		},
	})
}
