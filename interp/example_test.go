package interp_test

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

// A host's whole job, by hand: apply an event, keep the result, look at the
// effects, answer a pending callback.
func ExampleApply() {
	type greeting struct{ Name, Text string }
	def := dsl.MustCompile[greeting]("greet", dsl.S(
		dsl.Wait("name",
			dsl.On("named", dsl.Signal(func(s *greeting, name string) (string, error) {
				s.Name = name
				return "hello " + name, nil
			})),
			dsl.On("timeout", dsl.After(time.Hour), dsl.Return("nobody came")),
		),
		dsl.ReturnWith(func(s *greeting) string { return "greeted " + s.Name }),
	))
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

	r, _ := interp.Apply(def, nil, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: now, Instance: "g1"})
	for _, e := range r.Effects {
		fmt.Println(e.ID, e.Kind, e.Event, e.At.Format(time.Kitchen))
	}
	th := r.Meta.Threads[0]
	fmt.Println(th.ID, "at", th.Path, th.Phase, "due", r.Meta.DueTime().Format(time.Kitchen))

	payload, _ := codec.Marshal("ada")
	cb := th.Waits[0].Callback // the "named" event
	r, _ = interp.Apply(def, r.State, r.Meta, interp.Event{Kind: interp.EventCallback, Time: now.Add(time.Minute), Callback: cb, Payload: payload})
	for _, e := range r.Effects {
		var s string
		_ = codec.Unmarshal(e.Data, &s)
		fmt.Println(strings.TrimSpace(fmt.Sprint(e.ID, " ", e.Kind, " ", s)))
	}
	_, err := interp.Apply(def, r.State, r.Meta, interp.Event{Kind: interp.EventCallback, Time: now, Callback: cb, Payload: payload})
	fmt.Println(err)
	// Output:
	// g1/1/0 start-timer timeout 1:00PM
	// main at name waiting due 1:00PM
	// g1/2/0 reply hello ada
	// g1/2/1 cancel-timer
	// g1/2/2 completed greeted ada
	// interp: instance finished: instance "g1" is completed
}

// Apply never panics: a panic of the interpreter itself (here, the nil
// definition a host bug would pass) comes back as an error matching
// ErrInternal, naming the instance, with nothing changed.
func ExampleInternalError() {
	_, err := interp.Apply(nil, nil, interp.Meta{Instance: "order-1", Seq: 1}, interp.Event{Kind: interp.EventResume, Time: time.Unix(0, 0)})
	var ie *interp.InternalError
	fmt.Println(errors.Is(err, interp.ErrInternal), errors.As(err, &ie) && ie.Instance == "order-1")
	fmt.Println(err)
	// Output:
	// true true
	// interp: internal error in Apply: workflow "" instance "order-1": nil definition
}
