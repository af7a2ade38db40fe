package pizza

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
)

// Version 2 of the pizza workflow, the upgrade that docs/upgrades.md walks
// through. Against version 1 it:
//
//   - inserts steps ("stamp" before the manager, "log delivery" after the
//     courier): safe, no migration needed;
//   - renames the "kitchen" wait to "oven": parked instances need a path
//     migration;
//   - removes the cart loop and its shopping wait (orders now arrive
//     complete): instances still shopping need to continue somewhere;
//   - changes Items from []string to []Item: old states need an upcaster.

// Item is one line of an order in version 2.
type Item struct {
	Name string
	Qty  int
}

// OrderV2 is the state of version 2.
type OrderV2 struct {
	Customer  string
	Items     []Item
	Submitted bool
	Confirmed bool
	Receipt   string
	Cooked    bool
	Delivered bool
	Stamped   bool
	Log       []string
}

// Total is the order's price in cents.
func (o OrderV2) Total() int {
	n := 0
	for _, it := range o.Items {
		n += it.Qty
	}
	return Price * n
}

// ManagerV2 handles "confirm" in version 2.
type ManagerV2 struct{}

// Handle records the manager's answer.
func (ManagerV2) Handle(s *OrderV2, c Confirmation) (bool, error) {
	s.Confirmed = c.OK
	return c.OK, nil
}

// Setup says what the manager must confirm.
func (ManagerV2) Setup(s *OrderV2) any {
	return map[string]any{"customer": s.Customer, "items": len(s.Items), "total": s.Total()}
}

// BodyV2 is the statement tree of version 2, without its migrations.
func BodyV2() dsl.Stmt {
	return dsl.S(
		dsl.Step("stamp", func(s *OrderV2) error { s.Stamped, s.Submitted = true, true; return nil }),
		dsl.Wait("manager",
			dsl.On("confirm", dsl.Custom[OrderV2, Confirmation, bool]("confirm-order", ManagerV2{})),
			dsl.On("no answer", dsl.After(time.Hour), dsl.Return("not confirmed")),
		),
		dsl.If("rejected", func(s *OrderV2) bool { return !s.Confirmed }, dsl.Return("rejected")),
		dsl.Go("payment",
			dsl.Call("charge", ChargeV2, func(s *OrderV2, receipt string) { s.Receipt = receipt }).
				Timeout(30*time.Second).
				Retry(dsl.RetryPolicy{MaxAttempts: 5, Initial: time.Second, Max: time.Minute}),
		),
		dsl.Wait("oven", dsl.On("cooked", dsl.Signal(func(s *OrderV2, _ struct{}) (bool, error) { s.Cooked = true; return true, nil }))),
		dsl.Wait("courier",
			dsl.On("delivered", dsl.Signal(func(s *OrderV2, _ struct{}) (bool, error) { s.Delivered = true; return true, nil })),
			dsl.On("lost", dsl.After(2*time.Hour), dsl.Fail(errors.New("delivery lost"))),
		),
		dsl.Step("log delivery", func(s *OrderV2) error { s.Log = append(s.Log, "delivered"); return nil }),
		dsl.Join("paid", "payment"),
		dsl.ReturnWith(func(s *OrderV2) string {
			return fmt.Sprintf("delivered %d items to %s, receipt %s", len(s.Items), s.Customer, s.Receipt)
		}),
	)
}

// MigrationV1 carries version 1 instances over to version 2.
var MigrationV1 = dsl.Migration{
	From:  1,
	Paths: map[string]string{"kitchen": "oven"},
	// The loop itself is listed too: a thread can be stored at a loop's
	// next iteration (after a budget yield); lint.Upgrade finds such gaps.
	Removed: map[string]string{"cart/shopping": "stamp", "cart": "stamp"},
	State: dsl.Upcast(func(o Order) (OrderV2, error) {
		n := OrderV2{Customer: o.Customer, Submitted: o.Submitted, Confirmed: o.Confirmed,
			Receipt: o.Receipt, Cooked: o.Cooked, Delivered: o.Delivered}
		for _, it := range o.Items {
			n.Items = append(n.Items, Item{Name: it, Qty: 1})
		}
		return n, nil
	}),
}

// WorkflowV2 is version 2 with its migration from version 1.
var WorkflowV2 = dsl.MustCompile[OrderV2]("pizza", BodyV2(), dsl.Version(2), dsl.Migrate(MigrationV1))

// ChargeV2 is version 2's payment activity; an empty order costs nothing.
func ChargeV2(ctx context.Context, o OrderV2) (string, error) {
	if o.Total() == 0 {
		return "no charge", nil
	}
	return fmt.Sprintf("rcpt-%s-%d", o.Customer, o.Total()), nil
}

// WorkflowV2NoMigration is version 2 without its migration: what a deploy
// that forgot it would run. The upgrade verifier and plan mode show what
// breaks.
func WorkflowV2NoMigration() *dsl.Definition {
	return dsl.MustCompile[OrderV2]("pizza", BodyV2(), dsl.Version(2))
}
