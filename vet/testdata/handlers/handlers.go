// Package handlers checks the other places code runs: event handlers and
// their setup, timer functions, thread IDs, outputs, errors, call results and
// migrations.
package handlers

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"time"

	"github.com/weftflow/weft/dsl"
)

type S struct {
	N    int
	Name string
	At   time.Time
}

type Old struct{ N int }

type Payload struct{ V int }

// Manager's Handle reads the clock; its Setup reads the environment.
type Manager struct{}

func (Manager) Handle(s *S, p Payload) (bool, error) { // want Handle:`nondeterministic\(Manager.Handle: time.Now`
	s.At = time.Now()
	return true, nil
}

func (Manager) Setup(s *S) any { return os.Getenv("MANAGER") } // want Setup:`nondeterministic\(Manager.Setup: os.Getenv`

// Clean is a handler with nothing to report.
type Clean struct{}

func (Clean) Handle(s *S, p Payload) (int, error) { s.N += p.V; return s.N, nil }

func randomID(s *S) string { return fmt.Sprint(rand.Int()) } // want randomID:`nondeterministic\(randomID: rand.Int`

var Workflow = dsl.MustCompile[S]("handlers", dsl.S(
	dsl.Wait("events",
		dsl.On("signal", dsl.Signal(func(s *S, p Payload) (int, error) {
			s.N = rand.Intn(p.V + 1) // want `handler of event "signal": rand.Intn draws random numbers`
			return s.N, nil
		})),
		dsl.On("custom", dsl.Custom[S, Payload, bool]("manager", Manager{})), // want `handler of event "custom" runs Manager.Handle: time.Now reads the wall clock` `handler of event "custom" runs Manager.Setup: os.Getenv reads the process environment`
		dsl.On("clean", dsl.Custom[S, Payload, int]("clean", Clean{})),
		dsl.On("func", dsl.Custom[S, Payload, int]("func", dsl.HandlerFunc[S, Payload, int](func(s *S, p Payload) (int, error) {
			return int(time.Since(s.At)), nil // want `handler of event "func": time.Since reads the wall clock`
		}))),
		dsl.On("timer", dsl.At(func(s *S) time.Time { return time.Now().Add(time.Hour) })), // want `time function of event "timer": time.Now reads the wall clock`
		dsl.On("fixed", dsl.At(func(s *S) time.Time { return s.At.Add(time.Hour) })),
	),
	dsl.GoEach("worker", randomID, dsl.Step("work", func(s *S) error { return nil })), // want `thread ID of go-each "worker" runs randomID: rand.Int draws random numbers`
	dsl.Call("fetch", func(ctx context.Context, s S) (string, error) {
		return os.Getenv("TOKEN") + time.Now().String(), nil // an activity: allowed
	}, func(s *S, out string) {
		s.Name = out + os.Getenv("SUFFIX") // want `result of call "fetch": os.Getenv reads the process environment`
	}),
	dsl.Call("named activity", activity, nil),
	dsl.If("late", func(s *S) bool { return s.N > 3 },
		dsl.FailWith(func(s *S) error { return fmt.Errorf("late at %v", time.Now()) })), // want `error of fail-with: time.Now`
	dsl.ReturnWith(func(s *S) string { return s.Name + time.Now().String() }), // want `output of return-with: time.Now`
), dsl.Version(3), dsl.Migrate(
	dsl.Migration{From: 1, State: dsl.Upcast(func(o Old) (S, error) {
		return S{N: o.N, At: time.Now()}, nil // want `state upcaster: time.Now reads the wall clock`
	})},
	dsl.Migration{From: 2, State: func(b []byte) ([]byte, error) {
		if os.Getenv("X") != "" { // want `migration state function: os.Getenv`
			return nil, errors.New("x")
		}
		return b, nil
	}},
))

// activity is nondeterministic, as activities may be.
func activity(ctx context.Context, s S) (time.Time, error) { return time.Now(), nil } // want activity:`nondeterministic\(activity: time.Now`

var Switch = dsl.MustCompile[S]("switch", dsl.Switch("pick",
	dsl.Case("odd", func(s *S) bool { return time.Now().Unix()%2 == 1 }, dsl.Return("odd")), // want `condition of case "odd": time.Now`
	dsl.Default(dsl.Return("even")),
))
