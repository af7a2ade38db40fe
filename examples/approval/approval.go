// Package approval is the workflow from the README of gorchestrate/async,
// the library weft descends from, written in weft: a first step fills the
// state, an early return when there is nothing to approve, a wait on a
// ten-minute timeout versus a manager's approve/deny decision (a custom
// event with a reply and a setup effect that asks the manager), a second
// thread that sends a reminder, and a reusable "finish" section used from
// two places.
package approval

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
)

// Request is the workflow's state.
type Request struct {
	ID       string
	User     string
	Amount   int
	Approved bool
	Reason   string
	Reminded bool
	Notified string // the message the notify activity delivered
}

// Decision is the payload of the "decide" event.
type Decision struct {
	Approve bool
	Reason  string
}

// Manager handles the "decide" event. Its Setup asks the manager (the host
// performs the setup effect, say by sending a message with the callback ID);
// Handle records the answer and replies to the manager.
type Manager struct{}

// Handle validates and records a decision.
func (Manager) Handle(s *Request, d Decision) (string, error) {
	if !d.Approve && d.Reason == "" {
		return "", errors.New("a denial needs a reason")
	}
	s.Approved, s.Reason = d.Approve, d.Reason
	if d.Approve {
		return fmt.Sprintf("approved %s's request for %d", s.User, s.Amount), nil
	}
	return fmt.Sprintf("denied %s's request: %s", s.User, d.Reason), nil
}

// Setup is the data of the setup effect: what the manager is asked.
func (Manager) Setup(s *Request) any {
	return map[string]any{"user": s.User, "amount": s.Amount}
}

// Workflow is the approval definition.
var Workflow = dsl.MustCompile[Request]("approval", dsl.S(
	dsl.Step("load request", func(s *Request) error {
		// A real workflow would look the request up; here the start input
		// carries it, and the step normalises it.
		if s.Amount < 0 {
			return fmt.Errorf("negative amount %d", s.Amount)
		}
		return nil
	}),
	dsl.If("nothing to approve", func(s *Request) bool { return s.User == "" || s.Amount == 0 },
		dsl.Return("nothing to approve")),
	dsl.Go("reminder",
		dsl.Wait("remind later", dsl.On("five minutes", dsl.After(5*time.Minute),
			dsl.Step("remind", func(s *Request) error { s.Reminded = true; return nil })))),
	dsl.Wait("decision",
		dsl.On("timeout", dsl.After(10*time.Minute),
			dsl.Step("deny on timeout", func(s *Request) error { s.Reason = "timed out"; return nil }),
			finish()),
		dsl.On("decide", dsl.Custom[Request, Decision, string]("ask-manager", Manager{}), finish()),
	),
))

// finish is the reusable section: notify the user through an activity, then
// return the outcome. It is used under both events of "decision", so its
// paths are decision/timeout/finish/... and decision/decide/finish/...
func finish() dsl.Stmt {
	return dsl.Section("finish",
		dsl.Call("notify", Notify, func(s *Request, msg string) { s.Notified = msg }),
		dsl.ReturnWith(func(s *Request) string {
			if s.Approved {
				return "approved"
			}
			return "denied: " + s.Reason
		}),
	)
}

// Notify is the activity that tells the user the outcome. It runs in the
// host, outside the interpreter; this one only formats the message.
func Notify(ctx context.Context, s Request) (string, error) {
	if s.Approved {
		return fmt.Sprintf("to %s: your request %s is approved", s.User, s.ID), nil
	}
	return fmt.Sprintf("to %s: your request %s is denied (%s)", s.User, s.ID, s.Reason), nil
}
