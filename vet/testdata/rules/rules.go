// Package rules has one finding of each kind, in each place the dsl runs
// workflow code.
package rules

import (
	crand "crypto/rand"
	"maps"
	"math/rand"
	randv2 "math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/weftflow/weft/dsl"
)

type S struct {
	N     int
	Names map[string]int
	Keys  []string
	At    time.Time
}

var counter int // want counter:`mutable`

func bump() { counter++ } // want bump:`nondeterministic\(bump: writes package-level variable counter`

var Clock = dsl.MustCompile[S]("clock", dsl.S(
	dsl.Step("now", func(s *S) error { s.At = time.Now(); return nil }),                           // want `step "now": time.Now reads the wall clock, which differs between a run and its replay; use the time of the event`
	dsl.Step("since", func(s *S) error { s.N = int(time.Since(s.At)); return nil }),               // want `step "since": time.Since reads the wall clock`
	dsl.Step("until", func(s *S) error { s.N = int(time.Until(s.At)); return nil }),               // want `step "until": time.Until reads the wall clock`
	dsl.Step("sleep", func(s *S) error { time.Sleep(time.Millisecond); return nil }),              // want `step "sleep": time.Sleep waits on the wall clock inside the interpreter; wait with dsl.Wait and dsl.After`
	dsl.Step("timer", func(s *S) error { t := time.NewTimer(time.Second); t.Stop(); return nil }), // want `time.NewTimer waits on the wall clock` `time.Timer.Stop waits on the wall clock`
	dsl.Step("after", func(s *S) error { <-time.After(time.Second); return nil }),                 // want `channel receive synchronizes with other goroutines` `time.After waits`
	dsl.Step("ticker", func(s *S) error { time.NewTicker(time.Second).Stop(); return nil }),       // want `time.NewTicker waits` `time.Ticker.Stop waits`
	dsl.Step("zone", func(s *S) error { s.At = s.At.In(time.Local); return nil }),                 // want `time.Local depends on the host's time zone`
	dsl.Step("local", func(s *S) error { s.At = s.At.Local(); return nil }),                       // want `time.Time.Local depends on the host's time zone`
))

var Random = dsl.MustCompile[S]("random", dsl.S(
	dsl.If("coin", func(s *S) bool { return rand.Intn(2) == 0 }, // want `condition of if "coin": rand.Intn draws random numbers, different on every run; draw them in a dsl.Call activity`
		dsl.Return("heads")).
		ElseIf("v2", func(s *S) bool { return randv2.IntN(2) == 0 }, // want `condition of else-if "v2": rand.IntN draws random numbers`
			dsl.Return("v2")),
	dsl.Step("crypto", func(s *S) error { b := make([]byte, 4); _, err := crand.Read(b); return err }), // want `step "crypto": rand.Read draws random numbers`
))

var Maps = dsl.MustCompile[S]("maps", dsl.S(
	dsl.Step("range", func(s *S) error {
		for k := range s.Names { // want `step "range": range over a map visits the keys in a random order, different on every run; iterate slices.Sorted\(maps.Keys\(m\)\) instead`
			s.Keys = append(s.Keys, k)
		}
		return nil
	}),
	dsl.Step("first", func(s *S) error {
		for k, v := range s.Names { // want `range over a map visits the keys in a random order`
			if v > 0 {
				s.Keys = []string{k}
				break
			}
		}
		return nil
	}),
	dsl.Step("keys", func(s *S) error {
		for k := range maps.Keys(s.Names) { // want `step "keys": maps.Keys visits the keys in a random order`
			s.Keys = append(s.Keys, k)
		}
		return nil
	}),
	dsl.While("float", func(s *S) bool {
		f := 0.0
		for _, v := range s.Names { // want `condition of while "float": range over a map`
			f += float64(v) / 3 // float addition does not commute exactly
		}
		return f < 10
	}),
))

var Concurrency = dsl.MustCompile[S]("concurrency", dsl.S(
	dsl.Step("go", func(s *S) error {
		done := make(chan int, 1)
		go func() { done <- 1 }() // want `step "go": go statement starts a goroutine` `step "go": channel send synchronizes`
		s.N = <-done              // want `step "go": channel receive synchronizes`
		return nil
	}),
	dsl.WaitFor("select", func(s *S) bool {
		c := make(chan int)
		select { // want `condition of wait-for "select": select synchronizes`
		case v := <-c:
			return v > 0
		case c <- 1:
			return true
		default:
			return false
		}
	}),
	dsl.Step("range chan", func(s *S) error {
		c := make(chan int)
		close(c)
		for v := range c { // want `step "range chan": range over a channel synchronizes`
			s.N += v
		}
		return nil
	}),
))

var Globals = dsl.MustCompile[S]("globals", dsl.S(
	dsl.Step("write", func(s *S) error { counter = s.N; return nil }),             // want `step "write": writes package-level variable counter, which is neither stored nor replayed`
	dsl.Step("read", func(s *S) error { s.N = counter; return nil }),              // want `step "read": reads package-level variable counter, which is written outside init \(at rules.go:\d+\)`
	dsl.Step("address", func(s *S) error { p := &counter; s.N = *p; return nil }), // want `step "address": writes package-level variable counter`
	dsl.Step("call", func(s *S) error { bump(); return nil }),                     // want `step "call" calls bump: writes package-level variable counter`
))

var Outside = dsl.MustCompile[S]("outside", dsl.S(
	dsl.Step("env", func(s *S) error { s.Keys = []string{os.Getenv("HOME")}; return nil }),     // want `step "env": os.Getenv reads the process environment, which differs between hosts and runs; pass the value in the state or an event payload`
	dsl.Step("args", func(s *S) error { s.N = len(os.Args); return nil }),                      // want `step "args": os.Args reads the process environment`
	dsl.Step("file", func(s *S) error { _, err := os.ReadFile("x"); return err }),              // want `step "file": os.ReadFile does I/O, whose result differs between runs; do it in a dsl.Call activity`
	dsl.Step("net", func(s *S) error { _, err := net.Dial("tcp", "x:1"); return err }),         // want `step "net": net.Dial does I/O`
	dsl.Step("http", func(s *S) error { _, err := http.Get("http://x"); return err }),          // want `step "http": http.Get does I/O`
	dsl.Step("client", func(s *S) error { _, err := http.DefaultClient.Get("x"); return err }), // want `step "client": http.Client.Get does I/O`
	dsl.Step("runtime", func(s *S) error { s.N = runtime.NumGoroutine(); return nil }),         // want `step "runtime": runtime.NumGoroutine depends on the process`
))

// Functions used as values are reported as if called.
var Values = dsl.MustCompile[S]("values", dsl.S(
	dsl.Step("clock value", func(s *S) error {
		now := time.Now // want `step "clock value": time.Now reads the wall clock`
		s.At = now()
		return nil
	}),
	dsl.Step("callback", func(s *S) error {
		for _, f := range []func(){bump} { // want `step "callback" calls bump: writes package-level variable counter`
			f()
		}
		return nil
	}),
))
