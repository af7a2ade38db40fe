package dsl

import (
	"reflect"
	"time"

	"github.com/weftflow/weft/internal/ast"
)

// This file is the read-only view of a compiled Definition that tools
// (lint, diagram, simulate, inspector, httpapi) walk instead of reaching
// into the internal tree: [Definition.Walk], [Definition.Root],
// [Definition.Cleanup], [Definition.Lookup] and [Node].

// Kind is the kind of a compiled statement (see [Node.Kind]). Several
// constructors share a kind: If and Switch make a [KindIf] whose arms are
// [KindArm] nodes; For and While make a [KindLoop]; Go and GoEach make a
// [KindGo]; After, At, Signal, SignalWithSetup and Custom events are all
// [KindOn] nodes, told apart by [Node.Trigger].
type Kind uint8

// Statement kinds.
const (
	KindRoot     Kind = iota + 1 // "root": the workflow body (path "") or the OnCancel cleanup section (path "@cancel")
	KindSection                  // "section": a Section
	KindStep                     // "step": a Step
	KindIf                       // "if": an If/ElseIf/Else or Switch/Case/Default; its arms are [Node.Arms]
	KindArm                      // "branch": one arm of an If or Switch ([Node.HasCond] is false for Else and Default)
	KindLoop                     // "loop": a For ([Node.HasCond] false) or While
	KindBreak                    // "break": leaves [Node.Target]
	KindContinue                 // "continue": next iteration of [Node.Target]
	KindWait                     // "wait": a Wait; its events are [Node.Arms]
	KindOn                       // "on": one event of a Wait, with [Node.Trigger]
	KindCall                     // "call": an activity (Call)
	KindWaitFor                  // "waitfor": a WaitFor
	KindGo                       // "go": a Go or GoEach ([Node.Each])
	KindJoin                     // "join": a Join of [Node.Threads]
	KindReturn                   // "return": a Return or ReturnWith
	KindFail                     // "fail": a Fail or FailWith
	KindChild                    // "child": a Child workflow ([Node.Workflow])
)

// The kinds are the internal tree's, value for value (view_internal_test.go
// holds them together), so that a Node's Kind is a conversion and its name
// the one weft's own messages print.

// String names the kind as weft's messages do: "step", "if", "branch",
// "loop", "wait", "on", "call", "waitfor", "go", "join", "child", ...
func (k Kind) String() string { return ast.Kind(k).String() }

// TriggerKind says what fires a wait's event (see [Node.Trigger]).
type TriggerKind uint8

// Trigger kinds of a [KindOn] node.
const (
	TriggerTimer  TriggerKind = iota + 1 // After or At
	TriggerCustom                        // Signal, SignalWithSetup or Custom: a payload sent from outside
)

// String names the trigger kind: "timer" or "custom".
func (k TriggerKind) String() string { return ast.TriggerKind(k).String() }

// Node is a read-only view of one compiled statement of a [Definition].
// It has no way to change the definition. The zero Node stands for no
// statement: its methods return zero values. Nodes are comparable: two
// Nodes are == exactly when they view the same statement of the same
// definition (or are both zero).
type Node struct {
	n *ast.Node
}

// Kind returns the statement's kind (0 for the zero Node).
func (n Node) Kind() Kind {
	if n.n == nil {
		return 0
	}
	return Kind(n.n.Kind)
}

// Name returns the statement's name: the name given to its constructor,
// "@cancel" for the cleanup section's root, and "" for the main root and
// for statements without a name (Break, Continue, Return, Fail).
func (n Node) Name() string {
	if n.n == nil {
		return ""
	}
	return n.n.Name
}

// Path returns the statement's position path: the names from the root
// joined by "/" (see [Definition.Positions]). It is "" for the main root
// and for statements without a name, which hold no position.
func (n Node) Path() string {
	if n.n == nil {
		return ""
	}
	return n.n.Path
}

// Place returns where the statement is, written as [Compile]'s errors write
// it: its path, or for a statement without a name its parent's path and
// its 1-based number in the parent ("#n" in a body, "arm#n" among arms),
// e.g. "cart/shopping/submit/#2".
func (n Node) Place() string {
	if n.n == nil || n.n.Path != "" || n.n.Parent == nil {
		return n.Path()
	}
	return place(n.n.Parent, n.n.Index, n.n.InBody)
}

// Body returns the statements of a sequence, in order: the body of a
// root, section, arm, loop, event (on) or Go statement. Other kinds have
// none. The slice is the caller's.
func (n Node) Body() []Node {
	if n.n == nil {
		return nil
	}
	return wrap(n.n.Body)
}

// Arms returns an If's or Switch's arms ([KindArm]) or a Wait's events
// ([KindOn]), in order. Other kinds have none. The slice is the caller's.
func (n Node) Arms() []Node {
	if n.n == nil {
		return nil
	}
	return wrap(n.n.Branches)
}

func wrap(ns []*ast.Node) []Node {
	if len(ns) == 0 {
		return nil
	}
	out := make([]Node, len(ns))
	for i, c := range ns {
		out[i] = Node{c}
	}
	return out
}

// HasCond reports whether the statement has a condition: an arm other
// than Else or Default, a While loop (a For loop has none), a WaitFor.
func (n Node) HasCond() bool { return n.n != nil && n.n.Cond != nil }

// Target returns the loop a Break leaves or a Continue repeats; the zero
// Node for other kinds.
func (n Node) Target() Node {
	if n.n == nil || n.n.Target == nil {
		return Node{}
	}
	return Node{n.n.Target}
}

// Threads returns the names of the Go statements a Join waits for, in the
// order given; nil for other kinds. The slice is the caller's.
func (n Node) Threads() []string {
	if n.n == nil || len(n.n.Threads) == 0 {
		return nil
	}
	return append([]string(nil), n.n.Threads...)
}

// Each reports whether a Go statement is a GoEach (its threads have
// dynamic IDs).
func (n Node) Each() bool { return n.n != nil && n.n.Kind == ast.Go && n.n.ThreadID != nil }

// Trigger returns what fires a wait's event ([KindOn]): [TriggerTimer] or
// [TriggerCustom]; 0 for other kinds.
func (n Node) Trigger() TriggerKind {
	if t := n.trigger(); t != nil {
		return TriggerKind(t.Kind)
	}
	return 0
}

func (n Node) trigger() *ast.Trigger {
	if n.n == nil || n.n.Kind != ast.On {
		return nil
	}
	return n.n.Trigger
}

// After returns a timer event's delay (After), counted from the time the
// wait is entered; 0 for an At timer and for other nodes.
func (n Node) After() time.Duration {
	if t := n.trigger(); t != nil && t.Kind == ast.Timer && t.At == nil {
		return t.After
	}
	return 0
}

// At reports whether a timer event fires at a time computed from the state
// (At) rather than after a delay.
func (n Node) At() bool {
	t := n.trigger()
	return t != nil && t.Kind == ast.Timer && t.At != nil
}

// EventType returns a custom event's handler type (the typ of
// SignalWithSetup and Custom; "" for Signal), which routes its setup and
// teardown effects to a host's handler; "" for other nodes.
func (n Node) EventType() string {
	if t := n.trigger(); t != nil && t.Kind == ast.Custom {
		return t.Type
	}
	return ""
}

// HasSetup reports whether a custom event has a setup (and so a teardown)
// run by the host when its wait is entered and left.
func (n Node) HasSetup() bool {
	t := n.trigger()
	return t != nil && t.Kind == ast.Custom && t.Setup != nil
}

// Payload returns a custom event's payload type P; nil for other nodes.
func (n Node) Payload() reflect.Type {
	if t := n.trigger(); t != nil && t.Kind == ast.Custom {
		return t.Payload
	}
	return nil
}

// Reply returns a custom event's reply type R; nil for other nodes.
func (n Node) Reply() reflect.Type {
	if t := n.trigger(); t != nil && t.Kind == ast.Custom {
		return t.Reply
	}
	return nil
}

// Output returns the type of what comes back to the workflow: a Call's
// activity result type O, a Child's output type O; nil for other kinds.
func (n Node) Output() reflect.Type {
	switch {
	case n.n == nil:
		return nil
	case n.n.Kind == ast.Call:
		return n.n.ResultType
	case n.n.Kind == ast.Child && n.n.ChildSpec != nil:
		return n.n.ChildSpec.Output
	}
	return nil
}

// Workflow returns the name of the workflow a Child statement starts; ""
// for other kinds.
func (n Node) Workflow() string {
	if n.n == nil || n.n.ChildSpec == nil {
		return ""
	}
	return n.n.ChildSpec.Workflow
}

// ChildDefinition returns the definition a Child statement starts; nil for
// other kinds.
func (n Node) ChildDefinition() *Definition {
	if n.n == nil || n.n.ChildSpec == nil {
		return nil
	}
	d, _ := n.n.ChildSpec.Def.(*Definition)
	return d
}

// ParentEnd returns what the end of the parent does to a Child statement's
// child (see [ChildStmt.OnParentEnd]); 0 for other kinds.
func (n Node) ParentEnd() ParentEndPolicy {
	if n.n == nil || n.n.ChildSpec == nil {
		return 0
	}
	return ParentEndPolicy(n.n.ChildSpec.OnEnd)
}

// Root returns the root of the workflow's body: a [KindRoot] node with
// path "" whose [Node.Body] is the statements given to [Compile].
func (d *Definition) Root() Node { return Node{d.tree.Main} }

// Cleanup returns the root of the cleanup section set by [OnCancel]
// ([KindRoot], path "@cancel"), and whether there is one.
func (d *Definition) Cleanup() (Node, bool) {
	if d.tree.Cancel == nil {
		return Node{}, false
	}
	return Node{d.tree.Cancel}, true
}

// Lookup returns the statement at a position path (one of
// [Definition.Positions], including "" for the main root and "@cancel" for
// the cleanup section's root) and whether there is one.
func (d *Definition) Lookup(path string) (Node, bool) {
	n, ok := d.tree.Index[path]
	return Node{n}, ok
}

// Walk calls fn on every statement of the definition in source order: the
// main root, then its tree depth first (a node, then its arms, then its
// body), then the cleanup section's root and its tree. When fn returns
// false, Walk does not descend into that node's arms and body, and goes on
// with the node after it. Statements without a name are visited too.
func (d *Definition) Walk(fn func(Node) bool) {
	d.Root().Walk(fn)
	if c, ok := d.Cleanup(); ok {
		c.Walk(fn)
	}
}

// Walk calls fn on n and its descendants in source order, as
// [Definition.Walk] does for a whole definition: when fn returns false it
// does not descend into that node. Walk on the zero Node does nothing.
func (n Node) Walk(fn func(Node) bool) {
	if n.n != nil {
		walk(n.n, fn)
	}
}

func walk(n *ast.Node, fn func(Node) bool) {
	if !fn(Node{n}) {
		return
	}
	for _, c := range n.Branches {
		walk(c, fn)
	}
	for _, c := range n.Body {
		walk(c, fn)
	}
}
