// Package wrapped passes workflow code through wrappers of dsl
// constructors, in this package and in package kit.
package wrapped

import (
	"math/rand"
	"os"
	"time"

	"example.com/weftvet/kit"

	"github.com/weftflow/weft/dsl"
)

type S struct{ N int }

type Clock struct{}

func (Clock) Handle(s *S, p int) (int, error) { return int(time.Now().Unix()), nil } // want Handle:`nondeterministic`

// stepTwice wraps kit.Step, which wraps dsl.Step.
func stepTwice(name string, fn func(*S) error) dsl.Stmt { // want stepTwice:`wraps\(1: step \(through kit.Step\)\)`
	return dsl.S(kit.Step(name, fn), kit.Step(name+" again", fn))
}

var Workflow = dsl.MustCompile[S]("wrapped", dsl.S(
	kit.Step("roll", func(s *S) error { s.N = rand.Intn(6); return nil }),          // want `step "roll" \(through kit.Step\): rand.Intn draws random numbers`
	kit.Guard(func(s *S) bool { return os.Getenv("X") != "" }),                     // want `condition of if "guard" \(through kit.Guard\): os.Getenv`
	kit.Event[S, int, int]("tick", Clock{}),                                        // want `handler \(through kit.Event\) runs Clock.Handle: time.Now`
	stepTwice("twice", func(s *S) error { s.N = time.Now().Second(); return nil }), // want `step "twice" \(through kit.Step\) \(through stepTwice\): time.Now`
	kit.Step("fine", func(s *S) error { s.N++; return nil }),
))
