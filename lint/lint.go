package lint

import (
	"fmt"
	"sort"
	"strings"

	"github.com/weftflow/weft/dsl"
)

// Severity says how sure a check is that a finding is a bug.
type Severity uint8

// Severities.
const (
	// Warning: likely a mistake, but some workflows mean it; disable the
	// check with [Disable] when they do.
	Warning Severity = iota + 1
	// Error: the definition cannot behave well as written.
	Error
)

// String names the severity.
func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "severity?"
}

// Finding is one problem found in a definition.
type Finding struct {
	Check    string   // the check's name, e.g. "wait-without-timeout"
	Path     string   // the statement's position path ("" = the main body); see [Check]
	Message  string   // plain words: why it matters and what to do
	Severity Severity // [Warning] or [Error]
}

// String formats f as "path: message (check)". An empty path (the main
// body) is written "(main body)".
func (f Finding) String() string {
	p := f.Path
	if p == "" {
		p = "(main body)"
	}
	return fmt.Sprintf("%s: %s (%s)", p, f.Message, f.Check)
}

// CheckInfo describes one check, for --help output and documentation.
type CheckInfo struct {
	Name     string   // what [Disable] and [Finding.Check] call it
	Severity Severity // the severity of its findings
	Summary  string   // one line
}

// Option configures [Check].
type Option func(*config)

type config struct {
	disabled map[string]bool
}

// Disable turns off the named checks. It panics if a name is not one
// [Checks] lists, so a typo cannot silently leave a check on; a command
// line taking names from users should validate them against [Checks] first.
func Disable(names ...string) Option {
	for _, n := range names {
		if find(n) == nil {
			panic(fmt.Sprintf("lint.Disable: unknown check %q (known: %s)", n, strings.Join(checkNames(), ", ")))
		}
	}
	return func(c *config) {
		for _, n := range names {
			c.disabled[n] = true
		}
	}
}

// A check reports what it finds through report, which fills in the
// check's name and severity and the node's position.
type check struct {
	CheckInfo
	run func(def *dsl.Definition, report func(n dsl.Node, format string, args ...any))
}

// checks is every check, in the order Checks lists them.
var checks = []check{
	{CheckInfo{"wait-without-timeout", Warning,
		"a Wait with no timer event (After or At) can wait forever"}, checkWaitTimeout},
	{CheckInfo{"unreachable", Warning,
		"statements after a Return, Fail, Break, Continue or another statement that never finishes never run"}, checkUnreachable},
	{CheckInfo{"loop-without-blocking-point", Error,
		"a For loop with no Wait, Call, WaitFor or Join and no Break, Return or Fail spins forever"}, checkLoops},
	{CheckInfo{"thread-never-joined", Warning,
		"a Go thread no Join waits for is stopped wherever it is when the workflow ends"}, checkThreads},
	{CheckInfo{"waitfor-unchangeable", Warning,
		"a WaitFor with no other thread to change the state passes at once or never"}, checkWaitFor},
}

func find(name string) *check {
	for i := range checks {
		if checks[i].Name == name {
			return &checks[i]
		}
	}
	return nil
}

func checkNames() []string {
	out := make([]string, len(checks))
	for i, c := range checks {
		out[i] = c.Name
	}
	return out
}

// Checks lists the available checks with one-line descriptions.
func Checks() []CheckInfo {
	out := make([]CheckInfo, len(checks))
	for i, c := range checks {
		out[i] = c.CheckInfo
	}
	return out
}

// Check runs every check not disabled over def and returns the findings
// sorted by path, then check name; nil if there are none. def must be a
// definition made by [dsl.Compile]; Check panics on nil.
//
// A finding's Path is the statement's position path. Statements without a
// name (Break, Continue, Return, Fail) have no path of their own; they are
// placed as Compile's errors place them: the parent's path and "#n", the
// 1-based statement number in its body, e.g. "cart/shopping/submit/#2".
func Check(def *dsl.Definition, opts ...Option) []Finding {
	if def == nil {
		panic("lint.Check: nil definition")
	}
	cfg := config{disabled: map[string]bool{}}
	for _, o := range opts {
		o(&cfg)
	}
	var out []Finding
	for _, c := range checks {
		if cfg.disabled[c.Name] {
			continue
		}
		c.run(def, func(n dsl.Node, format string, args ...any) {
			out = append(out, Finding{Check: c.Name, Path: n.Place(), Message: fmt.Sprintf(format, args...), Severity: c.Severity})
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Check < out[j].Check
	})
	return out
}

// roots returns the definition's thread roots: the main body and, if
// there is one, the cleanup section.
func roots(def *dsl.Definition) []dsl.Node {
	if c, ok := def.Cleanup(); ok {
		return []dsl.Node{def.Root(), c}
	}
	return []dsl.Node{def.Root()}
}

// walkThread walks n's tree (see dsl.Node.Walk) over the statements of n's
// own thread: it does not enter Go bodies, which run as other threads (the
// Go node itself is visited).
func walkThread(n dsl.Node, fn func(dsl.Node) bool) {
	n.Walk(func(m dsl.Node) bool {
		return fn(m) && (m == n || m.Kind() != dsl.KindGo)
	})
}
