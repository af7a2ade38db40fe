// Package quickstart is the workflow of the README, kept compiling and
// tested here so the README cannot drift from the code.
package quickstart

import (
	"context"
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
)

// Approval is the workflow's state.
type Approval struct {
	User     string
	Approved bool
	Notified string
}

var approval = dsl.MustCompile[Approval]("approval", dsl.S(
	dsl.Step("load user", func(s *Approval) error { s.User = "ada"; return nil }),
	dsl.If("no user", func(s *Approval) bool { return s.User == "" },
		dsl.Return("no user")),
	dsl.Wait("decision",
		dsl.On("timeout", dsl.After(10*time.Minute), finish("timed out")),
		dsl.On("answer", dsl.Signal(func(s *Approval, yes bool) (string, error) {
			s.Approved = yes // a pure handler: validates, updates state, replies
			return "noted", nil
		}), finish("answered")),
	),
))

// finish is a reusable section, used from two places.
func finish(why string) dsl.Stmt {
	return dsl.Section("finish",
		dsl.Call("notify", notify, func(s *Approval, msg string) { s.Notified = msg }),
		dsl.Return(why))
}

// notify is an activity: it runs in the engine, outside the interpreter.
func notify(ctx context.Context, s Approval) (string, error) {
	return fmt.Sprintf("told %s: approved=%v", s.User, s.Approved), nil
}

// Workflow is the README's approval definition.
var Workflow = approval
