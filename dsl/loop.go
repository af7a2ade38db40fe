package dsl

import (
	"reflect"

	"github.com/weftflow/weft/internal/ast"
)

// For repeats body until a [Break] leaves it (Go's `for { ... }`). Each
// iteration counts against the transition's statement budget, so a loop that
// never blocks yields to the host instead of hanging.
func For(name string, body ...Stmt) Stmt {
	return &node{kind: ast.Loop, name: name, body: body}
}

// While repeats body while cond holds; cond is evaluated before every
// iteration.
func While[S any](name string, cond func(s *S) bool, body ...Stmt) Stmt {
	n := &node{kind: ast.Loop, name: name, body: body, hasCond: true, types: []reflect.Type{typeOf[S]()}}
	if cond == nil {
		n.missing = "condition"
	} else {
		n.cond = func(s any) bool { return cond(s.(*S)) }
	}
	return n
}

// Break leaves the innermost enclosing loop of the same thread. It may sit
// inside branches and event bodies of that loop.
func Break() Stmt { return &node{kind: ast.Break} }

// Continue starts the next iteration of the innermost enclosing loop.
func Continue() Stmt { return &node{kind: ast.Continue} }
