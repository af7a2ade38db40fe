package dsl

import (
	"reflect"

	"github.com/weftflow/weft/internal/ast"
)

// Return completes the workflow with output, from any thread: every pending
// wait of every thread is torn down. Falling off the end of the main body is
// Return(nil).
func Return(output any) Stmt {
	return &node{kind: ast.Return, output: func(any) (any, error) { return output, nil }}
}

// ReturnWith completes the workflow with an output computed from the state.
func ReturnWith[S, O any](fn func(s *S) O) Stmt {
	n := &node{kind: ast.Return, types: []reflect.Type{typeOf[S]()}}
	if fn == nil {
		n.missing = "function"
	} else {
		n.output = func(s any) (any, error) { return fn(s.(*S)), nil }
	}
	return n
}

// Fail ends the workflow as failed with err; its message and the statement
// path are recorded in the instance's meta.
func Fail(err error) Stmt {
	n := &node{kind: ast.Fail}
	if err == nil {
		n.missing = "error"
	} else {
		n.err = func(any) error { return err }
	}
	return n
}

// FailWith fails the workflow with an error computed from the state.
func FailWith[S any](fn func(s *S) error) Stmt {
	n := &node{kind: ast.Fail, types: []reflect.Type{typeOf[S]()}}
	if fn == nil {
		n.missing = "function"
	} else {
		n.err = func(s any) error { return fn(s.(*S)) }
	}
	return n
}
