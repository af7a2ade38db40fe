// Package position decides whether a stored thread position is still there:
// given a thread's ID, statement path, phase and pending waits, and a
// definition's tree (after migrations), does the position resolve, which
// statement does it name, which thread ID does it give the thread, and if it
// does not resolve, why not.
//
// It is the one rule behind every "position lost" weft reports: the
// interpreter applies it to every thread on every event (interp.Apply,
// interp.Upgrade, interp.Resolve, and so simulate.Verify, which goes
// through interp.Upgrade), and lint.Upgrade applies it, without data, to
// every shape a thread of the old definition can be stored in. Keeping the
// decision in one place is what stops the checkers from disagreeing with the
// runtime. The package is pure: no I/O, no clock, no state of its own.
package position

import (
	"fmt"
	"strings"

	"github.com/weftflow/weft/internal/ast"
)

// Phase mirrors interp.Phase (interp defines its constants from these).
type Phase uint8

// Phases, in interp's order.
const (
	Enter Phase = iota
	Exit
	Iterate
	Start
	Waiting
	Retry
)

var phaseNames = [...]string{"enter", "exit", "iterate", "start", "waiting", "retry"}

// String names the phase ("waiting", "retry", ...).
func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return "phase?"
}

// Waits is a thread's pending callbacks as the rule needs them: the event
// each one waits for and its trigger kind. interp passes its own slice type,
// so resolving allocates nothing.
type Waits interface {
	Len() int
	Wait(i int) (event string, kind ast.TriggerKind)
}

// Pending is one pending callback's shape, for callers without a slice of
// their own (lint).
type Pending struct {
	Event string
	Kind  ast.TriggerKind
}

// Pendings is a [Waits] of [Pending] values.
type Pendings []Pending

// Len returns the number of pending callbacks.
func (ps Pendings) Len() int { return len(ps) }

// Wait returns the i-th pending callback's event and trigger kind.
func (ps Pendings) Wait(i int) (string, ast.TriggerKind) { return ps[i].Event, ps[i].Kind }

// Why classifies a lost position, so that tools can say how to fix it.
type Why uint8

// Reasons a position is lost.
const (
	NoStatement  Why = iota + 1 // no statement has the path
	KindChanged                 // the statement's kind does not fit the phase
	NoEvent                     // a pending event is gone from the wait
	EventChanged                // a pending event's trigger kind changed (or a call's callback is not an activity)
	WrongThread                 // the statement is in a body the thread cannot run in
)

// Lost says why a position does not resolve.
type Lost struct {
	Why Why
	// Path is where the position broke: the statement's path, or
	// "wait/event" when the wait is there but a pending event is not.
	Path string
	// Event is the pending event that broke it, when the statement itself
	// resolved; "" otherwise.
	Event string
	// Reason is a plain sentence.
	Reason string
}

// Move maps a thread's path through one migration: a statement listed in
// Removed sends the thread to its target (removed is true: the thread's
// waits are gone and it enters the target afresh); otherwise Paths rewrites
// the path (longest matching prefix wins).
func Move(mig ast.Migration, path string) (moved string, removed bool) {
	if next, ok := mig.Removed[path]; ok {
		return next, true
	}
	return mig.Rewrite(path), false
}

// MoveEvent maps the name of an event pending at oldWait, now moved to
// newWait, through the migration: a Paths key naming the event
// ("wait/event") renames it; otherwise it keeps its name.
func MoveEvent(mig ast.Migration, oldWait, newWait, event string) string {
	if event == "" {
		return ""
	}
	if moved := mig.Rewrite(oldWait + "/" + event); strings.HasPrefix(moved, newWait+"/") {
		return moved[len(newWait)+1:]
	}
	return event
}

// Resolve decides whether a thread with this ID, path, phase and pending
// waits has a place in t. A position resolves when:
//
//   - a statement has the path;
//   - the phase fits the statement's kind (start: a Go statement or a root;
//     iterate: a loop; waiting: a wait, call, WaitFor or join; retry: a
//     step; enter and exit: any statement but a root);
//   - every pending callback fits: a call waits for one activity result, a
//     wait for events it has, each with the trigger kind it had when the
//     thread parked;
//   - the thread may run there: the main thread in the main body, the
//     cancel thread in the cleanup section, any other thread in the body of
//     a Go statement.
//
// It returns the statement and the ID the thread has there: a thread's
// identity is the Go statement whose body holds its position, so a thread
// that a migration moved into the body of a Go statement with another name
// (a renamed Go statement) takes that name, keeping its dynamic "[id]"
// suffix. Otherwise it returns the reason the position is lost.
func Resolve[W Waits](t *ast.Tree, id, path string, phase Phase, waits W) (*ast.Node, string, *Lost) {
	n := t.Index[path]
	if n == nil {
		return nil, "", &Lost{Why: NoStatement, Path: path, Reason: "no statement has this path"}
	}
	if !fits(phase, n.Kind) {
		return nil, "", &Lost{Why: KindChanged, Path: path, Reason: fmt.Sprintf("a %s cannot be in phase %s (the statement changed kind)", n.Kind, phase)}
	}
	for i := range waits.Len() {
		event, kind := waits.Wait(i)
		if n.Kind == ast.Call {
			if kind != ast.Activity {
				return nil, "", &Lost{Why: EventChanged, Path: path, Event: event, Reason: "a call is waiting for a non-activity callback"}
			}
			continue
		}
		if n.Kind == ast.Child && kind == ast.ChildResult {
			continue
		}
		if n.Kind != ast.Wait || kind == ast.Activity || kind == ast.ChildResult {
			what := fmt.Sprintf("%s event %q", kind, event)
			switch kind {
			case ast.Activity:
				what = "a call's activity result"
			case ast.ChildResult:
				what = "a child workflow's end"
			}
			return nil, "", &Lost{Why: KindChanged, Path: path, Event: event,
				Reason: fmt.Sprintf("the thread waits for %s, but the statement is now a %s (the statement changed kind)", what, n.Kind)}
		}
		on := onNamed(n, event)
		if on == nil {
			return nil, "", &Lost{Why: NoEvent, Path: path + "/" + event, Event: event, Reason: "the wait has no such event"}
		}
		if on.Trigger == nil || on.Trigger.Kind != kind {
			now := ast.TriggerKind(0)
			if on.Trigger != nil {
				now = on.Trigger.Kind
			}
			return nil, "", &Lost{Why: EventChanged, Path: on.Path, Event: event, Reason: fmt.Sprintf("the event changed from %s to %s", kind, now)}
		}
	}
	newID, lost := identity(t, n, phase, id, path)
	if lost != nil {
		return nil, "", lost
	}
	return n, newID, nil
}

// Owner returns the statement whose body a thread at n in phase p runs: the
// Go statement or root that started it. A thread in phase start is at its
// own Go statement or root; otherwise its owner is the nearest enclosing Go
// statement or root (a thread at a Go statement in phase enter or exit is
// the one starting it, not the one it starts).
func Owner(n *ast.Node, p Phase) *ast.Node {
	if p != Start {
		n = n.Parent
	}
	for n != nil && n.Kind != ast.Go && n.Kind != ast.Root {
		n = n.Parent
	}
	return n
}

// Base returns a thread ID without its dynamic "[id]" suffix: the name of
// the Go statement that started it ("main" and "cancel" for the roots).
func Base(id string) string {
	if i := strings.IndexByte(id, '['); i >= 0 {
		return id[:i]
	}
	return id
}

func identity(t *ast.Tree, n *ast.Node, phase Phase, id, path string) (string, *Lost) {
	owner := Owner(n, phase)
	base := Base(id)
	switch {
	case owner == nil:
		return "", &Lost{Why: WrongThread, Path: path, Reason: "the statement is in no thread's body"}
	case owner == t.Main || owner == t.Cancel:
		want := "main"
		if owner == t.Cancel {
			want = "cancel"
		}
		if id != want {
			return "", &Lost{Why: WrongThread, Path: path, Reason: fmt.Sprintf("thread %s cannot run here: the statement belongs to the %s thread", id, want)}
		}
		return id, nil
	case id == "main" || id == "cancel":
		return "", &Lost{Why: WrongThread, Path: path, Reason: fmt.Sprintf("the %s thread cannot run here: the statement belongs to the threads of Go statement %q", id, owner.Name)}
	case base == owner.Name:
		return id, nil
	}
	return owner.Name + id[len(base):], nil
}

// fits reports whether a thread in phase p can be at a statement of kind k.
func fits(p Phase, k ast.Kind) bool {
	switch p {
	case Start:
		return k == ast.Go || k == ast.Root
	case Iterate:
		return k == ast.Loop
	case Waiting:
		return k == ast.Wait || k == ast.Call || k == ast.WaitFor || k == ast.Join || k == ast.Child
	case Retry:
		return k == ast.Step
	case Enter, Exit:
		return k != ast.Root
	}
	return false
}

func onNamed(wait *ast.Node, name string) *ast.Node {
	for _, on := range wait.Branches {
		if on.Name == name {
			return on
		}
	}
	return nil
}
