// Package suppress checks the allow directive: with a reason it silences a
// finding on its line, the line below, or a whole function; without a
// reason it is reported.
package suppress

import (
	"time"

	"github.com/weftflow/weft/dsl"
)

type S struct{ N int64 }

var hits int // want hits:`mutable`

// warm fills a cache that only makes a pure lookup faster.
//
//weft:allow-nondeterminism the counter is only read by a metrics exporter
func warm() { hits++ }

func later() int64 { return time.Now().Unix() } // want later:`nondeterministic`

var Workflow = dsl.MustCompile[S]("suppress", dsl.S(
	dsl.Step("same line", func(s *S) error { s.N = time.Now().Unix(); return nil }), //weft:allow-nondeterminism only logged, never stored
	dsl.Step("line above", func(s *S) error {
		//weft:allow-nondeterminism the result is overwritten by the next event
		s.N = time.Now().Unix()
		return nil
	}),
	dsl.Step("function", func(s *S) error { warm(); return nil }),
	dsl.Step("call", func(s *S) error {
		s.N = later() //weft:allow-nondeterminism a test-only workflow
		return nil
	}),
	dsl.Step("no reason", func(s *S) error {
		/* // want `//weft:allow-nondeterminism needs a reason` */ //weft:allow-nondeterminism
		s.N = time.Now().Unix()                                    // want `step "no reason": time.Now`
		return nil
	}),
	dsl.Step("trailing", func(s *S) error {
		s.N = time.Now().Unix()  //weft:allow-nondeterminism covers this line only
		s.N += time.Now().Unix() // want `step "trailing": time.Now`
		return nil
	}),
	dsl.Step("too far", func(s *S) error {
		//weft:allow-nondeterminism two lines up does not count

		s.N = time.Now().Unix() // want `step "too far": time.Now`
		return nil
	}),
))
