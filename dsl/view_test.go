package dsl_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/defgen"
	"pgregory.net/rapid"
)

// visit is one node as Walk reports it.
type visit struct {
	kind        dsl.Kind
	name, place string
}

func walkAll(def *dsl.Definition) []visit {
	var out []visit
	def.Walk(func(n dsl.Node) bool {
		out = append(out, visit{n.Kind(), n.Name(), n.Place()})
		return true
	})
	return out
}

// parentPlace is the place of the statement holding the one at place: the
// place without its last element ("" for the main body's statements).
func parentPlace(place string) string {
	if i := strings.LastIndexByte(place, '/'); i >= 0 {
		return place[:i]
	}
	return ""
}

// Walk visits exactly the definition's positions plus the statements
// without one, each once, in tree order: every statement after its parent,
// a subtree's statements together, and siblings in source order (checked
// against the order in which the generated source writes the names).
func TestWalkVisitsEveryStatementOnceInTreeOrder(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		d := defgen.Generator(defgen.Config{MaxStmts: 40}).Draw(rt, "definition")
		def, src := d.Definition, d.Source()
		visits := walkAll(def)

		var named []string
		seen := map[string]bool{}
		for i, v := range visits {
			if seen[v.place] {
				rt.Fatalf("visit %d: %q visited twice\n%s", i, v.place, src)
			}
			seen[v.place] = true
			switch v.kind {
			case dsl.KindBreak, dsl.KindContinue, dsl.KindReturn, dsl.KindFail:
				if v.name != "" || !strings.Contains(v.place, "#") {
					rt.Fatalf("visit %d: %s without a name visited as %q at %q", i, v.kind, v.name, v.place)
				}
				if n, ok := def.Lookup(v.place); ok {
					rt.Fatalf("the place %q of a %s resolves to %s", v.place, v.kind, n.Kind())
				}
			case 0:
				rt.Fatalf("visit %d: zero kind at %q", i, v.place)
			default:
				named = append(named, v.place)
				if n, ok := def.Lookup(v.place); !ok || n.Kind() != v.kind || n.Path() != v.place {
					rt.Fatalf("Lookup(%q) = %s %q, %v; Walk saw a %s", v.place, n.Kind(), n.Path(), ok, v.kind)
				}
			}
		}
		slices.Sort(named)
		if want := def.Positions(); !slices.Equal(named, want) {
			rt.Fatalf("Walk's named statements %q, Positions %q\n%s", named, want, src)
		}

		// Preorder: each statement's parent is on the path from the root
		// to the statement visited last, so subtrees are contiguous.
		var stack []string
		for i, v := range visits {
			if v.kind == dsl.KindRoot {
				if i > 0 && v.place != "@cancel" {
					rt.Fatalf("visit %d: a root at %q", i, v.place)
				}
				stack = []string{v.place}
				continue
			}
			if i == 0 {
				rt.Fatalf("the walk does not start at the root but at %q", v.place)
			}
			p := parentPlace(v.place)
			for len(stack) > 0 && stack[len(stack)-1] != p {
				stack = stack[:len(stack)-1]
			}
			if len(stack) == 0 {
				rt.Fatalf("visit %d: %q comes after its parent's subtree was left (or before its parent)\n%s", i, v.place, src)
			}
			stack = append(stack, v.place)
		}

		// Source order: statements whose name the source writes once, and
		// no other statement has (defgen adds statements the source does
		// not show), appear in the walk in the order the source writes
		// them.
		names := map[string]int{}
		for _, v := range visits {
			names[v.name]++
		}
		last, checked := -1, 0
		for _, v := range visits {
			if v.name == "" || names[v.name] != 1 || strings.Count(src, `"`+v.name+`"`) != 1 {
				continue
			}
			at := strings.Index(src, `"`+v.name+`"`)
			if at < last {
				rt.Fatalf("%q is visited after a statement written after it\n%s", v.place, src)
			}
			last = at
			checked++
		}
		if checked == 0 && len(d.WaitPaths()) > 0 {
			rt.Fatalf("no statement's order was checked\n%s", src)
		}
	})
}

// Returning false from fn skips the node's arms and body, not its
// siblings.
func TestWalkSkipsChildren(t *testing.T) {
	type S struct{}
	def := dsl.MustCompile[S]("skip", dsl.S(
		dsl.Section("a", dsl.Step("a1", func(*S) error { return nil })),
		dsl.Section("b", dsl.Step("b1", func(*S) error { return nil })),
	), dsl.OnCancel(dsl.Step("c", func(*S) error { return nil })))
	var got []string
	def.Walk(func(n dsl.Node) bool {
		got = append(got, n.Place())
		return n.Path() != "a"
	})
	if want := []string{"", "a", "b", "b/b1", "@cancel", "@cancel/c"}; !slices.Equal(got, want) {
		t.Fatalf("walk visited %q, want %q", got, want)
	}
	var zero dsl.Node
	zero.Walk(func(dsl.Node) bool { t.Fatal("the zero Node has nothing to walk"); return true })
}

func TestKindNames(t *testing.T) {
	kinds := []dsl.Kind{dsl.KindRoot, dsl.KindSection, dsl.KindStep, dsl.KindIf, dsl.KindArm, dsl.KindLoop, dsl.KindBreak,
		dsl.KindContinue, dsl.KindWait, dsl.KindOn, dsl.KindCall, dsl.KindWaitFor, dsl.KindGo, dsl.KindJoin,
		dsl.KindReturn, dsl.KindFail, dsl.KindChild}
	want := []string{"root", "section", "step", "if", "branch", "loop", "break", "continue", "wait", "on", "call",
		"waitfor", "go", "join", "return", "fail", "child"}
	for i, k := range kinds {
		if k.String() != want[i] {
			t.Errorf("kind %d is %q, want %q", k, k, want[i])
		}
	}
	if s := dsl.Kind(0).String(); s != "kind?" {
		t.Errorf("Kind(0) is %q", s)
	}
	if dsl.TriggerTimer.String() != "timer" || dsl.TriggerCustom.String() != "custom" {
		t.Errorf("trigger kinds are %q and %q", dsl.TriggerTimer, dsl.TriggerCustom)
	}
}

type order struct {
	Total int
	Due   time.Time
}

type reply struct{ OK bool }

// Each accessor returns what the statement was declared with, and zero
// values on other kinds and on the zero Node.
func TestNodeDetails(t *testing.T) {
	child := dsl.MustCompile[order]("invoice", dsl.Return("sent"))
	def := dsl.MustCompile[order]("order", dsl.S(
		dsl.Call("price", func(_ context.Context, s order) (int, error) { return 3, nil }, func(s *order, n int) { s.Total = n }),
		dsl.Child("bill", child, func(s *order) order { return *s }, func(s *order, out string, err error) error { return nil }).
			OnParentEnd(dsl.AbandonChild),
		dsl.GoEach("ship", func(*order) string { return "x" }, dsl.WaitFor("ready", func(s *order) bool { return s.Total > 0 })),
		dsl.Go("pack"),
		dsl.Join("done", "ship", "pack"),
		dsl.While("retry", func(s *order) bool { return s.Total < 3 },
			dsl.Wait("w",
				dsl.On("late", dsl.After(time.Hour), dsl.Continue()),
				dsl.On("due", dsl.At(func(s *order) time.Time { return s.Due })),
				dsl.On("ask", dsl.SignalWithSetup("approve", func(s *order, n int) (reply, error) { return reply{}, nil },
					func(s *order) any { return s.Total })),
				dsl.On("poke", dsl.Signal(func(s *order, b bool) (bool, error) { return b, nil })),
			)),
		dsl.For("ever", dsl.Break()),
	))
	get := func(path string) dsl.Node {
		t.Helper()
		n, ok := def.Lookup(path)
		if !ok {
			t.Fatalf("no statement at %q", path)
		}
		return n
	}
	intT, strT := reflect.TypeFor[int](), reflect.TypeFor[string]()
	if n := get("price"); n.Kind() != dsl.KindCall || n.Output() != intT || n.Workflow() != "" {
		t.Errorf("call: %s %v %q", n.Kind(), n.Output(), n.Workflow())
	}
	if n := get("bill"); n.Kind() != dsl.KindChild || n.Workflow() != "invoice" || n.ChildDefinition() != child ||
		n.Output() != strT || n.ParentEnd() != dsl.AbandonChild {
		t.Errorf("child: %s %q %p %v %v", n.Kind(), n.Workflow(), n.ChildDefinition(), n.Output(), n.ParentEnd())
	}
	if !get("ship").Each() || get("pack").Each() || get("price").Each() {
		t.Error("Each tells GoEach from Go")
	}
	if n := get("ship/ready"); n.Kind() != dsl.KindWaitFor || !n.HasCond() {
		t.Errorf("waitfor: %s %v", n.Kind(), n.HasCond())
	}
	if th := get("done").Threads(); !slices.Equal(th, []string{"ship", "pack"}) {
		t.Errorf("join threads %q", th)
	} else {
		th[0] = "changed" // the caller's copy
		if get("done").Threads()[0] != "ship" {
			t.Error("Threads returned the definition's own slice")
		}
	}
	if !get("retry").HasCond() || get("ever").HasCond() {
		t.Error("HasCond tells While from For")
	}
	if n := get("ever").Body()[0]; n.Kind() != dsl.KindBreak || n.Target() != get("ever") || n.Place() != "ever/#1" {
		t.Errorf("break: %s %q %q", n.Kind(), n.Target().Path(), n.Place())
	}
	if n := get("retry/w/late").Body()[0]; n.Kind() != dsl.KindContinue || n.Target() != get("retry") {
		t.Errorf("continue: %s %q", n.Kind(), n.Target().Path())
	}
	ons := get("retry/w").Arms()
	if len(ons) != 4 || ons[0] != get("retry/w/late") || ons[3] != get("retry/w/poke") {
		t.Fatalf("wait arms %v", ons)
	}
	late, due, ask, poke := ons[0], ons[1], ons[2], ons[3]
	if late.Trigger() != dsl.TriggerTimer || late.After() != time.Hour || late.At() || late.Payload() != nil || late.EventType() != "" {
		t.Errorf("after: %s %v %v %v", late.Trigger(), late.After(), late.At(), late.Payload())
	}
	if due.Trigger() != dsl.TriggerTimer || due.After() != 0 || !due.At() {
		t.Errorf("at: %s %v %v", due.Trigger(), due.After(), due.At())
	}
	if ask.Trigger() != dsl.TriggerCustom || ask.EventType() != "approve" || !ask.HasSetup() || ask.Payload() != intT ||
		ask.Reply() != reflect.TypeFor[reply]() || ask.At() || ask.After() != 0 {
		t.Errorf("custom with setup: %s %q %v %v %v", ask.Trigger(), ask.EventType(), ask.HasSetup(), ask.Payload(), ask.Reply())
	}
	if poke.Trigger() != dsl.TriggerCustom || poke.HasSetup() || poke.Payload() != reflect.TypeFor[bool]() {
		t.Errorf("signal: %s %v %v", poke.Trigger(), poke.HasSetup(), poke.Payload())
	}
	if r := def.Root(); r.Kind() != dsl.KindRoot || r.Path() != "" || len(r.Body()) != 7 || r.Arms() != nil {
		t.Errorf("root: %s %q %d statements", r.Kind(), r.Path(), len(r.Body()))
	}
	if _, ok := def.Cleanup(); ok {
		t.Error("a cleanup section without OnCancel")
	}
	if n, ok := def.Lookup("nowhere"); ok || n != (dsl.Node{}) {
		t.Errorf("Lookup of a missing path: %v %v", n, ok)
	}
	var z dsl.Node
	if z.Kind() != 0 || z.Name() != "" || z.Path() != "" || z.Place() != "" || z.Body() != nil || z.Arms() != nil ||
		z.HasCond() || z.Target() != z || z.Threads() != nil || z.Each() || z.Trigger() != 0 || z.After() != 0 ||
		z.At() || z.EventType() != "" || z.HasSetup() || z.Payload() != nil || z.Reply() != nil || z.Output() != nil ||
		z.Workflow() != "" || z.ChildDefinition() != nil || z.ParentEnd() != 0 {
		t.Error("the zero Node has a detail")
	}
}
