package lint

import (
	"fmt"
	"sort"

	"github.com/weftflow/weft/dsl"
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
	var out []Finding
	add := func(check string, sev Severity, path, format string, args ...any) {
		out = append(out, Finding{Check: check, Path: path, Message: fmt.Sprintf(format, args...), Severity: sev})
	}
	if old.Name() != new.Name() {
		add("lost-position", Error, "", "the definitions are of different workflows (%q and %q)", old.Name(), new.Name())
		return out
	}
	u := pos.CheckUpgrade(old, new)
	for _, key := range u.UnusedPaths {
		add("unused-migration", Warning, key, "the migration from version %d maps %q, which is not a position of version %d: it never applies", u.From, key, old.Version())
	}
	for _, key := range u.UnusedRemoved {
		add("unused-migration", Warning, key, "the migration from version %d removes %q, which is not a position of version %d: it never applies", u.From, key, old.Version())
	}
	seen := map[string]bool{}
	for i, l := range u.Lost {
		if i > 0 && u.Lost[i-1].Path != l.Path {
			seen = map[string]bool{}
		}
		msg := lostMessage(old.Version(), new.Version(), l.Path, l.Shape, l.Moved, l.Lost)
		if !seen[msg] {
			seen[msg] = true
			add("lost-position", Error, l.Path, "%s", msg)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// lostMessage says which stored thread breaks, where it would be, why, and
// what migration entry fixes it.
func lostMessage(oldVersion, newVersion int, p string, sh pos.Shape, mv pos.Moved, lost *pos.Lost) string {
	who := fmt.Sprintf("a thread %s at %q under version %d", sh.What, p, oldVersion)
	if lost.Why == pos.NoStatement {
		// The wording of the first lint.Upgrade, which users may match.
		return fmt.Sprintf("an instance parked at %q under version %d has no position in version %d (it would be at %q): add a migration (Paths or Removed)", p, oldVersion, newVersion, mv.Path)
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
	return fmt.Sprintf("%s cannot resume in version %d: %s (at %q); %s", who, newVersion, lost.Reason, lost.Path, fix)
}
