package interp_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

func goSignal() dsl.Trigger {
	return dsl.Signal(func(s *counter, _ int) (int, error) { s.Log = append(s.Log, "go"); return 0, nil })
}

// v1 parks at "w"; each v2 changes the tree around it.
var v1 = dsl.MustCompile[counter]("up", dsl.S(
	logStep("a", "a"),
	dsl.Wait("w", dsl.On("go", goSignal())),
	logStep("b", "b"),
	logStep("c", "c"),
))

func TestDefinitionChangeUnderParkedInstance(t *testing.T) {
	for _, c := range []struct {
		name string
		v2   dsl.Stmt
		want []string
	}{
		{"unchanged", dsl.S(logStep("a", "a"), dsl.Wait("w", dsl.On("go", goSignal())), logStep("b", "b"), logStep("c", "c")),
			[]string{"a", "go", "b", "c"}},
		{"insert before", dsl.S(logStep("x", "x"), logStep("a", "a"), logStep("y", "y"), dsl.Wait("w", dsl.On("go", goSignal())), logStep("b", "b"), logStep("c", "c")),
			[]string{"a", "go", "b", "c"}},
		{"insert after", dsl.S(logStep("a", "a"), dsl.Wait("w", dsl.On("go", goSignal())), logStep("z", "z"), logStep("b", "b"), logStep("c", "c")),
			[]string{"a", "go", "z", "b", "c"}},
		{"reorder siblings", dsl.S(dsl.Wait("w", dsl.On("go", goSignal())), logStep("a", "a"), logStep("c", "c"), logStep("b", "b")),
			[]string{"a", "go", "a", "c", "b"}},
		{"remove a step that is not parked", dsl.S(logStep("a", "a"), dsl.Wait("w", dsl.On("go", goSignal())), logStep("c", "c")),
			[]string{"a", "go", "c"}},
		{"move code into a new branch", dsl.S(logStep("a", "a"), dsl.Wait("w", dsl.On("go", goSignal())),
			dsl.If("branch", func(s *counter) bool { return len(s.Log) == 2 }, logStep("b", "b in branch")).Else(logStep("b", "never")),
			logStep("c", "c")),
			[]string{"a", "go", "b in branch", "c"}},
		{"add a body to the event", dsl.S(logStep("a", "a"), dsl.Wait("w", dsl.On("go", goSignal(), logStep("inside", "inside"))), logStep("c", "c")),
			[]string{"a", "go", "inside", "c"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			i := start(t, v1, nil)
			i.wantPositions("main@w:waiting")
			i.def = dsl.MustCompile[counter]("up", c.v2)
			i.send("go", 1)
			i.wantStatus(interp.StatusCompleted)
			if diff := cmp.Diff(c.want, decodeState[counter](i).Log); diff != "" {
				t.Fatalf("log (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefinitionChangeLosesPosition(t *testing.T) {
	for _, c := range []struct {
		name, path string
		v2         dsl.Stmt
	}{
		{"parked wait removed", "w", dsl.S(logStep("a", "a"), logStep("b", "b"))},
		{"parked wait renamed", "w", dsl.S(logStep("a", "a"), dsl.Wait("w2", dsl.On("go", goSignal())))},
		{"parked wait moved into a branch", "w", dsl.S(dsl.If("new", func(*counter) bool { return true }, dsl.Wait("w", dsl.On("go", goSignal()))))},
		{"pending event removed", "w/go", dsl.S(dsl.Wait("w", dsl.On("other", goSignal())))},
		{"wait became a step", "w", dsl.S(logStep("w", "w"))},
	} {
		t.Run(c.name, func(t *testing.T) {
			i := start(t, v1, nil)
			state, seq := string(i.state), i.meta.Seq
			i.def = dsl.MustCompile[counter]("up", c.v2)
			err := i.resume(0)
			var pl *interp.PositionLostError
			if !errors.Is(err, interp.ErrPositionLost) || !errors.As(err, &pl) {
				t.Fatalf("err = %v, want a position-lost error", err)
			}
			if pl.Path != c.path || pl.Thread != "main" {
				t.Fatalf("lost %+v, want path %q on main", pl, c.path)
			}
			if string(i.state) != state || i.meta.Seq != seq {
				t.Fatal("a failed resume changed the instance")
			}
		})
	}
}

// A thread parked inside a loop keeps looping under the new loop body.
func TestDefinitionChangeInsideLoop(t *testing.T) {
	loop := func(extra ...dsl.Stmt) *dsl.Definition {
		body := append([]dsl.Stmt{dsl.Wait("w", dsl.On("go", goSignal()))}, extra...)
		return dsl.MustCompile[counter]("loop", dsl.S(
			dsl.While("l", func(s *counter) bool { return s.N < 2 }, body...),
		))
	}
	i := start(t, loop(add("n")), nil)
	i.send("go", 1)
	i.wantPositions("main@l/w:waiting")
	i.def = loop(logStep("new", "new"), add("n"))
	i.send("go", 1)
	i.wantStatus(interp.StatusCompleted)
	if diff := cmp.Diff([]string{"go", "n", "go", "new", "n"}, decodeState[counter](i).Log); diff != "" {
		t.Fatalf("log (-want +got):\n%s", diff)
	}
}

func TestResolve(t *testing.T) {
	i := start(t, v1, nil)
	if err := interp.Resolve(v1, i.meta); err != nil {
		t.Fatal(err)
	}
	v2 := dsl.MustCompile[counter]("up", dsl.S(logStep("a", "a")))
	var pl *interp.PositionLostError
	if err := interp.Resolve(v2, i.meta); !errors.As(err, &pl) || pl.Path != "w" {
		t.Fatalf("Resolve = %v, want position lost at w", err)
	}
}
