package dsl_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
)

type st struct{ N int }

type other struct{ M int }

func step(name string) dsl.Stmt { return dsl.Step(name, func(*st) error { return nil }) }

func finish(why string) dsl.Stmt { return dsl.Section("finish", step("notify"), dsl.Return(why)) }

func never(*st) bool { return false }

func TestCompileErrors(t *testing.T) {
	sig := dsl.Signal(func(*st, int) (int, error) { return 0, nil })
	for _, c := range []struct {
		name string
		body dsl.Stmt
		opts []dsl.Option
		want []string // each must appear in the error
	}{
		{"empty step name", dsl.S(step("a"), step("")), nil,
			[]string{`dsl: "wf": #2: unnamed step: statements that can hold a position need a name`}},
		{"empty nested name", dsl.Section("outer", dsl.For("", step("x"))), nil,
			[]string{`"wf": outer/#1: unnamed loop`}},
		{"slash in name", step("a/b"), nil, []string{`#1: step name "a/b": names may not contain '/'`}},
		{"duplicate sibling names", dsl.S(step("a"), step("a")), nil,
			[]string{`"wf": a: duplicate path: step at #1 and step at #2`}},
		{"same section twice in one place", dsl.S(finish("x"), finish("y")), nil,
			[]string{`finish: duplicate path: section at #1 and section at #2`}},
		{"section reused under distinct parents is fine", dsl.S(
			dsl.If("a", never, finish("x")).Else(finish("y"))), nil, nil},
		{"duplicate inside section reuse", dsl.Section("s", finish("x"), dsl.S(finish("y"))), nil,
			[]string{`s/finish: duplicate path: section at s/#1 and section at s/#2`}},
		{"break outside loop", dsl.S(step("a"), dsl.If("c", never, dsl.Break())), nil,
			[]string{`c/then/#1: break outside a loop`}},
		{"continue outside loop", dsl.Continue(), nil, []string{`#1: continue outside a loop`}},
		{"break crosses a thread", dsl.For("l", dsl.Go("g", dsl.Break())), nil,
			[]string{`l/g/#1: break outside a loop`}},
		{"wait without events", dsl.Wait("w"), nil, []string{`"wf": w: wait has no events`}},
		{"duplicate event", dsl.Wait("w", dsl.On("e", sig), dsl.On("e", dsl.After(time.Second))), nil,
			[]string{`w: duplicate event "e" in one wait`}},
		{"unnamed event", dsl.Wait("w", dsl.On("", sig)), nil, []string{`w/arm#1: unnamed on`}},
		{"unnamed if", dsl.If("", never), nil, []string{`#1: unnamed if`}},
		{"unnamed else-if arm", dsl.If("c", never).ElseIf("", never), nil, []string{`c/arm#2: unnamed branch`}},
		{"else not last", dsl.If("c", never).Else().ElseIf("x", never), nil, []string{`c/else: else must be the last arm`}},
		{"nil step function", dsl.Step[st]("s", nil), nil, []string{`s: step has no function`}},
		{"nil trigger", dsl.Wait("w", dsl.On("e", dsl.Trigger{})), nil, []string{`w/e: on has no trigger`}},
		{"wrong state type", dsl.Step("s", func(*other) error { return nil }), nil,
			[]string{`s: step uses state type dsl_test.other, but the workflow's state type is dsl_test.st`}},
		{"duplicate thread", dsl.S(dsl.Go("t"), dsl.If("c", never, dsl.Go("t"))), nil,
			[]string{`c/then/t: duplicate thread name "t": also started at t`}},
		{"reserved thread", dsl.Go("main"), nil, []string{`main: thread name "main" is reserved`}},
		{"join unknown thread", dsl.Join("j", "ghost"), nil, []string{`j: join waits for thread "ghost"`}},
		{"bad retry", dsl.Step("s", func(*st) error { return nil }).Retry(dsl.RetryPolicy{}), nil,
			[]string{`s: retry policy needs MaxAttempts >= 1`}},
		{"bad budget", step("a"), []dsl.Option{dsl.Budget(0)}, []string{`workflow: budget must be at least 1`}},
		{"cancel section paths", step("a"), []dsl.Option{dsl.OnCancel(step("b"), step("b"))},
			[]string{`@cancel/b: duplicate path`}},
		{"several errors at once", dsl.S(step(""), dsl.Break()), nil,
			[]string{`#1: unnamed step`, `#2: break outside a loop`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := dsl.Compile[st]("wf", c.body, c.opts...)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("compiled; want errors %q", c.want)
			}
			if !errors.Is(err, dsl.ErrCompile) {
				t.Fatalf("error %v does not match ErrCompile", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
			var ce *dsl.CompileError
			if !errors.As(err, &ce) || ce.Workflow != "wf" {
				t.Fatalf("error %v is not a *CompileError", err)
			}
		})
	}
}

func TestPositions(t *testing.T) {
	def := dsl.MustCompile[st]("wf", dsl.S(
		step("load"),
		dsl.Wait("decision",
			dsl.On("timeout", dsl.After(time.Minute), finish("late")),
			dsl.On("answer", dsl.Signal(func(*st, bool) (bool, error) { return true, nil }), finish("answered"))),
	))
	want := []string{"", "decision", "decision/answer", "decision/answer/finish", "decision/answer/finish/notify",
		"decision/timeout", "decision/timeout/finish", "decision/timeout/finish/notify", "load"}
	if got := def.Positions(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("positions\n got %q\nwant %q", got, want)
	}
	if !def.Has("decision/answer/finish") || def.Has("finish") {
		t.Fatal("Has disagrees with Positions")
	}
}

func TestMustCompilePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("MustCompile did not panic")
		}
	}()
	dsl.MustCompile[st]("wf", dsl.Break())
}
