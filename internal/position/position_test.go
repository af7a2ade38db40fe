package position_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/ast"
	"github.com/weftflow/weft/internal/position"
)

type st struct{ N int }

var sig = dsl.Signal(func(s *st, n int) (int, error) { return n, nil })

// tree: a wait in the main body, a Go statement inside a section, a GoEach
// in a loop, and a cleanup section.
var tree = ast.TreeOf(dsl.MustCompile[st]("t", dsl.S(
	dsl.Wait("w", dsl.On("go", sig), dsl.On("late", dsl.After(time.Hour))),
	dsl.Section("sec", dsl.Go("g", dsl.Step("s", func(*st) error { return nil }), dsl.Call("c", func(context.Context, st) (int, error) { return 0, nil }, nil))),
	dsl.For("loop", dsl.GoEach("each", func(*st) string { return "k" }, dsl.WaitFor("wf", func(*st) bool { return false }))),
	dsl.Join("j", "g", "each"),
), dsl.OnCancel(dsl.Step("undo", func(*st) error { return nil }))))

func TestResolve(t *testing.T) {
	custom := position.Pendings{{Event: "go", Kind: ast.Custom}}
	for _, c := range []struct {
		name  string
		id    string
		path  string
		phase position.Phase
		waits position.Pendings
		want  string       // the ID it resolves to
		why   position.Why // or why it is lost
	}{
		{"main at a wait", "main", "w", position.Waiting, custom, "main", 0},
		{"both events", "main", "w", position.Waiting, position.Pendings{{Event: "go", Kind: ast.Custom}, {Event: "late", Kind: ast.Timer}}, "main", 0},
		{"no such path", "main", "nope", position.Waiting, nil, "", position.NoStatement},
		{"phase does not fit", "main", "w", position.Retry, nil, "", position.KindChanged},
		{"enter at a root", "main", "", position.Enter, nil, "", position.KindChanged},
		{"no such event", "main", "w", position.Waiting, position.Pendings{{Event: "gone", Kind: ast.Custom}}, "", position.NoEvent},
		{"event kind changed", "main", "w", position.Waiting, position.Pendings{{Event: "late", Kind: ast.Custom}}, "", position.EventChanged},
		{"events at a WaitFor", "each[k]", "loop/each/wf", position.Waiting, custom, "", position.KindChanged},
		{"an activity at a wait", "main", "w", position.Waiting, position.Pendings{{Kind: ast.Activity}}, "", position.KindChanged},
		{"a custom event at a call", "g", "sec/g/c", position.Waiting, custom, "", position.EventChanged},
		{"activity at a call", "g", "sec/g/c", position.Waiting, position.Pendings{{Kind: ast.Activity}}, "g", 0},
		{"a thread starting", "g", "sec/g", position.Start, nil, "g", 0},
		{"main about to start g", "main", "sec/g", position.Enter, nil, "main", 0},
		{"g about to start: wrong thread", "main", "sec/g", position.Start, nil, "", position.WrongThread},
		{"a dynamic thread", "each[k]", "loop/each/wf", position.Waiting, nil, "each[k]", 0},
		{"renamed to its Go statement", "old[k]", "loop/each/wf", position.Waiting, nil, "each[k]", 0},
		{"renamed, static", "helper", "sec/g/s", position.Retry, nil, "g", 0},
		{"main in a Go body", "main", "sec/g/s", position.Retry, nil, "", position.WrongThread},
		{"cancel in a Go body", "cancel", "sec/g/s", position.Retry, nil, "", position.WrongThread},
		{"a Go thread in the main body", "g", "w", position.Waiting, custom, "", position.WrongThread},
		{"cancel in the cleanup section", "cancel", "@cancel/undo", position.Enter, nil, "cancel", 0},
		{"main in the cleanup section", "main", "@cancel/undo", position.Enter, nil, "", position.WrongThread},
		{"garbage phase", "main", "w", position.Phase(9), nil, "", position.KindChanged},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, id, lost := position.Resolve(tree, c.id, c.path, c.phase, c.waits)
			switch {
			case c.why == 0 && lost != nil:
				t.Fatalf("lost: %+v", lost)
			case c.why == 0 && (id != c.want || n != tree.Index[c.path]):
				t.Fatalf("resolved to %q at %v, want %q", id, n, c.want)
			case c.why != 0 && (lost == nil || lost.Why != c.why || n != nil):
				t.Fatalf("lost = %+v, want reason %d", lost, c.why)
			}
		})
	}
}

func TestMove(t *testing.T) {
	mig := ast.Migration{
		Paths:   map[string]string{"a": "x/a", "a/w/go": "x/a/w/start", "b/w": "b/v"},
		Removed: map[string]string{"a/gone": "a/next"},
	}
	for _, c := range []struct{ path, want string }{
		{"a", "x/a"}, {"a/w", "x/a/w"}, {"ab", "ab"}, {"b/w", "b/v"}, {"a/gone", "a/next"},
	} {
		got, removed := position.Move(mig, c.path)
		if got != c.want || removed != (c.path == "a/gone") {
			t.Errorf("Move(%q) = %q, %v; want %q", c.path, got, removed, c.want)
		}
	}
	for _, c := range []struct{ old, now, event, want string }{
		{"a/w", "x/a/w", "go", "start"}, {"a/w", "x/a/w", "late", "late"}, {"b/w", "b/v", "go", "go"}, {"a/w", "x/a/w", "", ""},
	} {
		if got := position.MoveEvent(mig, c.old, c.now, c.event); got != c.want {
			t.Errorf("MoveEvent(%q, %q, %q) = %q, want %q", c.old, c.now, c.event, got, c.want)
		}
	}
	moved := position.MoveAll([]ast.Migration{mig, {Paths: map[string]string{"x": "y"}}}, "a/w", position.Waiting, position.Pendings{{Event: "go", Kind: ast.Custom}})
	if moved.Path != "y/a/w" || moved.Waits[0].Event != "start" || moved.Removed {
		t.Errorf("MoveAll = %+v", moved)
	}
}

func TestShapesResolveInTheirOwnTree(t *testing.T) {
	// Every shape of every statement resolves in the tree it came from:
	// the shapes are what the interpreter writes.
	count := 0
	for path, n := range tree.Index {
		for _, sh := range position.Shapes(tree, n) {
			count++
			if _, id, lost := position.Resolve(tree, sh.ID, path, sh.Phase, sh.Waits); lost != nil || id != sh.ID {
				t.Errorf("%s %s: %v, %q", path, sh.What, lost, id)
			}
		}
	}
	if count < 8 {
		t.Fatalf("only %d shapes", count)
	}
}
