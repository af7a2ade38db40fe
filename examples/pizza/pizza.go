// Package pizza is a pizza order workflow: a cart loop waiting on
// add-to-cart, empty-cart, submit or a 24-hour timeout; a manager's
// confirmation; a payment thread that charges through a Call activity while
// the kitchen cooks; a delivery event; and a join on the payment before the
// end.
package pizza

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftflow/weft/dsl"
)

// Order is the workflow's state.
type Order struct {
	Customer  string
	Items     []string
	Submitted bool
	Confirmed bool
	Receipt   string
	Cooked    bool
	Delivered bool
}

// Price of one item, in cents.
const Price = 1200

// Total is the order's price in cents.
func (o Order) Total() int { return Price * len(o.Items) }

// Add is the payload of the "add" event.
type Add struct{ Item string }

// Confirmation is the payload of the manager's "confirm" event.
type Confirmation struct{ OK bool }

// Manager handles "confirm"; its setup effect asks a manager to confirm.
type Manager struct{}

// Handle records the manager's answer.
func (Manager) Handle(s *Order, c Confirmation) (bool, error) { s.Confirmed = c.OK; return c.OK, nil }

// Setup says what the manager must confirm.
func (Manager) Setup(s *Order) any {
	return map[string]any{"customer": s.Customer, "items": s.Items, "total": s.Total()}
}

// Workflow is the pizza order definition.
var Workflow = dsl.MustCompile[Order]("pizza", dsl.S(
	dsl.For("cart",
		dsl.Wait("shopping",
			dsl.On("add", dsl.Signal(func(s *Order, a Add) (int, error) {
				if strings.TrimSpace(a.Item) == "" {
					return 0, errors.New("empty item")
				}
				s.Items = append(s.Items, a.Item)
				return len(s.Items), nil
			})),
			dsl.On("empty", dsl.Signal(func(s *Order, _ struct{}) (int, error) { s.Items = nil; return 0, nil })),
			dsl.On("submit", dsl.Signal(func(s *Order, _ struct{}) (int, error) {
				if len(s.Items) == 0 {
					return 0, errors.New("the cart is empty")
				}
				s.Submitted = true
				return s.Total(), nil
			}), dsl.Break()),
			dsl.On("abandoned", dsl.After(24*time.Hour), dsl.Return("abandoned")),
		),
	),
	dsl.Wait("manager",
		dsl.On("confirm", dsl.Custom[Order, Confirmation, bool]("confirm-order", Manager{})),
		dsl.On("no answer", dsl.After(time.Hour), dsl.Return("not confirmed")),
	),
	dsl.If("rejected", func(s *Order) bool { return !s.Confirmed }, dsl.Return("rejected")),
	dsl.Go("payment",
		dsl.Call("charge", Charge, func(s *Order, receipt string) { s.Receipt = receipt }).
			Timeout(30*time.Second).
			Retry(dsl.RetryPolicy{MaxAttempts: 5, Initial: time.Second, Max: time.Minute}),
	),
	dsl.Wait("kitchen", dsl.On("cooked", dsl.Signal(func(s *Order, _ struct{}) (bool, error) { s.Cooked = true; return true, nil }))),
	dsl.Wait("courier",
		dsl.On("delivered", dsl.Signal(func(s *Order, _ struct{}) (bool, error) { s.Delivered = true; return true, nil })),
		dsl.On("lost", dsl.After(2*time.Hour), dsl.Fail(errors.New("delivery lost"))),
	),
	dsl.Join("paid", "payment"),
	dsl.ReturnWith(func(s *Order) string {
		return fmt.Sprintf("delivered %d items to %s, receipt %s", len(s.Items), s.Customer, s.Receipt)
	}),
))

// Charge is the payment activity: it runs in the host, may fail, and is
// retried by the workflow's policy. This stand-in derives a receipt from the
// order; a real one would call a payment provider with an idempotency key.
func Charge(ctx context.Context, o Order) (string, error) {
	if o.Total() == 0 {
		return "", errors.New("nothing to charge")
	}
	return fmt.Sprintf("rcpt-%s-%d", o.Customer, o.Total()), nil
}
