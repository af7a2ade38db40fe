package dsl_test

import (
	"fmt"

	"github.com/weftflow/weft/dsl"
)

type Order struct {
	Lines []int
}

// Query handlers are read-only projections of the state, declared with
// the definition and run by hosts (engine.Engine.Query, weft query, the
// HTTP handler) on an instance's stored state.
func ExampleQuery() {
	def, err := dsl.Compile[Order]("order",
		dsl.Wait("close", dsl.On("close", dsl.Signal(func(s *Order, _ bool) (bool, error) { return true, nil }))),
		dsl.Query("total", func(s *Order) int {
			t := 0
			for _, l := range s.Lines {
				t += l
			}
			return t
		}),
		dsl.Query("lines", func(s *Order) int { return len(s.Lines) }),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(def.Queries())
	_, err = dsl.Compile[Order]("order", dsl.Wait("w", dsl.On("x", dsl.Signal(func(s *Order, _ bool) (bool, error) { return true, nil }))),
		dsl.Query("total", func(s *Approval) bool { return s.Approved }))
	fmt.Println(err)
	// Output:
	// [lines total]
	// dsl: "order": workflow: query "total" takes *dsl_test.Approval, but the workflow's state is dsl_test.Order
}
