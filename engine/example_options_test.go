package engine_test

import (
	"errors"
	"fmt"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage/memory"
)

// An option given a value it cannot use makes New fail, naming the option
// and the value, rather than quietly use a default.
func ExampleNew_invalidOption() {
	_, err := engine.New(memory.New(), engine.WithWorkers(0))
	fmt.Println(err)
	fmt.Println(errors.Is(err, engine.ErrInvalidOption))
	// Output:
	// engine: invalid option: WithWorkers(0): the number of workers must be at least 1
	// true
}
