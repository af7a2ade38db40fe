package lint

import "github.com/weftflow/weft/internal/ast"

// checkThreads flags every Go statement that no Join anywhere names.
func checkThreads(t *ast.Tree, report func(*ast.Node, string, ...any)) {
	joined := map[string]bool{}
	walkTree(t, func(n *ast.Node) bool {
		if n.Kind == ast.Join {
			for _, name := range n.Threads {
				joined[name] = true
			}
		}
		return true
	})
	walkTree(t, func(n *ast.Node) bool {
		if n.Kind == ast.Go && !joined[n.Name] {
			report(n, "thread %q is never joined: when the workflow ends, it is stopped wherever it is; "+
				"add a Join naming %q where its work must be done, or disable the check if cutting it short is intended",
				n.Name, n.Name)
		}
		return true
	})
}
