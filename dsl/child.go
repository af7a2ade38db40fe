package dsl

import (
	"errors"
	"fmt"
	"reflect"
	"sort"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/ast"
	"github.com/weftflow/weft/internal/decode"
)

// ParentEndPolicy says what the end of a parent does to a child it still
// waits for: the parent was canceled, terminated or finished by another
// thread, or a migration removed the Child statement it was parked at.
type ParentEndPolicy uint8

// Parent-end policies (stored with each pending child: add, never
// renumber).
const (
	// CancelChild cancels the child: it runs its cleanup section and ends
	// as canceled. The default.
	CancelChild ParentEndPolicy = iota + 1
	// TerminateChild terminates the child: it ends at once, running no
	// workflow code.
	TerminateChild
	// AbandonChild leaves the child running on its own; its end is no
	// longer delivered to anyone.
	AbandonChild
)

// String names the policy ("cancel", "terminate", "abandon").
func (p ParentEndPolicy) String() string {
	switch p {
	case 0, CancelChild:
		return "cancel"
	case TerminateChild:
		return "terminate"
	case AbandonChild:
		return "abandon"
	}
	return "policy?"
}

// ErrChildFailed matches every *[ChildError]: a child workflow ended
// without completing.
var ErrChildFailed = errors.New("dsl: child workflow did not complete")

// ChildError is the error a [Child] statement's store function receives
// when the child instance failed, was canceled or was terminated, or could
// not be started (its ID taken by an instance that is not this parent's
// child, or not a valid ID). It matches [ErrChildFailed].
type ChildError struct {
	Workflow string // the child's workflow name
	ID       string // the child's instance ID
	Status   string // how the child ended: "failed", "canceled" or "terminated"
	Path     string // Status "failed": the child's statement that failed, if any
	Message  string // the failure message, or the termination reason
}

// Error describes the child's end.
func (e *ChildError) Error() string {
	s := fmt.Sprintf("child %q (workflow %q) %s", e.ID, e.Workflow, e.Status)
	if e.Path != "" {
		s += " at " + e.Path
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is reports whether target is [ErrChildFailed].
func (e *ChildError) Is(target error) bool { return target == ErrChildFailed }

// ChildStmt is a [Child]; its methods configure it.
type ChildStmt[S any] struct{ *node }

// Child starts an instance of another workflow, def, as a child of this
// one and parks the thread until the child ends. input computes the
// child's input (its first state, of def's state type I) from the parent's
// state when the statement is reached. When the child ends, store applies
// its end to the parent's state: out is the child's output (the value of
// its Return, decoded into O) when it completed; otherwise err is a
// *[ChildError] saying how it ended, and out is the zero O. store decides:
// return nil to carry on (the failure is handled), or an error to fail the
// parent at this statement. A nil store takes the output as is and fails
// the parent on the child's failure.
//
// The start leaves as an effect, performed by the host after the parent's
// commit (at least once: a retried start finds the child it started). The
// child's ID is the parent's ID, "/", the statement's path, "#" and the
// callback number that awaits the child, unless [ChildStmt.ID] sets a
// rule. If the parent ends first (canceled, terminated, finished by
// another thread) the child is canceled, or terminated, or abandoned: see
// [ChildStmt.OnParentEnd].
//
// def must be registered on the engine that runs the parent (registering
// the parent registers the definitions its Child statements start).
func Child[S, I, O any](name string, def *Definition, input func(s *S) I, store func(s *S, out O, err error) error) *ChildStmt[S] {
	n := &node{kind: ast.Child, name: name, types: []reflect.Type{typeOf[S]()}}
	if def == nil {
		n.missing = "definition"
		return &ChildStmt[S]{n}
	}
	if input == nil {
		n.missing = "input function"
		return &ChildStmt[S]{n}
	}
	spec := &ast.ChildSpec{Workflow: def.Name(), Def: def, OnEnd: uint8(CancelChild), Output: typeOf[O]()}
	spec.Input = func(s any) ([]byte, error) {
		v := input(s.(*S))
		return codec.Marshal(&v)
	}
	spec.Result = func(s any, id, status string, output []byte, message, path string) error {
		var out O
		var cerr error
		if status == "completed" {
			if len(output) > 0 {
				if err := decode.Into("child output", output, &out); err != nil {
					return err
				}
			}
		} else {
			cerr = &ChildError{Workflow: def.Name(), ID: id, Status: status, Path: path, Message: message}
		}
		if store == nil {
			return cerr
		}
		return store(s.(*S), out, cerr)
	}
	n.child = spec
	n.childInput = typeOf[I]()
	return &ChildStmt[S]{n}
}

// ID sets the child's instance ID rule, computed from the parent's state
// when the statement is reached. An empty ID fails the parent at the
// statement. Two Child statements (or two passes of one) that compute the
// same ID start one child: the second finds an instance that is not its
// own child and receives a *[ChildError].
func (c *ChildStmt[S]) ID(rule func(s *S) string) *ChildStmt[S] {
	if c.child == nil || rule == nil {
		return c
	}
	c.child.ID = func(s any) (string, error) {
		id := rule(s.(*S))
		if id == "" {
			return "", errors.New("the child ID rule gave an empty ID")
		}
		return id, nil
	}
	return c
}

// OnParentEnd sets what the end of the parent does to the child while the
// parent still waits for it (default [CancelChild]; 0 means the default).
// Compile rejects an unknown policy.
func (c *ChildStmt[S]) OnParentEnd(p ParentEndPolicy) *ChildStmt[S] {
	if p == 0 {
		p = CancelChild
	}
	if c.child != nil {
		c.child.OnEnd = uint8(p)
	}
	return c
}

// Children returns the definitions the Child statements of d start, by
// name, each once.
func (d *Definition) Children() []*Definition {
	seen := map[string]*Definition{}
	for _, n := range d.tree.Index {
		if n.Kind == ast.Child && n.ChildSpec != nil {
			seen[n.ChildSpec.Workflow] = n.ChildSpec.Def.(*Definition)
		}
	}
	out := make([]*Definition, 0, len(seen))
	for _, c := range seen {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// ChildWorkflow returns the workflow name the Child statement at path
// starts, and whether path is a Child statement.
func (d *Definition) ChildWorkflow(path string) (string, bool) {
	n := d.tree.Index[path]
	if n == nil || n.Kind != ast.Child || n.ChildSpec == nil {
		return "", false
	}
	return n.ChildSpec.Workflow, true
}
