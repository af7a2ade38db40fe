package dsl

import (
	"reflect"
	"time"

	"github.com/weftflow/weft/internal/ast"
)

// StepStmt is a [Step]; its methods configure it.
type StepStmt struct{ *node }

// Step runs fn over the state. Steps are for quick, deterministic state work:
// fn may run more than once if the host crashes before it commits (at least
// once), but its changes to the state commit exactly once. A returned error
// or a panic is retried under the step's [RetryPolicy]; when attempts run
// out the workflow fails with the error and the step's path recorded.
func Step[S any](name string, fn func(s *S) error) *StepStmt {
	n := &node{kind: ast.Step, name: name, types: []reflect.Type{typeOf[S]()}}
	if fn == nil {
		n.missing = "function"
	} else {
		n.run = func(s any) error { return fn(s.(*S)) }
	}
	return &StepStmt{n}
}

// Retry sets the step's retry policy (default: the definition's, see
// [DefaultRetry]).
func (s *StepStmt) Retry(p RetryPolicy) *StepStmt { s.retry = &p; return s }

// RetryPolicy says how often and how fast a failing step or activity is
// retried. Delays grow from Initial by Multiplier up to Max. There is no
// jitter: the schedule must be a pure function of the attempt number.
type RetryPolicy struct {
	MaxAttempts int           // total attempts including the first; 1 disables retries
	Initial     time.Duration // delay before the second attempt
	Multiplier  float64       // delay growth per attempt; 0 means 2
	Max         time.Duration // cap on one delay; 0 means no cap
}

// defaultRetry is used when neither the statement nor the definition sets one:
// three attempts, one second then two.
var defaultRetry = RetryPolicy{MaxAttempts: 3, Initial: time.Second, Multiplier: 2, Max: time.Minute}

func (p RetryPolicy) compile() (ast.Retry, string) {
	if p.Multiplier == 0 {
		p.Multiplier = 2
	}
	switch {
	case p.MaxAttempts < 1:
		return ast.Retry{}, "retry policy needs MaxAttempts >= 1"
	case p.Initial < 0 || p.Max < 0:
		return ast.Retry{}, "retry policy delays must not be negative"
	case p.Multiplier < 1:
		return ast.Retry{}, "retry policy Multiplier must be >= 1"
	}
	return ast.Retry{MaxAttempts: p.MaxAttempts, Initial: p.Initial, Multiplier: p.Multiplier, Max: p.Max}, ""
}
