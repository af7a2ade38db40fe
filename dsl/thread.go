package dsl

import (
	"reflect"

	"github.com/weftflow/weft/internal/ast"
)

// Go starts a thread running body and continues at once. Threads are
// coroutines: they interleave only where one blocks, in a deterministic
// order. The thread's ID is name; names of Go statements are unique within a
// definition, so a thread's ID says which code it runs. Starting a thread
// whose ID is still running fails the workflow; use [GoEach] in loops.
func Go(name string, body ...Stmt) Stmt {
	return &node{kind: ast.Go, name: name, body: body}
}

// GoEach is [Go] for threads started in a loop: the thread's ID is
// name[id], with id computed from the state when the statement runs.
func GoEach[S any](name string, id func(s *S) string, body ...Stmt) Stmt {
	n := &node{kind: ast.Go, name: name, body: body, types: []reflect.Type{typeOf[S]()}}
	if id == nil {
		n.missing = "ID function"
	} else {
		n.threadID = func(s any) string { return id(s.(*S)) }
	}
	return n
}

// Join parks the thread until every thread started by the named Go
// statements has ended (at once, if none is running).
func Join(name string, threads ...string) Stmt {
	return &node{kind: ast.Join, name: name, threads: threads}
}
