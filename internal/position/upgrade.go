package position

import (
	"maps"
	"slices"
	"strings"

	"github.com/weftflow/weft/internal/ast"
)

// Upgrade is the data-free part of lint.Upgrade, kept here so that lint
// needs no access to the compiled tree: what the migrations of new do to
// every way a thread of old can be stored.
type Upgrade struct {
	// From is the version of the migration that starts from old's version,
	// 0 if new has none; UnusedPaths and UnusedRemoved are its Paths and
	// Removed keys that name no position of old (sorted).
	From                       int
	UnusedPaths, UnusedRemoved []string
	// Lost lists the shapes that do not resolve in new after the
	// migrations, by old path (sorted), then in Shapes' order.
	Lost []LostShape
}

// LostShape is one stored shape of a thread of old that new loses.
type LostShape struct {
	Path  string // the statement's path in old
	Shape Shape
	Moved Moved // where the migrations take it
	Lost  *Lost
}

// CheckUpgrade applies the rule to every shape of old (a *dsl.Definition,
// read through ast.TreeOf) moved by the migrations of new that are due
// for an instance written by old.
func CheckUpgrade(old, new any) Upgrade {
	o, n := ast.TreeOf(old), ast.TreeOf(new)
	var out Upgrade
	var due []ast.Migration
	for _, m := range n.Migrations {
		if m.From >= o.Version {
			due = append(due, m)
		}
	}
	if len(due) > 0 && due[0].From == o.Version {
		first := due[0]
		out.From = first.From
		for _, key := range slices.Sorted(maps.Keys(first.Paths)) {
			if !hasPrefixPosition(o, key) {
				out.UnusedPaths = append(out.UnusedPaths, key)
			}
		}
		for _, key := range slices.Sorted(maps.Keys(first.Removed)) {
			if o.Index[key] == nil {
				out.UnusedRemoved = append(out.UnusedRemoved, key)
			}
		}
	}
	for _, p := range slices.Sorted(maps.Keys(o.Index)) {
		for _, sh := range Shapes(o, o.Index[p]) {
			mv := MoveAll(due, p, sh.Phase, sh.Waits)
			if _, _, lost := Resolve(n, sh.ID, mv.Path, mv.Phase, mv.Waits); lost != nil {
				out.Lost = append(out.Lost, LostShape{Path: p, Shape: sh, Moved: mv, Lost: lost})
			}
		}
	}
	return out
}

func hasPrefixPosition(t *ast.Tree, key string) bool {
	if t.Index[key] != nil {
		return true
	}
	for p := range t.Index {
		if strings.HasPrefix(p, key+"/") {
			return true
		}
	}
	return false
}
