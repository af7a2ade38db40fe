package dsl

import (
	"errors"
	"fmt"
)

// ErrCompile matches every error [Compile] returns, via errors.Is.
var ErrCompile = errors.New("dsl: invalid workflow definition")

// ErrNoActivity is wrapped by the error of an activity attempt whose
// path is not a Call statement of the definition (a run-activity effect
// left by another version of the workflow, say).
var ErrNoActivity = errors.New("dsl: no activity at path")

// ErrActivityPanic is wrapped by the error of an activity attempt whose
// function panicked: the engine delivers it as a failed attempt, and the
// run function an engine.ActivityRunner is handed returns it.
var ErrActivityPanic = errors.New("dsl: activity panicked")

// CompileError is one problem found by [Compile]. Path is the statement's
// position path; statements without one are named by their parent's path
// and number, as in "decision/#2".
type CompileError struct {
	Workflow string
	Path     string
	Msg      string
}

// Error formats the problem with the workflow and the path.
func (e *CompileError) Error() string {
	where := e.Path
	if where == "" {
		where = "workflow"
	}
	return fmt.Sprintf("dsl: %q: %s: %s", e.Workflow, where, e.Msg)
}

// Is reports whether target is [ErrCompile].
func (e *CompileError) Is(target error) bool { return target == ErrCompile }
