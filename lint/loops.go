package lint

import "github.com/weftflow/weft/internal/ast"

// checkLoops flags a For loop (no condition) that neither blocks nor ends:
// its body, not counting Go bodies (other threads), has no Wait, Call,
// WaitFor or Join, and no Break that leaves it, Return or Fail. Such a loop
// uses the whole statement budget of every transition, yields, and does it
// again on every resume, forever. A While ends when its condition fails,
// and a For that blocks is an endless service loop some workflows mean to
// have; neither is flagged.
func checkLoops(t *ast.Tree, report func(*ast.Node, string, ...any)) {
	walkTree(t, func(n *ast.Node) bool {
		if n.Kind == ast.Loop && n.Cond == nil && !blocksOrExits(n) {
			report(n, "loop %q never blocks (no Wait, Call, WaitFor or Join) and never ends (no Break, Return or Fail): "+
				"it spins through the statement budget of every transition, forever; add a way out, or a Wait between iterations",
				n.Name)
		}
		return true
	})
}

// blocksOrExits reports whether loop's own thread can park or leave it
// from inside its body.
func blocksOrExits(loop *ast.Node) bool {
	found := false
	walkThread(loop, func(n *ast.Node) bool {
		switch n.Kind {
		case ast.Wait, ast.Call, ast.Child, ast.WaitFor, ast.Join, ast.Return, ast.Fail:
			found = true
		case ast.Break:
			found = found || n.Target == loop
		}
		return !found
	})
	return found
}
