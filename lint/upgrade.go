package lint

import (
	"fmt"
	"sort"
	"strings"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/ast"
	pos "github.com/weftflow/weft/internal/position"
)

// Upgrade checks a new definition's migrations against the definition
// running today (old), before deploying new. It reports:
//
//   - unused-migration (Warning): a key of the migration from old's version
//     (Paths or Removed) that is not a position of old, so it can never
//     match a stored instance: a typo, or an entry for another version;
//   - lost-position (Error): a way a thread of old can be stored (waiting
//     at a wait for each of its events, with the event's trigger kind; at a
//     call for its activity; at a WaitFor or join; retrying or about to run
//     a step; at a loop's next iteration; a thread about to start) that
//     does not resolve in new after the migrations, so an instance stored
//     that way would fail with a position-lost error. Event-level changes
//     count: an event removed from a wait, renamed without a migration, or
//     turned from a timer into a custom event (or back).
//
// The decision is the interpreter's own (internal/position), applied to
// each shape instead of to stored threads, so lint, simulate.Verify and
// interp.Apply cannot disagree about a position. Both definitions must have
// the same name. Findings are sorted by path (the old position); a
// position may have one finding per lost event.
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
	for p := range o.Index {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		seen := map[string]bool{}
		for _, sh := range pos.Shapes(o, o.Index[p]) {
			mv := pos.MoveAll(due, p, sh.Phase, sh.Waits)
			_, _, lost := pos.Resolve(n, sh.ID, mv.Path, mv.Phase, mv.Waits)
			if lost == nil {
				continue
			}
			msg := lostMessage(o, n, p, sh, mv, lost)
			if !seen[msg] {
				seen[msg] = true
				add("lost-position", Error, p, "%s", msg)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// lostMessage says which stored thread breaks, where it would be, why, and
// what migration entry fixes it.
func lostMessage(o, n *ast.Tree, p string, sh pos.Shape, mv pos.Moved, lost *pos.Lost) string {
	who := fmt.Sprintf("a thread %s at %q under version %d", sh.What, p, o.Version)
	if lost.Why == pos.NoStatement {
		// The wording of the first lint.Upgrade, which users may match.
		return fmt.Sprintf("an instance parked at %q under version %d has no position in version %d (it would be at %q): add a migration (Paths or Removed)", p, o.Version, n.Version, mv.Path)
	}
	var fix string
	switch lost.Why {
	case pos.KindChanged:
		fix = fmt.Sprintf("migrate it with Removed {%q: %q} to run the new statement from its start", p, mv.Path)
	case pos.NoEvent:
		fix = fmt.Sprintf("map the event to its new name (Paths {%q: %q}) or re-enter the wait (Removed {%q: %q})", p+"/"+sh.Waits[0].Event, mv.Path+"/...", p, mv.Path)
	case pos.EventChanged:
		fix = fmt.Sprintf("re-enter the wait with its new events (Removed {%q: %q})", p, mv.Path)
	default:
		fix = "keep it in a body of the same kind of thread (the main body, the cleanup section, or a Go statement's body)"
	}
	return fmt.Sprintf("%s cannot resume in version %d: %s (at %q); %s", who, n.Version, lost.Reason, lost.Path, fix)
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
