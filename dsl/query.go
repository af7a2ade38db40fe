package dsl

import (
	"reflect"
	"sort"

	"github.com/weftflow/weft/internal/ast"
)

// Query declares a query handler: a named, read-only projection of the
// workflow's state, such as an order's total or the lines still to ship.
// Hosts run it on an instance's last committed state (engine.Engine.Query,
// the weft query command, the HTTP handler's query route) without an event:
// it changes nothing, and fn gets a decoded copy of the state, so a change
// it makes is not kept. fn must not block or do I/O: it runs while a
// caller waits. S must be the definition's state type, and names must be
// unique and not empty; [Compile] reports a query that breaks a rule.
//
// Temporal's query handlers are the same idea; unlike them, a weft query
// needs no worker to replay history, so it answers for any instance in the
// store, running or finished.
func Query[S, R any](name string, fn func(s *S) R) Option {
	return func(c *config) {
		c.queries = append(c.queries, queryDecl{name: name, state: typeOf[S](), result: reflect.TypeFor[R](), nilFn: fn == nil,
			run: func(s any) any { return fn(s.(*S)) }})
	}
}

type queryDecl struct {
	name   string
	state  reflect.Type
	result reflect.Type
	nilFn  bool
	run    func(s any) any
}

func (c *compiler) compileQueries(cfg config) {
	for _, q := range cfg.queries {
		switch {
		case q.name == "":
			c.errorf("", "a query has no name")
			continue
		case q.nilFn:
			c.errorf("", "query %q has a nil function", q.name)
			continue
		case q.state != c.state:
			c.errorf("", "query %q takes *%v, but the workflow's state is %v", q.name, q.state, c.state)
			continue
		case c.tree.Queries[q.name] != nil:
			c.errorf("", "two queries are named %q", q.name)
			continue
		}
		if c.tree.Queries == nil {
			c.tree.Queries = map[string]*ast.Query{}
		}
		c.tree.Queries[q.name] = &ast.Query{Name: q.name, Result: q.result, Run: q.run}
	}
}

// Queries returns the names of the definition's queries (see [Query]),
// sorted.
func (d *Definition) Queries() []string {
	names := make([]string, 0, len(d.tree.Queries))
	for n := range d.tree.Queries {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
