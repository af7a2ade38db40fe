package lint_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/lint"
)

func TestUpgradePizza(t *testing.T) {
	if f := lint.Upgrade(pizza.Workflow, pizza.WorkflowV2); len(f) > 0 {
		t.Fatalf("pizza v1 -> v2 with its migration: %v", f)
	}
	var got []string
	for _, f := range lint.Upgrade(pizza.Workflow, pizza.WorkflowV2NoMigration()) {
		got = append(got, f.Check+" "+f.Path)
	}
	// Without the migration: the cart loop and its wait are gone, the
	// kitchen is renamed.
	want := "lost-position cart,lost-position cart/shopping,lost-position kitchen"
	if strings.Join(got, ",") != want {
		t.Fatalf("findings %v, want %s", got, want)
	}
}

func TestUpgradeUnusedMigration(t *testing.T) {
	type S struct{}
	step := func(name string) dsl.Stmt { return dsl.Step(name, func(*S) error { return nil }) }
	v1 := dsl.MustCompile[S]("w", dsl.S(step("a"), step("b")))
	v2 := dsl.MustCompile[S]("w", dsl.S(step("a"), step("c")), dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1,
		Paths: map[string]string{"b": "c", "typo": "c"}, Removed: map[string]string{"ghost": "a"}}))
	var got []string
	for _, f := range lint.Upgrade(v1, v2) {
		got = append(got, f.Check+" "+f.Path)
	}
	if want := "unused-migration ghost,unused-migration typo"; strings.Join(got, ",") != want {
		t.Fatalf("findings %v, want %s", got, want)
	}
}

// Changes below the statement: events, kinds and thread bodies. Each case
// is v1 -> v2 (with its migration); want lists the lost positions.
func TestUpgradeEventLevel(t *testing.T) {
	mig := func(paths, removed map[string]string) []dsl.Option {
		return []dsl.Option{dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: paths, Removed: removed})}
	}
	plain := []dsl.Option{dsl.Version(2)}
	for _, c := range []struct {
		name   string
		v1, v2 dsl.Stmt
		opts   []dsl.Option
		want   []string // "path: reason fragment"
	}{
		{"an event removed from a wait", dsl.Wait("w", event("go"), timer("late")), dsl.Wait("w", event("go")), plain,
			[]string{`w: waiting for timer event "late"`}},
		{"a timer turned into a custom event", dsl.Wait("w", event("go"), timer("late")), dsl.Wait("w", event("go"), event("late")), plain,
			[]string{"w: the event changed from timer to custom"}},
		{"a custom event turned into a timer", dsl.Wait("w", event("go")), dsl.Wait("w", timer("go")), plain,
			[]string{"w: the event changed from custom to timer"}},
		{"an event renamed without a migration", dsl.Wait("w", event("go")), dsl.Wait("w", event("start")), plain,
			[]string{"w: the wait has no such event"}},
		{"an event renamed with a migration", dsl.Wait("w", event("go")), dsl.Wait("w", event("start")),
			mig(map[string]string{"w/go": "w/start"}, nil), nil},
		{"an event moved with its wait", dsl.Wait("w", event("go")), dsl.Section("s", dsl.Wait("v", event("start"))),
			mig(map[string]string{"w": "s/v", "w/go": "s/v/start"}, nil), nil},
		{"a wait moved, its event not renamed", dsl.Wait("w", event("go")), dsl.Section("s", dsl.Wait("v", event("start"))),
			mig(map[string]string{"w": "s/v"}, nil), []string{"w: the wait has no such event"}},
		{"a call turned into a wait", call("c"), dsl.Wait("c", event("go")), plain,
			[]string{"c: waits for a call's activity result, but the statement is now a wait"}},
		{"a wait turned into a call", dsl.Wait("c", event("go")), call("c"), plain,
			[]string{"c: a call is waiting for a non-activity callback"}},
		{"a step turned into a wait", step("s"), dsl.Wait("s", event("go")), plain,
			[]string{"s: a wait cannot be in phase retry"}},
		{"a wait removed via Removed", dsl.S(dsl.Wait("w", event("go")), step("after")), step("after"),
			mig(nil, map[string]string{"w": "after"}), nil},
		{"a changed wait re-entered via Removed", dsl.Wait("w", timer("late")), dsl.Wait("w", event("late")),
			mig(nil, map[string]string{"w": "w"}), nil},
		{"a Go statement renamed with a migration", dsl.S(dsl.Go("a", dsl.Wait("w", event("go"))), dsl.Join("j", "a")),
			dsl.S(dsl.Go("b", dsl.Wait("w", event("go"))), dsl.Join("j", "b")), mig(map[string]string{"a": "b"}, nil), nil},
		{"a thread's wait moved into the main body", dsl.S(dsl.Go("a", dsl.Wait("w", event("go"))), dsl.Join("j", "a")),
			dsl.S(dsl.Wait("w", event("go")), dsl.Go("a", step("x")), dsl.Join("j", "a")), mig(map[string]string{"a/w": "w"}, nil),
			[]string{"a/w: belongs to the main thread"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v1 := dsl.MustCompile[S]("w", c.v1)
			v2 := dsl.MustCompile[S]("w", c.v2, c.opts...)
			var got []lint.Finding
			for _, f := range lint.Upgrade(v1, v2) {
				if f.Check == "lost-position" {
					got = append(got, f)
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("findings %v, want %d: %v", got, len(c.want), c.want)
			}
			for i, w := range c.want {
				path, frag, _ := strings.Cut(w, ": ")
				if got[i].Path != path || !strings.Contains(got[i].Message, frag) || got[i].Severity != lint.Error {
					t.Fatalf("finding %d = %v, want %q at %q", i, got[i], frag, path)
				}
			}
		})
	}
}

// The messages docs/lint.md quotes for lint.Upgrade are what it prints.
func TestUpgradeMessagesInDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/lint.md")
	if err != nil {
		t.Fatal(err)
	}
	answer := dsl.Signal(func(s *S, n int) (int, error) { return n, nil })
	notify := func(context.Context, S) (int, error) { return 0, nil }
	v1 := dsl.MustCompile[S]("ticket", dsl.S(
		dsl.Wait("reply", dsl.On("answer", answer), dsl.On("expired", dsl.After(7*24*time.Hour))),
		dsl.Call("notify", notify, nil),
	))
	dropped := dsl.MustCompile[S]("ticket", dsl.S(dsl.Wait("reply", dsl.On("answer", answer)), dsl.Call("notify", notify, nil)), dsl.Version(2))
	changed := dsl.MustCompile[S]("ticket", dsl.S(
		dsl.Wait("reply", dsl.On("response", answer), dsl.On("expired", answer)),
		dsl.Wait("notify", dsl.On("sent", answer)),
	), dsl.Version(2))
	n := 0
	for _, v2 := range []*dsl.Definition{dropped, changed} {
		for _, f := range lint.Upgrade(v1, v2) {
			n++
			if !strings.Contains(string(doc), f.String()) {
				t.Errorf("docs/lint.md does not show\n%s", f)
			}
		}
	}
	if n != 4 {
		t.Fatalf("%d findings, want the 4 the docs show", n)
	}
}
