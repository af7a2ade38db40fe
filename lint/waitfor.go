package lint

import "github.com/weftflow/weft/dsl"

// checkWaitFor flags every WaitFor in a thread root (the main body, or the
// cleanup section) that starts no thread. While such a WaitFor waits, its
// thread is the only one: no other thread can run, and no event can be
// handled, since only a pending Wait accepts events and the waiting thread
// is at the WaitFor. (The cleanup section does not run beside the main
// body's threads: a cancel ends them first.) Conditions are Go functions the
// linter cannot read, so this is all it can know: a WaitFor in a root with
// a Go statement anywhere is not flagged, even if that thread never
// touches the condition.
func checkWaitFor(def *dsl.Definition, report func(dsl.Node, string, ...any)) {
	for _, r := range roots(def) {
		var waits []dsl.Node
		threads := false
		r.Walk(func(n dsl.Node) bool {
			switch n.Kind() {
			case dsl.KindWaitFor:
				waits = append(waits, n)
			case dsl.KindGo:
				threads = true
			}
			return true
		})
		if threads {
			continue
		}
		for _, n := range waits {
			report(n, "WaitFor %q is in a thread that runs alone (no Go statement beside it), so nothing can change the state while it waits: "+
				"it passes at once if its condition already holds, else the instance waits forever; "+
				"use an If, or a Wait on the event that makes the condition true", n.Name())
		}
	}
}
