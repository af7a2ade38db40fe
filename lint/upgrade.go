package lint

import (
	"fmt"
	"sort"
	"strings"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/ast"
)

// Upgrade checks a new definition's migrations against the definition
// running today (old), before deploying new. It reports:
//
//   - unused-migration (Warning): a key of the migration from old's version
//     (Paths or Removed) that is not a position of old, so it can never
//     match a stored instance: a typo, or an entry for another version;
//   - lost-position (Error): a position of old where a thread can park
//     (a wait, call, WaitFor, join, a step retrying, a loop, a thread's
//     start) that does not resolve in new after the migrations, so an
//     instance parked there would fail with a position-lost error.
//
// Both definitions must have the same name. Findings are sorted by path.
// The verifier (simulate.Verify, weft verify) checks the same against
// stored instances; this check needs no data.
func Upgrade(old, new *dsl.Definition) []Finding {
	o, n := ast.TreeOf(old), ast.TreeOf(new)
	var out []Finding
	add := func(check string, sev Severity, path, format string, args ...any) {
		out = append(out, Finding{Check: check, Path: path, Message: fmt.Sprintf(format, args...), Severity: sev})
	}
	if o.Name != n.Name {
		add("lost-position", Error, "", "the definitions are of different workflows (%q and %q)", o.Name, n.Name)
		return out
	}
	// The migrations an instance written by old goes through, in order.
	var due []ast.Migration
	for _, m := range n.Migrations {
		if m.From >= o.Version {
			due = append(due, m)
		}
	}
	if len(due) > 0 && due[0].From == o.Version {
		first := due[0]
		for _, key := range sortedKeys(first.Paths) {
			if !hasPrefixPosition(o, key) {
				add("unused-migration", Warning, key, "the migration from version %d maps %q, which is not a position of version %d: it never applies", first.From, key, o.Version)
			}
		}
		for _, key := range sortedKeys(first.Removed) {
			if o.Index[key] == nil {
				add("unused-migration", Warning, key, "the migration from version %d removes %q, which is not a position of version %d: it never applies", first.From, key, o.Version)
			}
		}
	}
	var paths []string
	for p, node := range o.Index {
		if parks(node) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		at, removed := p, false
		for _, m := range due {
			if next, ok := m.Removed[at]; ok {
				at, removed = next, true
				continue
			}
			at = m.Rewrite(at)
		}
		node := n.Index[at]
		switch {
		case node == nil:
			add("lost-position", Error, p, "an instance parked at %q under version %d has no position in version %d (it would be at %q): add a migration (Paths or Removed)", p, o.Version, n.Version, at)
		case !removed && node.Kind != o.Index[p].Kind:
			add("lost-position", Error, p, "%q is a %s in version %d but a %s in version %d: instances parked there cannot resume; migrate them with Removed", p, o.Index[p].Kind, o.Version, node.Kind, n.Version)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// parks reports whether a thread can be stored at n.
func parks(n *ast.Node) bool {
	switch n.Kind {
	case ast.Wait, ast.Call, ast.WaitFor, ast.Join, ast.Step, ast.Loop, ast.Go:
		return true
	}
	return false
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

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
