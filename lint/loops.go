package lint

import "github.com/weftflow/weft/dsl"

// checkLoops flags a For loop (no condition) that neither blocks nor ends:
// its body, not counting Go bodies (other threads), has no Wait, Call,
// WaitFor or Join, and no Break that leaves it, Return or Fail. Such a loop
// uses the whole statement budget of every transition, yields, and does it
// again on every resume, forever. A While ends when its condition fails,
// and a For that blocks is an endless service loop some workflows mean to
// have; neither is flagged.
func checkLoops(def *dsl.Definition, report func(dsl.Node, string, ...any)) {
	def.Walk(func(n dsl.Node) bool {
		if n.Kind() == dsl.KindLoop && !n.HasCond() && !blocksOrExits(n) {
			report(n, "loop %q never blocks (no Wait, Call, WaitFor or Join) and never ends (no Break, Return or Fail): "+
				"it spins through the statement budget of every transition, forever; add a way out, or a Wait between iterations",
				n.Name())
		}
		return true
	})
}

// blocksOrExits reports whether loop's own thread can park or leave it
// from inside its body.
func blocksOrExits(loop dsl.Node) bool {
	found := false
	walkThread(loop, func(n dsl.Node) bool {
		switch n.Kind() {
		case dsl.KindWait, dsl.KindCall, dsl.KindChild, dsl.KindWaitFor, dsl.KindJoin, dsl.KindReturn, dsl.KindFail:
			found = true
		case dsl.KindBreak:
			found = found || n.Target() == loop
		}
		return !found
	})
	return found
}
