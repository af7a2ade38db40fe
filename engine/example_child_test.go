package engine_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage/memory"
)

// Invoice is the child workflow's state.
type Invoice struct {
	Customer string
	Amount   int
}

// Checkout is the parent's state.
type Checkout struct {
	Customer string
	Invoice  string
	Problem  string
}

var invoiceWF = dsl.MustCompile[Invoice]("invoice", dsl.S(
	dsl.If("empty", func(s *Invoice) bool { return s.Amount <= 0 }, dsl.Fail(errors.New("nothing to invoice"))),
	dsl.ReturnWith(func(s *Invoice) string { return fmt.Sprintf("INV-%s-%d", s.Customer, s.Amount) }),
))

func checkoutWF() *dsl.Definition {
	return dsl.MustCompile[Checkout]("checkout", dsl.S(
		dsl.Child("bill", invoiceWF,
			func(s *Checkout) Invoice { return Invoice{Customer: s.Customer, Amount: len(s.Customer)} },
			func(s *Checkout, number string, err error) error {
				var ce *dsl.ChildError
				if errors.As(err, &ce) { // handled: the checkout goes on
					s.Problem = ce.Status + ": " + ce.Message
					return nil
				}
				s.Invoice = number
				return err
			}).
			ID(func(s *Checkout) string { return "invoice-" + s.Customer }).
			OnParentEnd(dsl.CancelChild),
		dsl.ReturnWith(func(s *Checkout) Checkout { return *s }),
	))
}

// A Child statement starts another workflow and waits for its end: the
// child's output, or its failure as a *dsl.ChildError the parent handles.
// The child is an ordinary instance, with the ID the statement's rule
// gives it.
func ExampleEngine_child() {
	ctx := context.Background()
	e, err := engine.New(memory.New())
	if err != nil {
		panic(err)
	}
	checkout := checkoutWF()
	if err := e.Register(invoiceWF, checkout); err != nil { // the child first, or with its parent
		panic(err)
	}
	for _, who := range []string{"ada", ""} {
		if err := e.Start(ctx, checkout, "checkout-"+who, Checkout{Customer: who}); err != nil {
			panic(err)
		}
	}
	if err := e.Drain(ctx); err != nil {
		panic(err)
	}
	for _, who := range []string{"ada", ""} {
		var out Checkout
		if err := e.Await(ctx, "checkout-"+who, &out); err != nil {
			panic(err)
		}
		fmt.Printf("%q: invoice %q problem %q\n", who, out.Invoice, out.Problem)
	}
	child, err := e.Get(ctx, "invoice-ada")
	if err != nil {
		panic(err)
	}
	fmt.Println("child invoice-ada:", child.Meta.Status)
	// Output:
	// "ada": invoice "INV-ada-3" problem ""
	// "": invoice "" problem "failed: nothing to invoice"
	// child invoice-ada: completed
}
