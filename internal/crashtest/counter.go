package crashtest

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/weftflow/weft/dsl"
)

// CounterName is the workflow name of the counter definition.
const CounterName = "counter"

// IncType is the custom event type of the counter's "inc" event: its setup
// and teardown effects go to the handler registered for it.
const IncType = "counter-inc"

// Counter is the state of the counter workflow.
type Counter struct {
	Name   string   // the instance ID, given at start (the report activity names it)
	Target int      // the workflow returns after this many distinct tokens
	Tokens []string // the applied tokens, in the order they were applied
	// Dups are tokens delivered again after they had been applied. The
	// handler records them instead of rejecting them, so that an engine that
	// applied one accepted event twice is seen, not masked.
	Dups    []string
	Tallied int    // tokens counted again, one step at a time, once the target is reached
	Report  string // the result of the report activity
}

// Inc is the payload of the "inc" event: a token unique per increment.
type Inc struct{ Token string }

// incHandler handles "inc". Its Setup makes every wait for "inc" emit a
// setup and, once resolved, a teardown effect: two effects per increment
// for the receiver to account for.
type incHandler struct{}

func (incHandler) Handle(s *Counter, in Inc) (int, error) {
	if in.Token == "" {
		return 0, errors.New("empty token")
	}
	if slices.Contains(s.Tokens, in.Token) {
		s.Dups = append(s.Dups, in.Token)
		return len(s.Tokens), nil
	}
	s.Tokens = append(s.Tokens, in.Token)
	return len(s.Tokens), nil
}

func (incHandler) Setup(s *Counter) any { return len(s.Tokens) }

// ReportFunc is the counter's activity: it runs once the target is reached,
// at least once per attempt, and its result is stored in Counter.Report.
type ReportFunc func(ctx context.Context, s Counter) (string, error)

// counterBudget is the counter's statement budget: small, so that the
// tally loop yields to the host every few steps and the host must resume
// it (through the due index, after a crash).
const counterBudget = 8

// NewCounter returns the counter definition: a loop that waits for "inc"
// events until Target distinct tokens were applied; a tally loop that
// counts them again one step at a time, yielding every few steps; the
// report activity; and a Return of the tally. report may be nil for a
// definition that is only used to read instances.
func NewCounter(report ReportFunc) *dsl.Definition {
	if report == nil {
		report = func(context.Context, Counter) (string, error) {
			return "", errors.New("crashtest: this definition does not run activities")
		}
	}
	return dsl.MustCompile[Counter](CounterName, dsl.S(
		dsl.While("count", func(s *Counter) bool { return len(s.Tokens) < s.Target },
			dsl.Wait("next", dsl.On("inc", dsl.Custom[Counter, Inc, int](IncType, incHandler{})))),
		dsl.While("tally", func(s *Counter) bool { return s.Tallied < len(s.Tokens) },
			dsl.Step("one more", func(s *Counter) error { s.Tallied++; return nil })),
		dsl.Call("report", report, func(s *Counter, r string) { s.Report = r }).
			Timeout(20*time.Second).
			Retry(dsl.RetryPolicy{MaxAttempts: 20, Initial: 10 * time.Millisecond, Max: 200 * time.Millisecond}),
		dsl.ReturnWith(func(s *Counter) int { return s.Tallied }),
	), dsl.Budget(counterBudget))
}
