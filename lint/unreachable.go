package lint

import (
	"fmt"

	"github.com/weftflow/weft/dsl"
)

// checkUnreachable flags, in every body, the first statement after one
// that never finishes (see finishes). One finding per body: the rest of
// the body is unreachable for the same reason.
func checkUnreachable(def *dsl.Definition, report func(dsl.Node, string, ...any)) {
	def.Walk(func(n dsl.Node) bool {
		body := n.Body()
		for i, s := range body {
			if i+1 < len(body) && !finishes(s) {
				report(body[i+1], "never runs: %s; remove this statement and those after it, or move them earlier", why(s))
				break
			}
		}
		return true
	})
}

// finishes reports whether control can leave n to the next statement of
// its body. It is Go's rule for terminating statements, over weft's
// statements: n does not finish if it is a Return, Fail, Break or Continue;
// a section whose body does not finish; an If with an else (or default)
// arm all of whose arms do not finish; a Wait all of whose events' bodies
// do not finish; or a For loop (no condition) that no Break leaves. A
// Wait, Call, WaitFor or Join that is never answered also never finishes,
// but that depends on the outside world and is not counted.
func finishes(n dsl.Node) bool {
	switch n.Kind() {
	case dsl.KindReturn, dsl.KindFail, dsl.KindBreak, dsl.KindContinue:
		return false
	case dsl.KindSection:
		return bodyFinishes(n.Body())
	case dsl.KindIf:
		hasElse := false
		for _, arm := range n.Arms() {
			if !arm.HasCond() {
				hasElse = true
			}
			if bodyFinishes(arm.Body()) {
				return true
			}
		}
		return !hasElse
	case dsl.KindWait:
		for _, on := range n.Arms() {
			if bodyFinishes(on.Body()) {
				return true
			}
		}
		return false
	case dsl.KindLoop:
		return n.HasCond() || breaks(n)
	}
	return true
}

func bodyFinishes(body []dsl.Node) bool {
	for _, s := range body {
		if !finishes(s) {
			return false
		}
	}
	return true
}

// breaks reports whether a Break in loop's body leaves loop.
func breaks(loop dsl.Node) bool {
	found := false
	walkThread(loop, func(n dsl.Node) bool {
		if n.Kind() == dsl.KindBreak && n.Target() == loop {
			found = true
		}
		return !found
	})
	return found
}

const enders = "Return, Fail, Break, Continue or endless loop"

// why says in words why n does not finish.
func why(n dsl.Node) string {
	switch n.Kind() {
	case dsl.KindReturn:
		return "the Return before it ends the workflow"
	case dsl.KindFail:
		return "the Fail before it ends the workflow"
	case dsl.KindBreak:
		return fmt.Sprintf("the Break before it leaves loop %q", n.Target().Name())
	case dsl.KindContinue:
		return fmt.Sprintf("the Continue before it starts the next iteration of loop %q", n.Target().Name())
	case dsl.KindSection:
		return fmt.Sprintf("section %q before it never finishes: it always ends in a %s", n.Name(), enders)
	case dsl.KindIf:
		return fmt.Sprintf("%q before it never finishes: every arm, including the last (else or default), ends in a %s", n.Name(), enders)
	case dsl.KindWait:
		return fmt.Sprintf("wait %q before it never finishes: every event's body ends in a %s", n.Name(), enders)
	case dsl.KindLoop:
		return fmt.Sprintf("loop %q before it has no Break, so it never ends", n.Name())
	}
	return fmt.Sprintf("%s %q before it never finishes", n.Kind(), n.Name())
}
