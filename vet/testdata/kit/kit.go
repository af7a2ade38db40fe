// Package kit wraps dsl constructors, as a team's helper package would:
// the code passed to its functions is workflow code.
package kit

import "github.com/weftflow/weft/dsl"

// Step is dsl.Step with the team's retry policy.
func Step[S any](name string, fn func(*S) error) dsl.Stmt { // want Step:`wraps\(1: step\)`
	return dsl.Step(name, fn).Retry(dsl.RetryPolicy{MaxAttempts: 5})
}

// Guard runs body when cond holds, under a fixed name.
func Guard[S any](cond func(*S) bool, body ...dsl.Stmt) dsl.Stmt { // want Guard:`wraps\(0: condition of if "guard"\)`
	return dsl.If("guard", cond, body...)
}

// Event waits for one custom event handled by h.
func Event[S, P, R any](name string, h dsl.Handler[S, P, R]) dsl.Stmt { // want Event:`wraps\(1: handler\)`
	return dsl.Wait(name, dsl.On(name, dsl.Custom[S, P, R](name, h)))
}
