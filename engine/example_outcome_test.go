package engine_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage/memory"
)

// A send that must be applied once, retried until the engine says it was:
// an unknown outcome (the store lost its connection mid-commit, say) is
// retried with the same key, which the instance recognizes if the first
// attempt was committed. The notes workflow waits for "note" in a loop, so
// a retry without a key could be taken as a second note.
func ExampleIdempotencyKey() {
	ctx := context.Background()
	e, err := engine.New(memory.New())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := e.Register(notes); err != nil {
		panic(err)
	}
	if err := e.Start(ctx, notes, "n", Notes{}); err != nil {
		panic(err)
	}

	send := func(text, key string) (count int, err error) {
		for attempt := 0; attempt < 5; attempt++ {
			err = e.Send(ctx, "n", "note", text, &count, engine.IdempotencyKey(key))
			if !errors.Is(err, engine.ErrOutcomeUnknown) {
				return count, err
			}
			time.Sleep(10 * time.Millisecond << attempt) // and reopen the store, if it asks for that
		}
		return 0, err
	}
	fmt.Println(send("buy milk", "note-1"))
	fmt.Println(send("buy milk", "note-1")) // a retry: applied once, same reply
	fmt.Println(send("call bo", "note-2"))
	s, _ := engine.Query[Notes](ctx, e, "n")
	fmt.Println(s.Text)
	// Output:
	// 1 <nil>
	// 1 <nil>
	// 2 <nil>
	// [buy milk call bo]
}
