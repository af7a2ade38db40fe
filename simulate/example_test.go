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
// An Example has no *testing.T, so this one passes a minimal rapid.TB that
// prints the outcome.
func ExampleCheck() {
	t := &printTB{name: "ExampleCheck"}
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
	t.print()
	// Output:
	// ok
}

// printTB is the part of *testing.T that rapid.Check uses, printing the
// failure report (if any) instead of failing a test.
type printTB struct {
	name   string
	failed bool
	report []string
}

func (t *printTB) Helper()                           {}
func (t *printTB) Name() string                      { return t.name }
func (t *printTB) Logf(format string, args ...any)   {}
func (t *printTB) Log(args ...any)                   {}
func (t *printTB) Skipf(format string, args ...any)  {}
func (t *printTB) Skip(args ...any)                  {}
func (t *printTB) SkipNow()                          {}
func (t *printTB) Errorf(format string, args ...any) { t.Error(fmt.Sprintf(format, args...)) }
func (t *printTB) Error(args ...any) {
	t.failed = true
	t.report = append(t.report, fmt.Sprint(args...))
}
func (t *printTB) Fatalf(format string, args ...any) { t.Errorf(format, args...) }
func (t *printTB) Fatal(args ...any)                 { t.Error(args...) }
func (t *printTB) FailNow()                          { t.failed = true }
func (t *printTB) Fail()                             { t.failed = true }
func (t *printTB) Failed() bool                      { return t.failed }

func (t *printTB) print() {
	if !t.failed {
		fmt.Println("ok")
		return
	}
	fmt.Println(strings.Join(t.report, "\n"))
}
