package lint_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/lint"
	"pgregory.net/rapid"
)

// This file checks lint.Upgrade against the interpreter: for random small
// definitions and random changes to them (events dropped or renamed,
// trigger kinds flipped, statements renamed, removed, wrapped, moved into
// other threads' bodies or turned into other kinds, each with or without a
// migration entry), lint reports a lost position at a path if and only if
// interp.Upgrade (and interp.Apply) refuse an instance stored there with a
// position-lost error.

// spec is a statement of a generated definition. IDs survive changes, so
// the old and new path of a statement can be found to write migrations.
type spec struct {
	id     int
	kind   string // step wait call waitfor join go goeach section loop; events: timer custom
	name   string
	events []*spec // wait
	body   []*spec // go, goeach, section, loop, events
	joins  []int   // join: IDs of Go statements (a join left with none is built as a WaitFor)
}

func (s *spec) clone() *spec {
	c := *s
	c.events, c.body, c.joins = cloneAll(s.events), cloneAll(s.body), slices.Clone(s.joins)
	return &c
}

func cloneAll(ss []*spec) []*spec {
	if ss == nil {
		return nil
	}
	out := make([]*spec, len(ss))
	for i, s := range ss {
		out[i] = s.clone()
	}
	return out
}

func (s *spec) String() string {
	var b strings.Builder
	b.WriteString(s.kind + " " + s.name)
	if len(s.joins) > 0 {
		fmt.Fprintf(&b, " %v", s.joins)
	}
	var kids []string
	for _, e := range s.events {
		kids = append(kids, e.String())
	}
	for _, c := range s.body {
		kids = append(kids, c.String())
	}
	if len(kids) > 0 {
		b.WriteString("(" + strings.Join(kids, ", ") + ")")
	}
	return b.String()
}

func isThread(kind string) bool { return kind == "go" || kind == "goeach" }

// names hands out fresh IDs and names.
type names struct{ next int }

func (n *names) fresh(kind string) (int, string) {
	n.next++
	return n.next, fmt.Sprintf("%c%d", kind[0], n.next)
}

func genSpecs(t *rapid.T, n *names, depth int, label string) []*spec {
	count := rapid.IntRange(1, 3).Draw(t, label+" length")
	var out []*spec
	for range count {
		kinds := []string{"step", "wait", "call", "waitfor", "join"}
		if depth > 0 {
			kinds = append(kinds, "go", "goeach", "section", "loop")
		}
		kind := rapid.SampledFrom(kinds).Draw(t, label+" kind")
		id, name := n.fresh(kind)
		s := &spec{id: id, kind: kind, name: name}
		switch kind {
		case "wait":
			for range rapid.IntRange(1, 3).Draw(t, name+" events") {
				ek := rapid.SampledFrom([]string{"timer", "custom"}).Draw(t, name+" event kind")
				eid, ename := n.fresh("event")
				e := &spec{id: eid, kind: ek, name: ename}
				if depth > 0 && rapid.IntRange(0, 3).Draw(t, ename+" has a body") == 0 {
					e.body = genSpecs(t, n, depth-1, ename)
				}
				s.events = append(s.events, e)
			}
		case "go", "goeach", "section", "loop":
			s.body = genSpecs(t, n, depth-1, name)
		}
		out = append(out, s)
	}
	return out
}

// walk visits every statement and event with its path and the ID a
// thread running it has.
func walk(ss []*spec, parent, thread string, fn func(s *spec, path, thread string)) {
	for _, s := range ss {
		path := s.name
		if parent != "" {
			path = parent + "/" + s.name
		}
		fn(s, path, thread)
		inner := thread
		switch s.kind {
		case "go":
			inner = s.name
		case "goeach":
			inner = s.name + "[0]"
		}
		for _, e := range s.events {
			fn(e, path+"/"+e.name, thread)
			walk(e.body, path+"/"+e.name, thread, fn)
		}
		walk(s.body, path, inner, fn)
	}
}

func pathsByID(ss []*spec) map[int]string {
	out := map[int]string{}
	walk(ss, "", "main", func(s *spec, path, _ string) { out[s.id] = path })
	return out
}

type fixture struct {
	N    int
	Done bool
}

var noop = func(*fixture) error { return nil }

func build(ss []*spec, threads map[int]string) []dsl.Stmt {
	var out []dsl.Stmt
	for _, s := range ss {
		switch s.kind {
		case "step":
			out = append(out, dsl.Step(s.name, noop))
		case "wait":
			var ons []dsl.OnClause
			for _, e := range s.events {
				trig := dsl.After(time.Hour)
				if e.kind == "custom" {
					trig = dsl.Signal(func(f *fixture, n int) (int, error) { f.N = n; return n, nil })
				}
				ons = append(ons, dsl.On(e.name, trig, build(e.body, threads)...))
			}
			out = append(out, dsl.Wait(s.name, ons...))
		case "call":
			out = append(out, dsl.Call(s.name, func(context.Context, fixture) (int, error) { return 1, nil }, nil))
		case "waitfor":
			out = append(out, dsl.WaitFor(s.name, func(f *fixture) bool { return f.Done }))
		case "join":
			var names []string
			for _, id := range s.joins {
				if n, ok := threads[id]; ok {
					names = append(names, n)
				}
			}
			if len(names) == 0 {
				out = append(out, dsl.WaitFor(s.name, func(f *fixture) bool { return f.Done }))
			} else {
				out = append(out, dsl.Join(s.name, names...))
			}
		case "go":
			out = append(out, dsl.Go(s.name, build(s.body, threads)...))
		case "goeach":
			out = append(out, dsl.GoEach(s.name, func(*fixture) string { return "0" }, build(s.body, threads)...))
		case "section":
			out = append(out, dsl.Section(s.name, build(s.body, threads)...))
		case "loop":
			out = append(out, dsl.For(s.name, build(s.body, threads)...))
		}
	}
	return out
}

func compile(ss []*spec, opts ...dsl.Option) (*dsl.Definition, error) {
	threads := map[int]string{}
	walk(ss, "", "main", func(s *spec, _, _ string) {
		if isThread(s.kind) {
			threads[s.id] = s.name
		}
	})
	return dsl.Compile[fixture]("gen", dsl.S(build(ss, threads)...), opts...)
}

// pair is an old definition and a changed new one with its migration.
type pair struct {
	old, new   *dsl.Definition
	oldS, newS []*spec
	changes    []string
	mig        dsl.Migration
}

func (p pair) String() string {
	return fmt.Sprintf("old: %v\nchanges: %s\nnew: %v\nmigration: Paths %v Removed %v", p.oldS, strings.Join(p.changes, "; "), p.newS, p.mig.Paths, p.mig.Removed)
}

// locate finds the body holding the statement id, and its index there.
func locate(ss *[]*spec, id int) (*[]*spec, int) {
	for i, s := range *ss {
		if s.id == id {
			return ss, i
		}
		for _, e := range s.events {
			if b, j := locate(&e.body, id); b != nil {
				return b, j
			}
		}
		if b, j := locate(&s.body, id); b != nil {
			return b, j
		}
	}
	return nil, -1
}

func statements(ss []*spec) []*spec {
	var out []*spec
	walk(ss, "", "main", func(s *spec, _, _ string) {
		if s.kind != "timer" && s.kind != "custom" {
			out = append(out, s)
		}
	})
	return out
}

func contains(s *spec, id int) bool {
	found := false
	walk([]*spec{s}, "", "", func(c *spec, _, _ string) { found = found || c.id == id })
	return found
}

func genPair() *rapid.Generator[pair] {
	return rapid.Custom(func(t *rapid.T) pair {
		n := &names{}
		oldS := genSpecs(t, n, 2, "main")
		var gos []int
		walk(oldS, "", "main", func(s *spec, _, _ string) {
			if isThread(s.kind) {
				gos = append(gos, s.id)
			}
		})
		walk(oldS, "", "main", func(s *spec, _, _ string) {
			if s.kind == "join" && len(gos) > 0 {
				s.joins = []int{rapid.SampledFrom(gos).Draw(t, s.name+" joins")}
			}
		})
		newS := cloneAll(oldS)
		migrate := map[int]bool{} // IDs whose old path maps to their new path
		removed := map[int]int{}  // removed ID -> ID of the statement to continue at
		var changes []string
		for range rapid.IntRange(1, 2).Draw(t, "changes") {
			all := statements(newS)
			target := rapid.SampledFrom(all).Draw(t, "target")
			withMig := rapid.Bool().Draw(t, "with a migration")
			change := rapid.SampledFrom([]string{"drop event", "flip event", "rename event", "rename", "change kind", "remove", "wrap", "move"}).Draw(t, "change")
			did := change + " " + target.name
			switch change {
			case "drop event", "flip event", "rename event":
				if target.kind != "wait" {
					continue
				}
				i := rapid.IntRange(0, len(target.events)-1).Draw(t, "event")
				e := target.events[i]
				did += "/" + e.name
				switch change {
				case "drop event":
					if len(target.events) < 2 {
						continue
					}
					target.events = slices.Delete(target.events, i, i+1)
				case "flip event":
					e.kind = map[string]string{"timer": "custom", "custom": "timer"}[e.kind]
				case "rename event":
					_, e.name = n.fresh("event")
					migrate[e.id] = withMig
				}
			case "rename":
				_, target.name = n.fresh(target.kind)
				migrate[target.id] = withMig
			case "change kind":
				to := map[string]string{"step": "wait", "wait": "call", "call": "wait", "waitfor": "step", "join": "step", "loop": "section", "section": "loop"}[target.kind]
				if to == "" {
					continue
				}
				if to == "wait" {
					eid, ename := n.fresh("event")
					target.events = []*spec{{id: eid, kind: "custom", name: ename}}
				} else if target.kind == "wait" {
					target.events = nil
				}
				target.kind, target.joins = to, nil
				did += " to " + to
			case "remove":
				body, i := locate(&newS, target.id)
				*body = slices.Delete(*body, i, i+1)
				rest := statements(newS)
				if withMig && len(rest) > 0 {
					to := rapid.SampledFrom(rest).Draw(t, "continue at")
					removed[target.id] = to.id
					did += " continuing at " + to.name
				}
				if len(rest) == 0 {
					return pair{} // nothing left to compare
				}
			case "wrap":
				body, i := locate(&newS, target.id)
				id, name := n.fresh("section")
				(*body)[i] = &spec{id: id, kind: "section", name: name, body: []*spec{target}}
				migrate[target.id] = withMig
			case "move":
				var into []*spec
				for _, s := range statements(newS) {
					if (isThread(s.kind) || s.kind == "section" || s.kind == "loop") && !contains(target, s.id) {
						into = append(into, s)
					}
				}
				if len(into) == 0 {
					continue
				}
				dest := rapid.SampledFrom(into).Draw(t, "into")
				body, i := locate(&newS, target.id)
				*body = slices.Delete(*body, i, i+1)
				dest.body = append(dest.body, target)
				migrate[target.id] = withMig
				did += " into " + dest.name
			}
			if withMig {
				did += " (migrated)"
			}
			changes = append(changes, did)
		}
		p1, p2 := pathsByID(oldS), pathsByID(newS)
		mig := dsl.Migration{From: 1}
		for id, on := range migrate {
			if from, to := p1[id], p2[id]; on && from != "" && to != "" && from != to {
				if mig.Paths == nil {
					mig.Paths = map[string]string{}
				}
				mig.Paths[from] = to
			}
		}
		for id, to := range removed {
			if p2[to] != "" {
				if mig.Removed == nil {
					mig.Removed = map[string]string{}
				}
				mig.Removed[p1[id]] = p2[to]
			}
		}
		p := pair{oldS: oldS, newS: newS, changes: changes, mig: mig}
		var err error
		if p.old, err = compile(oldS); err != nil {
			t.Fatalf("old definition does not compile: %v\n%v", err, p)
		}
		opts := []dsl.Option{dsl.Version(2)}
		if mig.Paths != nil || mig.Removed != nil {
			opts = append(opts, dsl.Migrate(mig))
		}
		if p.new, err = compile(newS, opts...); err != nil {
			t.Fatalf("new definition does not compile: %v\n%v", err, p)
		}
		return p
	})
}

// stored is a thread stored at a position of the old definition.
type stored struct {
	path   string
	thread interp.Thread
}

// storedThreads lists every way a thread can be stored in the old
// definition, written here from the interpreter's semantics (which phase
// each statement kind parks or yields in), not from lint's code.
func storedThreads(ss []*spec) []stored {
	var out []stored
	walk(ss, "", "main", func(s *spec, path, thread string) {
		th := interp.Thread{ID: thread, Path: path}
		add := func(phase interp.Phase, waits ...interp.Pending) {
			th := th
			th.Phase, th.Waits = phase, waits
			if phase == interp.PhaseRetry {
				th.Attempt, th.At = 1, t1.Add(time.Minute).UTC()
			}
			out = append(out, stored{path, th})
		}
		switch s.kind {
		case "step":
			add(interp.PhaseEnter)
			add(interp.PhaseRetry)
		case "loop":
			add(interp.PhaseIterate)
		case "go", "goeach":
			th.ID = s.name
			if s.kind == "goeach" {
				th.ID += "[0]"
			}
			add(interp.PhaseStart)
		case "wait":
			for i, e := range s.events {
				p := interp.Pending{Callback: uint64(i + 1), Event: e.name, Kind: interp.Custom}
				if e.kind == "timer" {
					p.Kind, p.At = interp.Timer, t1.Add(time.Hour)
				}
				add(interp.PhaseWaiting, p)
			}
		case "call":
			add(interp.PhaseWaiting, interp.Pending{Callback: 1, Kind: interp.Activity, Attempt: 1, At: t1})
		case "waitfor", "join":
			add(interp.PhaseWaiting)
		}
	})
	return out
}

var t1 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

type upgradeChecker func(old, new *dsl.Definition) []lint.Finding

// agree reports how check and the interpreter disagree about p, or "".
func agree(p pair, check upgradeChecker) string {
	reported := map[string]bool{}
	for _, f := range check(p.old, p.new) {
		if f.Check == "lost-position" {
			reported[f.Path] = true
		}
	}
	state, err := codec.Marshal(fixture{})
	if err != nil {
		return err.Error()
	}
	lost := map[string]string{}
	positions := map[string]bool{}
	for _, st := range storedThreads(p.oldS) {
		positions[st.path] = true
		meta := interp.Meta{Instance: "i", Seq: 3, Version: 1, NextCallback: 5, Started: t1, Threads: []interp.Thread{st.thread}}
		_, uerr := interp.Upgrade(p.new, state, meta)
		_, aerr := interp.Apply(p.new, state, meta, interp.Event{Kind: interp.EventResume, Time: t1})
		var ul, al *interp.PositionLostError
		u, a := errors.As(uerr, &ul), errors.As(aerr, &al)
		switch {
		case u != a:
			return fmt.Sprintf("Upgrade (%v) and Apply (%v) disagree on %+v", uerr, aerr, st.thread)
		case !u && (uerr != nil || aerr != nil):
			return fmt.Sprintf("unexpected errors for %+v: Upgrade %v, Apply %v", st.thread, uerr, aerr)
		case u && lost[st.path] == "":
			lost[st.path] = fmt.Sprintf("%s %v: %v", st.thread.Phase, st.thread.Waits, uerr)
		}
	}
	var bad []string
	for path := range positions {
		switch {
		case lost[path] != "" && !reported[path]:
			bad = append(bad, fmt.Sprintf("%q: the interpreter loses a thread stored there (%s), lint reports nothing", path, lost[path]))
		case lost[path] == "" && reported[path]:
			bad = append(bad, fmt.Sprintf("%q: lint reports a lost position, the interpreter resumes every thread stored there", path))
		}
	}
	for path := range reported {
		if !positions[path] {
			bad = append(bad, fmt.Sprintf("%q: lint reports a lost position where no thread is stored", path))
		}
	}
	sort.Strings(bad)
	return strings.Join(bad, "\n")
}

func TestUpgradeAgreesWithInterpreter(t *testing.T) {
	rapid.Check(t, checkAgreement(lint.Upgrade))
}

func checkAgreement(check upgradeChecker) func(*rapid.T) {
	return func(t *rapid.T) {
		p := genPair().Draw(t, "definitions")
		if p.old == nil {
			return
		}
		if msg := agree(p, check); msg != "" {
			t.Fatalf("%s\n%v", msg, p)
		}
	}
}

// FuzzUpgradeAgreesWithInterpreter is the property as a fuzz target:
// go test -fuzz FuzzUpgradeAgreesWithInterpreter ./lint
func FuzzUpgradeAgreesWithInterpreter(f *testing.F) {
	f.Fuzz(rapid.MakeFuzz(checkAgreement(lint.Upgrade)))
}

// The property must catch a checker with lint's first logic, which looked
// at statement paths and kinds only: on the same deterministic sample of
// definition pairs, it disagrees with the interpreter, and lint does not.
func TestUpgradeAgreementCatchesPathOnlyChecker(t *testing.T) {
	gen := genPair()
	weak, real := 0, 0
	var first string
	for i := range 300 {
		p := gen.Example(i)
		if p.old == nil {
			continue
		}
		if msg := agree(p, pathOnlyUpgrade(p.mig)); msg != "" {
			weak++
			if first == "" {
				first = msg + "\n" + p.String()
			}
		}
		if msg := agree(p, lint.Upgrade); msg != "" {
			real++
			t.Errorf("lint.Upgrade disagrees on example %d: %s\n%v", i, msg, p)
		}
	}
	if weak == 0 {
		t.Fatal("the path-only checker agreed with the interpreter on every pair: the property cannot tell it from lint.Upgrade")
	}
	t.Logf("the path-only checker disagreed on %d of 300 pairs, lint.Upgrade on %d; first:\n%s", weak, real, first)
}

// pathOnlyUpgrade is lint.Upgrade's lost-position check as it was before
// it shared the interpreter's rule, for pairs whose new definition has the
// one migration mig: a parking statement's path after the migration must
// exist and, unless removed, keep its kind.
func pathOnlyUpgrade(mig dsl.Migration) upgradeChecker {
	return func(old, new *dsl.Definition) []lint.Finding {
		var out []lint.Finding
		for _, p := range old.Positions() {
			node, _ := old.Lookup(p)
			switch node.Kind() {
			case dsl.KindWait, dsl.KindCall, dsl.KindWaitFor, dsl.KindJoin, dsl.KindStep, dsl.KindLoop, dsl.KindGo:
			default:
				continue
			}
			at, removed := p, false
			if next, ok := mig.Removed[at]; ok {
				at, removed = next, true
			} else {
				at = rewrite(mig.Paths, at)
			}
			if now, ok := new.Lookup(at); !ok || (!removed && now.Kind() != node.Kind()) {
				out = append(out, lint.Finding{Check: "lost-position", Path: p, Severity: lint.Error})
			}
		}
		return out
	}
}

// rewrite maps path by paths as a migration does: the longest key equal to
// path or a prefix of it at an element boundary is replaced by its value.
func rewrite(paths map[string]string, path string) string {
	best, found := "", false
	for old := range paths {
		if (path == old || strings.HasPrefix(path, old+"/")) && len(old) >= len(best) {
			best, found = old, true
		}
	}
	if !found {
		return path
	}
	return paths[best] + path[len(best):]
}
