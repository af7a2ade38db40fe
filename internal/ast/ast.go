// Package ast holds the compiled, immutable statement tree shared by dsl
// (which builds and validates it) and interp (which runs it). It lives under
// internal/ so users can neither construct nor mutate nodes: the public
// surface is dsl's constructors and *dsl.Definition.
//
// State crosses this package as `any` holding the user's *S; dsl's generic
// constructors wrap typed functions so no user code ever casts.
package ast

import (
	"context"
	"reflect"
	"strings"
	"time"
)

// Kind names a node kind.
type Kind uint8

// Node kinds. Containers own a Body (a sequence) or Branches (If arms, Wait
// events); leaves do not.
const (
	Root     Kind = iota + 1 // the workflow body or the cancel cleanup section
	Block                    // a named section
	Step                     // user code over the state
	If                       // If/ElseIf/Else and Switch/Case/Default: Branches
	Branch                   // one arm of an If or Switch: Cond (nil = else) and Body
	Loop                     // For/While: Cond (nil = forever) and Body
	Break                    // leaves Target (a Loop)
	Continue                 // next iteration of Target (a Loop)
	Wait                     // park until one of Branches (On nodes) fires
	On                       // one event of a Wait: Trigger and Body
	Call                     // activity run by the host; result resumes the thread
	WaitFor                  // park until Cond holds
	Go                       // start a thread running Body
	Join                     // park until the threads started by Threads have ended
	Return                   // complete the workflow with Output
	Fail                     // fail the workflow with Err
	Child                    // start a child workflow (Child spec); its end resumes the thread
)

var kindNames = [...]string{Root: "root", Block: "section", Step: "step", If: "if", Branch: "branch",
	Loop: "loop", Break: "break", Continue: "continue", Wait: "wait", On: "on", Call: "call",
	WaitFor: "waitfor", Go: "go", Join: "join", Return: "return", Fail: "fail", Child: "child"}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "kind?"
}

// TriggerKind says how a Wait event fires.
type TriggerKind uint8

// Trigger kinds. Activity is used by Call nodes' single pending callback.
const (
	Timer       TriggerKind = iota + 1 // After or At
	Custom                             // a payload delivered from outside, handled by Handle
	Activity                           // the result of a Call
	ChildResult                        // the end of a Child's workflow instance
)

// String names the trigger kind.
func (k TriggerKind) String() string {
	switch k {
	case Timer:
		return "timer"
	case Custom:
		return "custom"
	case Activity:
		return "activity"
	case ChildResult:
		return "child"
	}
	return "trigger?"
}

// Trigger is what makes an On fire.
type Trigger struct {
	Kind  TriggerKind
	After time.Duration         // Timer: relative to the time the wait was entered
	At    func(s any) time.Time // Timer: absolute, computed from the state when entered (overrides After)
	// Custom events.
	Type   string                                      // routes setup/teardown effects to a host handler
	Handle func(s any, payload []byte) ([]byte, error) // pure: decodes payload, mutates state, encodes reply
	Setup  func(s any) ([]byte, error)                 // nil: no setup/teardown effects
	// Payload and Reply are the custom event's P and R, for tools that
	// generate payloads (the simulator) or print replies.
	Payload, Reply reflect.Type
	// StateType is the *S the typed functions expect (nil for After).
	StateType reflect.Type
}

// Retry is a retry policy for steps and activities.
type Retry struct {
	MaxAttempts int           // total attempts, >= 1
	Initial     time.Duration // delay before the second attempt
	Multiplier  float64       // growth per attempt, >= 1
	Max         time.Duration // cap on one delay (0: no cap)
}

// Delay returns the wait before attempt n+1 after n failed attempts (n >= 1).
func (r Retry) Delay(n int) time.Duration {
	d := float64(r.Initial)
	for i := 1; i < n; i++ {
		d *= r.Multiplier
		if r.Max > 0 && d >= float64(r.Max) {
			return r.Max
		}
	}
	if r.Max > 0 && d > float64(r.Max) {
		return r.Max
	}
	return time.Duration(d)
}

// Node is one compiled statement. Every field is set by dsl.Compile and never
// changed afterwards, so a tree may be shared by any number of goroutines.
type Node struct {
	Kind   Kind
	Name   string // "" for unnamed leaves (Break, Continue, Return, Fail)
	Path   string // names from the root joined by "/"; "" for unnamed leaves and the main root
	Parent *Node
	Index  int  // position in Parent.Body, or in Parent.Branches when InBody is false
	InBody bool // whether Index refers to Parent.Body

	Body     []*Node // Root, Block, Branch, Loop, On, Go
	Branches []*Node // If: Branch nodes; Wait: On nodes

	Cond    func(s any) bool  // Branch (nil: else), Loop (nil: forever), WaitFor
	Run     func(s any) error // Step
	Retry   Retry             // Step, Call
	Trigger *Trigger          // On
	Target  *Node             // Break, Continue: the loop

	// Call: Activity runs outside the interpreter on the encoded state
	// snapshot; Result applies its encoded output to the state.
	Activity   func(ctx context.Context, input []byte) ([]byte, error)
	Result     func(s any, output []byte) error
	ResultType reflect.Type // Call: the activity's result type O
	Timeout    time.Duration

	ChildSpec *ChildSpec // Child

	ThreadID func(s any) string // Go: dynamic thread ID (nil: the name alone)
	Threads  []string           // Join: names of Go statements

	Output func(s any) (any, error) // Return
	Err    func(s any) error        // Fail
}

// ChildSpec is what a Child statement starts and how its end comes back.
type ChildSpec struct {
	Workflow string                      // the child definition's name
	Def      any                         // the child's *dsl.Definition
	Input    func(s any) ([]byte, error) // the child's encoded input (its first state)
	ID       func(s any) (string, error) // the child's instance ID; nil: the default
	OnEnd    uint8                       // dsl.ParentEndPolicy: what the parent's end does to the child
	Output   reflect.Type                // the output type O the parent decodes, for tools that draw outputs
	// Result applies the child's end to the parent's state: status is the
	// child's status name ("completed", "failed", "canceled",
	// "terminated"), output its encoded output when completed, message
	// the failure or termination reason and path the failed statement.
	Result func(s any, id, status string, output []byte, message, path string) error
}

// Tree is a compiled workflow definition.
type Tree struct {
	Name       string
	StateType  reflect.Type // S (not *S)
	Main       *Node        // Root, Path ""
	Cancel     *Node        // Root of the cleanup section, Path CancelPath; nil if none
	Index      map[string]*Node
	Budget     int   // statements one transition may run before yielding
	Retry      Retry // default for steps and calls
	Gos        map[string]*Node
	Version    int                         // the definition's version (>= 1)
	Migrations []Migration                 // sorted by From
	NewState   func() any                  // a new *S
	Encode     func(s any) ([]byte, error) // deterministic CBOR of *S
	Decode     func(b []byte) (any, error) // CBOR -> new *S
	// Copy deep-copies a *S for a step's snapshot, when S's CBOR round
	// trip is a deep copy (internal/statecopy); nil otherwise, and the
	// snapshot is CBOR. dst is nil or an earlier copy the caller no longer
	// uses, which Copy may overwrite and return instead of allocating.
	Copy func(dst, s any) (any, bool)
	// Setups reports whether any wait has a custom event with a setup (and
	// so a teardown), or any statement starts a child workflow (start-child
	// and end-child effects): hosts order an instance's end after those.
	Setups  bool
	Queries map[string]*Query // named read-only projections of the state (dsl.Query)
}

// Query is a named, read-only projection of the state: Run takes a *S and
// returns the result (of type Result).
type Query struct {
	Name   string
	Result reflect.Type
	Run    func(s any) any
}

// Migration upgrades instances written by definition version From (or an
// older one) towards the next version.
type Migration struct {
	From    int
	Paths   map[string]string                // old path (or path prefix) -> new path
	Removed map[string]string                // old path of a removed statement -> path to continue at
	State   func(old []byte) ([]byte, error) // CBOR of the old state -> CBOR of the new
}

// Rewrite maps path by the migration's Paths: the longest key equal to
// path or a prefix of it at an element boundary is replaced by its value.
func (m Migration) Rewrite(path string) string {
	best, found := "", false
	for old := range m.Paths {
		if (path == old || strings.HasPrefix(path, old+"/")) && len(old) >= len(best) {
			best, found = old, true
		}
	}
	if !found {
		return path
	}
	return m.Paths[best] + path[len(best):]
}

// CancelPath is the path of the cleanup section's root. Names may not start
// with '@', so it cannot collide with a user path.
const CancelPath = "@cancel"

// TreeOf returns the tree of a *dsl.Definition. Package dsl sets it at init
// so interp (and internal packages such as position) can run a definition
// whose tree users cannot reach. Every other package reads a definition
// through dsl's read-only view (dsl.Definition.Walk, Lookup, dsl.Node);
// TestOnlyTheCoreImportsTheTree keeps it that way.
var TreeOf func(def any) *Tree
