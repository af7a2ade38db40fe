package simulate_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/simulate"
	"pgregory.net/rapid"
)

// Ticket is the state of a support ticket: the customer may add notes until
// an agent closes it, or it closes itself after a week.
type Ticket struct {
	Notes    []string
	Closed   bool
	Reason   string
	Notified string
}

var ticket = dsl.MustCompile[Ticket]("ticket", dsl.S(
	dsl.For("open",
		dsl.Wait("activity",
			dsl.On("note", dsl.Signal(func(s *Ticket, note string) (int, error) {
				if strings.TrimSpace(note) == "" {
					return 0, errors.New("empty note")
				}
				s.Notes = append(s.Notes, note)
				return len(s.Notes), nil
			})),
			dsl.On("close", dsl.Signal(func(s *Ticket, reason string) (bool, error) {
				s.Closed, s.Reason = true, reason
				return true, nil
			}), dsl.Break()),
			dsl.On("stale", dsl.After(7*24*time.Hour),
				dsl.Step("auto close", func(s *Ticket) error { s.Closed, s.Reason = true, "no activity"; return nil }),
				dsl.Break()),
		),
	),
	dsl.Call("notify", func(ctx context.Context, s Ticket) (string, error) {
		return fmt.Sprintf("closed after %d notes: %s", len(s.Notes), s.Reason), nil
	}, func(s *Ticket, msg string) { s.Notified = msg }),
))

// Check property-tests a workflow. In a test it is one line:
//
//	func TestTicket(t *testing.T) {
//		simulate.Check(t, ticket, simulate.Options[Ticket]{...})
//	}
//
// An Example has no *testing.T, so this one passes a [simulate.Recorder]
// and prints the outcome.
func ExampleCheck() {
	t := &simulate.Recorder{TestName: "ExampleCheck"}
	simulate.Check(t, ticket, simulate.Options[Ticket]{
		// Notes are short words or blank, the blank ones rejected.
		Payloads: map[string]func(*rapid.T) any{
			"note": func(t *rapid.T) any { return rapid.SampledFrom([]string{"hi", "bug", " "}).Draw(t, "note") },
		},
		// Checked on the committed state after every simulated action.
		Invariant: func(s *Ticket) error {
			if s.Notified != "" && !s.Closed {
				return errors.New("notified about an open ticket")
			}
			for _, n := range s.Notes {
				if strings.TrimSpace(n) == "" {
					return errors.New("a blank note was accepted")
				}
			}
			return nil
		},
	})
	if t.Failed() {
		fmt.Println(t.Report())
	} else {
		fmt.Println("ok")
	}
	// Output:
	// ok
}

// Check returns the coverage its runs reached: every statement where a
// thread can wait and every event the simulator can cause, each with how
// many times the runs reached it (Count, zero for never). Missed lists
// those no run reached; a test can fail on them, or log cov.String().
func ExampleCoverage() {
	t := &simulate.Recorder{TestName: "ExampleCoverage"}
	cov := simulate.Check(t, ticket, simulate.Options[Ticket]{
		Payloads: map[string]func(*rapid.T) any{
			"note": func(t *rapid.T) any { return rapid.SampledFrom([]string{"hi", "bug", " "}).Draw(t, "note") },
		},
	})
	fmt.Println("runs:", cov.Runs > 0)
	for _, v := range cov.Positions {
		fmt.Println(v.Name)
	}
	for _, v := range cov.Events {
		fmt.Println(v.Name)
	}
	// Output:
	// runs: true
	// "open/activity" (wait)
	// "notify" (call)
	// deliver note at "open/activity"
	// deliver close at "open/activity"
	// timer stale at "open/activity"
	// cancel at "open/activity"
	// terminate at "open/activity"
	// activity "notify" succeeds
	// activity "notify" fails
	// cancel at "notify"
	// terminate at "notify"
	// end completed
	// end failed
	// end canceled
	// end terminated
}
