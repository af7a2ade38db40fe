// Package chain calls nondeterministic code through other functions, in this
// package and in package clock: findings name the chain.
package chain

import (
	"time"

	"example.com/weftvet/clock"

	"github.com/weftflow/weft/dsl"
)

type S struct {
	N  int64
	OK bool
}

func pay(s *S) { s.N = now() } // want pay:`nondeterministic\(pay -> now -> clock.Stamp -> Now: time.Now`

func now() int64 { return clock.Stamp() } // want now:`nondeterministic\(now -> clock.Stamp -> Now: time.Now`

type account struct{ balance int64 }

func (a *account) charge() int64 { return a.balance + clock.Now().Unix() } // want charge:`nondeterministic\(account.charge -> clock.Now: time.Now`

func ready(s *S) bool { return s.N > 0 && clock.Hits > 2 } // want ready:`nondeterministic\(ready: reads package-level variable clock.Hits`

// Recursive functions end: the cycle adds nothing, the clock read is found.
func even(n int) bool { // want even:`nondeterministic\(even -> odd -> timeNowIsSet -> clockNow -> clock.Now: time.Now`
	if n == 0 {
		return true
	}
	return odd(n - 1)
}

func odd(n int) bool { // want odd:`nondeterministic\(odd -> timeNowIsSet -> clockNow -> clock.Now: time.Now`
	if n == 0 {
		return clock.Zone == "UTC" && timeNowIsSet()
	}
	return even(n - 1)
}

func timeNowIsSet() bool { return !clockNow().IsZero() } // want timeNowIsSet:`nondeterministic`

func clockNow() interface{ IsZero() bool } { return clock.Now() } // want clockNow:`nondeterministic\(clockNow -> clock.Now`

var Workflow = dsl.MustCompile[S]("chain", dsl.S(
	dsl.Step("charge", func(s *S) error { pay(s); return nil }), // want `step "charge" calls pay -> now -> clock.Stamp -> Now: time.Now reads the wall clock, which differs between a run and its replay; .* \(clock.go:9\)`
	dsl.Step("method", func(s *S) error { // the method's chain
		a := &account{}
		s.N = a.charge() // want `step "method" calls account.charge -> clock.Now: time.Now reads the wall clock`
		return nil
	}),
	dsl.Step("named", stepFunc),                                                   // want `step "named" runs stepFunc -> clock.Count: writes package-level variable Hits`
	dsl.If("ready", ready, dsl.Return("ready")),                                   // want `condition of if "ready" runs ready: reads package-level variable clock.Hits, which is written outside init \(at clock.go:25\)`
	dsl.WaitFor("even", func(s *S) bool { return even(int(s.N)) }),                // want `condition of wait-for "even" calls even -> odd -> timeNowIsSet -> clockNow -> clock.Now: time.Now`
	dsl.Step("made", makeStep(3)),                                                 // want `step "made" is made by makeStep: time.Now reads the wall clock`
	dsl.Step("direct", func(s *S) error { s.N = clock.Now().Unix(); return nil }), // want `step "direct" calls clock.Now: time.Now`
	dsl.Step("fine", func(s *S) error { s.N = int64(clock.Double(int(s.N))); return nil }),
))

func stepFunc(s *S) error { clock.Count(); return nil } // want stepFunc:`nondeterministic\(stepFunc -> clock.Count`

// makeStep builds a step function; the function it returns is checked as
// part of it.
func makeStep(n int64) func(*S) error { // want makeStep:`nondeterministic\(makeStep: time.Now`
	return func(s *S) error {
		s.N = n + time.Now().Unix()
		return nil
	}
}

// A condition kept in a variable: its literal is checked where it is.
var late = func(s *S) bool {
	return time.Now().Unix() > s.N // want `condition of if "late": time.Now reads the wall clock`
}

// A variable that is reassigned is not followed (it may hold anything).
var swapped = func(s *S) bool { return time.Now().Unix() > s.N } // want swapped:`mutable`

func swap() { swapped = func(*S) bool { return false } } // want swap:`nondeterministic\(swap: writes package-level variable swapped`

var Vars = dsl.MustCompile[S]("vars", dsl.S(
	dsl.If("late", late, dsl.Return("late")),
	dsl.If("swapped", swapped, dsl.Return("swapped")),
	dsl.Step("local", func(s *S) error { return nil }),
))

func localCond() dsl.Stmt { // want localCond:`nondeterministic`
	cond := func(s *S) bool { return s.N > int64(len(time.Now().String())) } // want `condition of while "local": time.Now reads the wall clock`
	return dsl.While("local", cond)
}
