package position

import (
	"fmt"

	"github.com/weftflow/weft/internal/ast"
)

// Shape is one way a thread can be stored at a statement: its ID, phase
// and pending waits, as the interpreter writes them.
type Shape struct {
	ID    string
	Phase Phase
	Waits Pendings
	// What says in words what the thread is doing ("waiting for timer
	// event \"late\"", "retrying the step"), for messages.
	What string
}

// Shapes lists the shapes a thread of t can be stored in at n, for checks
// that have no instances to look at (lint.Upgrade):
//
//   - a step: about to run (left there by the statement budget, or a retry
//     that came due) and waiting to retry;
//   - a loop: about to test its condition (left there by the budget);
//   - a Go statement: the new thread, about to start;
//   - a wait: waiting, one shape per event (with its trigger kind), since
//     each event is a pending callback the rule checks on its own;
//   - a call: waiting for its activity's result;
//   - a WaitFor or a join: waiting.
//
// A thread is also stored, for one transition, at an event's body (a wait
// answered in a transition whose budget ran out before the thread ran) or
// just after a call, WaitFor or join; those shapes are not listed: the
// first is as rare as it is short-lived, the second resolves wherever the
// statement's waiting shape does. Other statements never hold a stored
// thread. The thread's ID is that of the body n is in: "main", "cancel",
// or the Go statement's name, with "[0]" for a Go statement with dynamic IDs.
func Shapes(t *ast.Tree, n *ast.Node) []Shape {
	id := func(p Phase) string {
		o := Owner(n, p)
		switch {
		case o == nil:
			return ""
		case o == t.Main:
			return "main"
		case o == t.Cancel:
			return "cancel"
		case o.ThreadID != nil:
			return o.Name + "[0]"
		}
		return o.Name
	}
	switch n.Kind {
	case ast.Step:
		return []Shape{
			{ID: id(Enter), Phase: Enter, What: "about to run the step"},
			{ID: id(Retry), Phase: Retry, What: "waiting to retry the step"},
		}
	case ast.Loop:
		return []Shape{{ID: id(Iterate), Phase: Iterate, What: "about to run the loop's next iteration"}}
	case ast.Go:
		return []Shape{{ID: id(Start), Phase: Start, What: "about to start"}}
	case ast.Wait:
		out := make([]Shape, 0, len(n.Branches))
		for _, on := range n.Branches {
			if on.Trigger == nil {
				continue
			}
			out = append(out, Shape{ID: id(Waiting), Phase: Waiting, Waits: Pendings{{Event: on.Name, Kind: on.Trigger.Kind}},
				What: fmt.Sprintf("waiting for %s event %q", on.Trigger.Kind, on.Name)})
		}
		return out
	case ast.Call:
		return []Shape{{ID: id(Waiting), Phase: Waiting, Waits: Pendings{{Kind: ast.Activity}}, What: "waiting for the call's activity"}}
	case ast.Child:
		return []Shape{{ID: id(Waiting), Phase: Waiting, Waits: Pendings{{Kind: ast.ChildResult}}, What: "waiting for the child workflow"}}
	case ast.WaitFor:
		return []Shape{{ID: id(Waiting), Phase: Waiting, What: "waiting for the condition"}}
	case ast.Join:
		return []Shape{{ID: id(Waiting), Phase: Waiting, What: "waiting for the join"}}
	}
	return nil
}

// Moved is a shape taken through migrations: where it ends up, and whether
// a Removed entry sent it there (its waits torn down, entering afresh).
type Moved struct {
	Path    string
	Phase   Phase
	Waits   Pendings
	Removed bool
}

// MoveAll takes a thread at path with phase and waits through migs, in
// order, as the interpreter does before resolving it.
func MoveAll(migs []ast.Migration, path string, phase Phase, waits Pendings) Moved {
	out := Moved{Path: path, Phase: phase, Waits: append(Pendings(nil), waits...)}
	for _, mig := range migs {
		next, removed := Move(mig, out.Path)
		if removed {
			out = Moved{Path: next, Phase: Enter, Removed: true}
			continue
		}
		for i := range out.Waits {
			out.Waits[i].Event = MoveEvent(mig, out.Path, next, out.Waits[i].Event)
		}
		out.Path = next
	}
	return out
}
