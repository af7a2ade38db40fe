package dsl

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/weftflow/weft/internal/ast"
)

func init() {
	ast.TreeOf = func(d any) *ast.Tree { return d.(*Definition).tree }
}

// Definition is a compiled workflow: immutable and safe for concurrent use
// by any number of interpreters and hosts. Make one with [Compile].
type Definition struct {
	tree *ast.Tree
}

// Name returns the workflow's name, as stored with each instance.
func (d *Definition) Name() string { return d.tree.Name }

// Version returns the definition's version (see [Version]).
func (d *Definition) Version() int { return d.tree.Version }

// StateType returns the workflow's state type S.
func (d *Definition) StateType() reflect.Type { return d.tree.StateType }

// Positions returns every position path of the definition, sorted: the
// places a thread can be parked at or pass through by name.
func (d *Definition) Positions() []string { return sortedPaths(d.tree) }

// Has reports whether path is a position of the definition.
func (d *Definition) Has(path string) bool { _, ok := d.tree.Index[path]; return ok }

// RunActivity runs the activity of the Call statement at path on an encoded
// state snapshot and returns its encoded result. It is what a host calls for
// a run-activity effect. A panic in the activity is returned as an error.
// It returns an error wrapping [ErrNoActivity] if path is not a Call.
func (d *Definition) RunActivity(ctx context.Context, path string, input []byte) (out []byte, err error) {
	n := d.tree.Index[path]
	if n == nil || n.Kind != ast.Call {
		return nil, fmt.Errorf("%w: %q in workflow %q", ErrNoActivity, path, d.tree.Name)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: activity %q: %v", ErrActivityPanic, path, r)
		}
	}()
	return n.Activity(ctx, input)
}

// ActivityTimeout returns the per-attempt timeout of the Call at path (0:
// none) and whether path is a Call.
func (d *Definition) ActivityTimeout(path string) (time.Duration, bool) {
	n := d.tree.Index[path]
	if n == nil || n.Kind != ast.Call {
		return 0, false
	}
	return n.Timeout, true
}
