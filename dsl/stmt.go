package dsl

import (
	"context"
	"reflect"
	"time"

	"github.com/weftflow/weft/internal/ast"
)

// Stmt is a statement of a workflow body. Only this package can make one:
// use the constructors ([Step], [If], [Wait], ...). A Stmt is a description;
// [Compile] turns a tree of them into an immutable [Definition].
type Stmt interface {
	proto() *node
}

// node is a statement before compilation. Constructors fill it; Compile reads
// it and never keeps it, so reusing a Stmt in several places is safe.
type node struct {
	kind  ast.Kind // 0: an unnamed sequence made by S, flattened into its parent
	name  string
	body  []Stmt
	arms  []*node // If: Branch nodes; Wait: On nodes
	types []reflect.Type

	cond       func(any) bool
	hasCond    bool // a nil cond on an If arm means "else"; this marks a condition that was given (maybe nil)
	run        func(any) error
	retry      *RetryPolicy
	trigger    *ast.Trigger
	activity   func(context.Context, []byte) ([]byte, error)
	result     func(any, []byte) error
	resultT    reflect.Type
	timeout    time.Duration
	threadID   func(any) string
	threads    []string
	output     func(any) (any, error)
	err        func(any) error
	child      *ast.ChildSpec // Child
	childInput reflect.Type   // Child: the input type I
	missing    string         // what the constructor was given nil for, reported by Compile
}

func (n *node) proto() *node { return n }

func typeOf[S any]() reflect.Type { return reflect.TypeFor[S]() }

// S groups statements into one. It adds no name and no path element: its
// statements behave as if written in place of it.
func S(stmts ...Stmt) Stmt { return &node{body: stmts} }

// Section names a reusable group of statements. Write a Go function that
// returns a Section to use the same code in several places; each use must be
// reachable by a distinct path (different parents, or different names).
func Section(name string, body ...Stmt) Stmt {
	return &node{kind: ast.Block, name: name, body: body}
}
