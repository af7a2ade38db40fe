package dsl

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/ast"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/internal/statecopy"
)

// Option configures a definition at [Compile].
type Option func(*config)

type config struct {
	cancel     []Stmt
	budget     int
	retry      RetryPolicy
	version    int
	migrations []Migration
	queries    []queryDecl
}

// OnCancel sets the cleanup section, run as thread "cancel" after a cancel
// event has torn down every pending wait. It may wait on events itself (a
// refund call, say). Its paths start with "@cancel".
func OnCancel(body ...Stmt) Option { return func(c *config) { c.cancel = body } }

// Budget sets how many statements (steps and loop iterations) one
// transition may run before the thread yields with a resume effect. It
// bounds the work of one interpreter call; it is not an error to exceed it.
// The default is 1000; 1 checkpoints after every step.
func Budget(n int) Option { return func(c *config) { c.budget = n } }

// DefaultRetry sets the retry policy of steps and calls that set none.
func DefaultRetry(p RetryPolicy) Option { return func(c *config) { c.retry = p } }

// DefaultBudget is the statement budget of a transition unless [Budget] sets one.
const DefaultBudget = 1000

// Compile validates a workflow body and returns its immutable definition.
// S is the workflow's state type: every typed function in the tree must take
// *S. On failure it returns every problem found, each a *[CompileError]
// naming the statement path, joined with errors.Join.
func Compile[S any](name string, body Stmt, opts ...Option) (*Definition, error) {
	cfg := config{budget: DefaultBudget, retry: defaultRetry, version: 1}
	for _, o := range opts {
		o(&cfg)
	}
	st := typeOf[S]()
	c := &compiler{
		workflow: name,
		state:    st,
		places:   map[string]string{},
		tree: &ast.Tree{
			Name:      name,
			StateType: st,
			Index:     map[string]*ast.Node{},
			Gos:       map[string]*ast.Node{},
			Budget:    cfg.budget,
			NewState:  func() any { return new(S) },
			Copy:      statecopy.Of[S](),
			Encode:    func(s any) ([]byte, error) { return codec.Marshal(s.(*S)) },
			Decode: func(b []byte) (any, error) {
				s := new(S)
				if err := decode.Into("state", b, s); err != nil {
					return nil, err
				}
				return s, nil
			},
		},
	}
	if name == "" {
		c.errorf("", "the workflow has no name")
	}
	if cfg.budget < 1 {
		c.errorf("", "budget must be at least 1, got %d", cfg.budget)
	}
	var msg string
	if c.tree.Retry, msg = cfg.retry.compile(); msg != "" {
		c.errorf("", "default %s", msg)
	}
	main := &ast.Node{Kind: ast.Root}
	c.tree.Main, c.tree.Index[""] = main, main
	if body != nil {
		main.Body = c.seq(main, []Stmt{body}, nil)
	}
	if cfg.cancel != nil {
		cl := &ast.Node{Kind: ast.Root, Name: ast.CancelPath, Path: ast.CancelPath}
		c.tree.Cancel, c.tree.Index[cl.Path] = cl, cl
		cl.Body = c.seq(cl, cfg.cancel, nil)
	}
	c.compileMigrations(cfg)
	c.compileQueries(cfg)
	for _, j := range c.joins {
		for _, t := range j.Threads {
			if c.tree.Gos[t] == nil {
				c.errorf(j.Path, "join waits for thread %q, but no Go statement has that name", t)
			}
		}
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	for _, n := range c.tree.Index {
		if n.Kind == ast.Child {
			c.tree.Setups = true // start-child and end-child are ordered like setups and teardowns
		}
		for _, on := range n.Branches {
			if on.Trigger != nil && on.Trigger.Setup != nil {
				c.tree.Setups = true
			}
		}
	}
	return &Definition{tree: c.tree}, nil
}

// MustCompile is [Compile] for package-level definitions: it panics on error.
func MustCompile[S any](name string, body Stmt, opts ...Option) *Definition {
	d, err := Compile[S](name, body, opts...)
	if err != nil {
		panic(err)
	}
	return d
}

type compiler struct {
	workflow string
	state    reflect.Type
	tree     *ast.Tree
	places   map[string]string // path -> where it was defined, for duplicate reports
	joins    []*ast.Node
	errs     []error
}

func (c *compiler) errorf(path, format string, args ...any) {
	c.errs = append(c.errs, &CompileError{Workflow: c.workflow, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// seq compiles a statement list into parent's body, flattening S groups.
// loop is the innermost loop of the current thread (nil outside loops).
func (c *compiler) seq(parent *ast.Node, stmts []Stmt, loop *ast.Node) []*ast.Node {
	var out []*ast.Node
	var flat func([]Stmt)
	flat = func(ss []Stmt) {
		for _, s := range ss {
			if s == nil || s.proto() == nil {
				c.errorf(place(parent, len(out), true), "nil statement")
				continue
			}
			p := s.proto()
			if p.kind == 0 {
				flat(p.body)
				continue
			}
			out = append(out, c.node(parent, p, len(out), true, loop))
		}
	}
	flat(stmts)
	return out
}

// unnamed reports kinds that never hold a position and so need no name.
func unnamed(k ast.Kind) bool {
	return k == ast.Break || k == ast.Continue || k == ast.Return || k == ast.Fail
}

func (c *compiler) node(parent *ast.Node, p *node, index int, inBody bool, loop *ast.Node) *ast.Node {
	n := &ast.Node{Kind: p.kind, Name: p.name, Parent: parent, Index: index, InBody: inBody}
	where := place(parent, index, inBody)
	if !unnamed(p.kind) {
		switch {
		case p.name == "":
			c.errorf(where, "unnamed %s: statements that can hold a position need a name", p.kind)
		case strings.Contains(p.name, "/") || strings.HasPrefix(p.name, "@"):
			c.errorf(where, "%s name %q: names may not contain '/' or start with '@'", p.kind, p.name)
		default:
			n.Path = join(parent.Path, p.name)
			where = n.Path
			if prev, dup := c.places[n.Path]; dup {
				c.errorf(n.Path, "duplicate path: %s at %s and %s at %s", prev[:strings.IndexByte(prev, ' ')], prev[strings.IndexByte(prev, ' ')+1:], p.kind, place(parent, index, inBody))
			} else {
				c.places[n.Path] = p.kind.String() + " " + place(parent, index, inBody)
				c.tree.Index[n.Path] = n
			}
		}
	}
	if p.missing != "" {
		c.errorf(where, "%s has no %s", p.kind, p.missing)
	}
	for _, t := range p.types {
		if t != c.state {
			c.errorf(where, "%s uses state type %v, but the workflow's state type is %v", p.kind, t, c.state)
		}
	}
	switch p.kind {
	case ast.Block:
		n.Body = c.seq(n, p.body, loop)
	case ast.Step:
		n.Run = p.run
		n.Retry = c.retry(where, p.retry)
	case ast.If:
		for i, a := range p.arms {
			if (a.name == "else" || a.name == "default") && i != len(p.arms)-1 {
				c.errorf(join(where, a.name), "%s must be the last arm", a.name)
			}
			n.Branches = append(n.Branches, c.node(n, a, i, false, loop))
		}
	case ast.Branch:
		n.Cond = p.cond
		n.Body = c.seq(n, p.body, loop)
	case ast.Loop:
		n.Cond = p.cond
		n.Body = c.seq(n, p.body, n)
	case ast.Break, ast.Continue:
		if loop == nil {
			c.errorf(where, "%s outside a loop", p.kind)
		}
		n.Target = loop
	case ast.Wait:
		if len(p.arms) == 0 {
			c.errorf(where, "wait has no events")
		}
		seen := map[string]bool{}
		for i, a := range p.arms {
			if seen[a.name] {
				c.errorf(where, "duplicate event %q in one wait", a.name)
				continue
			}
			seen[a.name] = true
			n.Branches = append(n.Branches, c.node(n, a, i, false, loop))
		}
	case ast.On:
		n.Trigger = p.trigger
		if t := p.trigger; t != nil && t.Kind == ast.Timer && t.StateType != nil && t.At == nil {
			c.errorf(where, "At timer has no function")
		}
		if t := p.trigger; t != nil && t.Kind == ast.Timer && t.After < 0 {
			c.errorf(where, "After timer has a negative duration %v", t.After)
		}
		n.Body = c.seq(n, p.body, loop)
	case ast.Call:
		n.Activity, n.Result, n.ResultType, n.Timeout = p.activity, p.result, p.resultT, p.timeout
		n.Retry = c.retry(where, p.retry)
		if p.timeout < 0 {
			c.errorf(where, "call has a negative timeout %v", p.timeout)
		}
	case ast.WaitFor:
		n.Cond = p.cond
	case ast.Child:
		if spec := p.child; spec != nil {
			cp := *spec // the statement may be configured again after Compile
			n.ChildSpec = &cp
			if want := spec.Def.(*Definition).StateType(); p.childInput != want {
				c.errorf(where, "child input type %v is not workflow %q's state type %v", p.childInput, spec.Workflow, want)
			}
			if spec.OnEnd < uint8(CancelChild) || spec.OnEnd > uint8(AbandonChild) {
				c.errorf(where, "unknown parent-end policy %d", spec.OnEnd)
			}
		}
	case ast.Go:
		switch {
		case p.name == "main" || p.name == "cancel":
			c.errorf(where, "thread name %q is reserved", p.name)
		case strings.ContainsAny(p.name, "[]"):
			c.errorf(where, "thread name %q may not contain '[' or ']'", p.name)
		case c.tree.Gos[p.name] != nil:
			c.errorf(where, "duplicate thread name %q: also started at %s", p.name, c.tree.Gos[p.name].Path)
		case p.name != "":
			c.tree.Gos[p.name] = n
		}
		n.ThreadID = p.threadID
		n.Body = c.seq(n, p.body, nil) // a thread cannot break its parent's loop
	case ast.Join:
		if len(p.threads) == 0 {
			c.errorf(where, "join names no threads")
		}
		n.Threads = p.threads
		c.joins = append(c.joins, n)
	case ast.Return:
		n.Output = p.output
	case ast.Fail:
		n.Err = p.err
	}
	return n
}

func (c *compiler) retry(where string, p *RetryPolicy) ast.Retry {
	if p == nil {
		return c.tree.Retry
	}
	r, msg := p.compile()
	if msg != "" {
		c.errorf(where, "%s", msg)
	}
	return r
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "/" + name
}

// place describes an unnamed position for error messages: the parent's path
// and the 1-based statement number, e.g. "decision/approve/#2".
func place(parent *ast.Node, index int, inBody bool) string {
	sep := "#"
	if !inBody {
		sep = "arm#"
	}
	return join(parent.Path, fmt.Sprintf("%s%d", sep, index+1))
}

// sortedPaths lists every position path of t in order.
func sortedPaths(t *ast.Tree) []string {
	out := make([]string, 0, len(t.Index))
	for p := range t.Index {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
