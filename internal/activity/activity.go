// Package activity runs the activities of a compiled workflow's Call
// statements: what a host does for a run-activity effect. It reaches the
// definition's statement tree through ast.TreeOf.
//
// It is internal because running an activity by its path is the engine's
// plumbing, not an API: hosts let the engine run activities, and a host
// that wants a say in an attempt wraps it with an engine.ActivityRunner,
// which is handed the run. The errors it returns wrap the dsl sentinels
// users match, [dsl.ErrNoActivity] and [dsl.ErrActivityPanic].
package activity

import (
	"context"
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/ast"
)

// Run runs the activity of the Call statement at path of def on an encoded
// state snapshot (a RunActivity effect's Data) and returns its encoded
// result. A panic in the activity is returned as an error wrapping
// [dsl.ErrActivityPanic]; a path that is not a Call of def gives an error
// wrapping [dsl.ErrNoActivity]. Other errors are the activity's own, or
// the codec's for an input that does not decode as def's state.
func Run(ctx context.Context, def *dsl.Definition, path string, input []byte) (out []byte, err error) {
	n := call(def, path)
	if n == nil {
		return nil, fmt.Errorf("%w: %q in workflow %q", dsl.ErrNoActivity, path, def.Name())
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: activity %q: %v", dsl.ErrActivityPanic, path, r)
		}
	}()
	return n.Activity(ctx, input)
}

// Timeout returns the per-attempt timeout of the Call at path of def (0:
// none) and whether path is a Call.
func Timeout(def *dsl.Definition, path string) (time.Duration, bool) {
	n := call(def, path)
	if n == nil {
		return 0, false
	}
	return n.Timeout, true
}

// call is the Call statement at path, or nil.
func call(def *dsl.Definition, path string) *ast.Node {
	n := ast.TreeOf(def).Index[path]
	if n == nil || n.Kind != ast.Call {
		return nil
	}
	return n
}
