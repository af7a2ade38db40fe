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
	fmt.Println(th.ID, "at", th.Path, th.Phase, "due", r.Meta.Due.Format(time.Kitchen))

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

// A host applying many events reuses one Scratch: each call's effects
// live in it until the next call, so the host handles them (or copies
// them) first. State and meta are the result's own.
func ExampleApplyWith() {
	type tally struct{ N int }
	def := dsl.MustCompile[tally]("tally", dsl.For("loop",
		dsl.Wait("next", dsl.On("add", dsl.Signal(func(s *tally, by int) (int, error) { s.N += by; return s.N, nil })))))
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

	var sc interp.Scratch
	r, _ := interp.ApplyWith(&sc, def, nil, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: now, Instance: "t1"})
	for i := 1; i <= 3; i++ {
		by, _ := codec.Marshal(i)
		cb := r.Meta.Threads[0].Waits[0].Callback
		r, _ = interp.ApplyWith(&sc, def, r.State, r.Meta, interp.Event{Kind: interp.EventCallback, Time: now, Callback: cb, Payload: by})
		var total int
		_ = codec.Unmarshal(r.Effects[0].Data, &total) // the reply, read before the next call
		fmt.Println(r.Effects[0].Kind, total)
	}
	// Output:
	// reply 1
	// reply 3
	// reply 6
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

// Times in a Meta are time.Time values in UTC, the zero time meaning
// "none"; stored, they are Unix nanoseconds.
func ExampleMeta() {
	type reminder struct{}
	def := dsl.MustCompile[reminder]("remind", dsl.S(
		dsl.Wait("later", dsl.On("hour", dsl.After(time.Hour))),
	))
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))

	r, _ := interp.Apply(def, nil, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: now, Instance: "r1"})
	m := r.Meta
	fmt.Println("started", m.Started)
	fmt.Println("due", m.Due, "after", m.Due.Sub(m.Started))
	fmt.Println("timer", m.Threads[0].Waits[0].At.Equal(m.Due))

	back, _ := interp.DecodeMeta(interp.EncodeMeta(m))
	fmt.Println("read back", back.Due.Equal(m.Due), back.Due.Location())
	fmt.Println("terminated", m.Terminated == nil, "retry at zero", m.Threads[0].At.IsZero())
	// Output:
	// started 2026-01-01 11:00:00 +0000 UTC
	// due 2026-01-01 12:00:00 +0000 UTC after 1h0m0s
	// timer true
	// read back true UTC
	// terminated true retry at zero true
}
