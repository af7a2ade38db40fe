package lint

import (
	"strings"

	"github.com/weftflow/weft/dsl"
)

// checkWaitTimeout flags every Wait none of whose events is a timer. It
// looks at the wait alone: a way out through the wait's other events (a
// Break in a loop, say) still needs someone to send one of them.
func checkWaitTimeout(def *dsl.Definition, report func(dsl.Node, string, ...any)) {
	def.Walk(func(n dsl.Node) bool {
		if n.Kind() != dsl.KindWait {
			return true
		}
		var events []string
		for _, on := range n.Arms() {
			if on.Trigger() == dsl.TriggerTimer {
				return true
			}
			events = append(events, on.Name())
		}
		report(n, "wait %q has no timer event (After or At): an instance waits here forever unless someone sends %s; "+
			"add an event with After or At that gives up, or disable the check if waiting forever is intended",
			n.Name(), orList(events))
		return true
	})
}

// orList quotes names and joins them with commas and a final "or".
func orList(names []string) string {
	q := make([]string, len(names))
	for i, s := range names {
		q[i] = `"` + s + `"`
	}
	switch len(q) {
	case 0:
		return "an event"
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
