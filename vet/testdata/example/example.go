// Package example is the workflow of vet's package example.
package example

import (
	"time"

	"github.com/weftflow/weft/dsl"
)

type Order struct {
	Paid    bool
	Expires time.Time
}

func expired(o *Order) bool { return time.Now().After(o.Expires) } // want expired:`nondeterministic`

var Workflow = dsl.MustCompile[Order]("order", dsl.S(
	dsl.If("expired", func(o *Order) bool { return expired(o) }, dsl.Return("expired")), // want `condition of if "expired" calls expired: time.Now`
	dsl.Step("pay", func(o *Order) error { o.Paid = true; return nil }),
))
