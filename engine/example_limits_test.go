package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage/memory"
)

// Notes keeps every note it is sent: its state grows with each event.
type Notes struct{ Text []string }

var notes = dsl.MustCompile[Notes]("notes", dsl.For("loop", dsl.Wait("next",
	dsl.On("note", dsl.Signal(func(s *Notes, n string) (int, error) {
		s.Text = append(s.Text, n)
		return len(s.Text), nil
	})))))

// Size limits refuse an event, with a *TooLargeError saying what was too
// large, instead of committing it; the instance stays as it was and takes
// the next event that fits.
func ExampleWithMaxState() {
	ctx := context.Background()
	e, err := engine.New(memory.New(), engine.WithMaxPayload(1024), engine.WithMaxState(4096))
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

	err = e.Send(ctx, "n", "note", strings.Repeat("x", 2000), nil)
	var tl *engine.TooLargeError
	if errors.As(err, &tl) {
		fmt.Printf("%s too large: limit %d\n", tl.What, tl.Limit)
	}

	for i := 0; ; i++ {
		err := e.Send(ctx, "n", "note", strings.Repeat("y", 1000), nil)
		if errors.Is(err, engine.ErrTooLarge) && errors.As(err, &tl) {
			fmt.Printf("note %d refused: %s too large: limit %d\n", i+1, tl.What, tl.Limit)
			break
		}
		if err != nil {
			panic(err)
		}
	}
	var n int
	if err := e.Send(ctx, "n", "note", "short", &n); err != nil {
		panic(err)
	}
	fmt.Println("notes kept:", n)
	// Output:
	// payload too large: limit 1024
	// note 5 refused: state too large: limit 4096
	// notes kept: 5
}

// An event whose reply does not decode into the value given was still
// applied: Send says so with a *ReplyDecodeError, not a codec error.
func ExampleReplyDecodeError() {
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
	var wrong string // the reply is a count
	err = e.Send(ctx, "n", "note", "hello", &wrong)
	fmt.Println(errors.Is(err, engine.ErrReplyUndecodable))
	s, _ := engine.Query[Notes](ctx, e, "n")
	fmt.Println(s.Text)
	// Output:
	// true
	// [hello]
}
