package lint

import (
	"fmt"

	"github.com/weftflow/weft/internal/ast"
)

// checkUnreachable flags, in every body, the first statement after one
// that never finishes (see finishes). One finding per body: the rest of
// the body is unreachable for the same reason.
func checkUnreachable(t *ast.Tree, report func(*ast.Node, string, ...any)) {
	walkTree(t, func(n *ast.Node) bool {
		for i, s := range n.Body {
			if i+1 < len(n.Body) && !finishes(s) {
				report(n.Body[i+1], "never runs: %s; remove this statement and those after it, or move them earlier", why(s))
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
func finishes(n *ast.Node) bool {
	switch n.Kind {
	case ast.Return, ast.Fail, ast.Break, ast.Continue:
		return false
	case ast.Block:
		return bodyFinishes(n.Body)
	case ast.If:
		hasElse := false
		for _, arm := range n.Branches {
			if arm.Cond == nil {
				hasElse = true
			}
			if bodyFinishes(arm.Body) {
				return true
			}
		}
		return !hasElse
	case ast.Wait:
		for _, on := range n.Branches {
			if bodyFinishes(on.Body) {
				return true
			}
		}
		return false
	case ast.Loop:
		return n.Cond != nil || breaks(n)
	}
	return true
}

func bodyFinishes(body []*ast.Node) bool {
	for _, s := range body {
		if !finishes(s) {
			return false
		}
	}
	return true
}

// breaks reports whether a Break in loop's body leaves loop.
func breaks(loop *ast.Node) bool {
	found := false
	walkThread(loop, func(n *ast.Node) bool {
		if n.Kind == ast.Break && n.Target == loop {
			found = true
		}
		return !found
	})
	return found
}

const enders = "Return, Fail, Break, Continue or endless loop"

// why says in words why n does not finish.
func why(n *ast.Node) string {
	switch n.Kind {
	case ast.Return:
		return "the Return before it ends the workflow"
	case ast.Fail:
		return "the Fail before it ends the workflow"
	case ast.Break:
		return fmt.Sprintf("the Break before it leaves loop %q", n.Target.Name)
	case ast.Continue:
		return fmt.Sprintf("the Continue before it starts the next iteration of loop %q", n.Target.Name)
	case ast.Block:
		return fmt.Sprintf("section %q before it never finishes: it always ends in a %s", n.Name, enders)
	case ast.If:
		return fmt.Sprintf("%q before it never finishes: every arm, including the last (else or default), ends in a %s", n.Name, enders)
	case ast.Wait:
		return fmt.Sprintf("wait %q before it never finishes: every event's body ends in a %s", n.Name, enders)
	case ast.Loop:
		return fmt.Sprintf("loop %q before it has no Break, so it never ends", n.Name)
	}
	return fmt.Sprintf("%s %q before it never finishes", n.Kind, n.Name)
}
