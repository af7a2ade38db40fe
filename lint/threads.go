package lint

import "github.com/weftflow/weft/dsl"

// checkThreads flags every Go statement that no Join anywhere names.
func checkThreads(def *dsl.Definition, report func(dsl.Node, string, ...any)) {
	joined := map[string]bool{}
	def.Walk(func(n dsl.Node) bool {
		if n.Kind() == dsl.KindJoin {
			for _, name := range n.Threads() {
				joined[name] = true
			}
		}
		return true
	})
	def.Walk(func(n dsl.Node) bool {
		if n.Kind() == dsl.KindGo && !joined[n.Name()] {
			report(n, "thread %q is never joined: when the workflow ends, it is stopped wherever it is; "+
				"add a Join naming %q where its work must be done, or disable the check if cutting it short is intended",
				n.Name(), n.Name())
		}
		return true
	})
}
