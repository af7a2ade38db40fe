package interp_test

import (
	"errors"
	"testing"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

type childIn struct{ N int }

type childParent struct {
	Got    string
	Failed string
}

// childDef is a parent that starts a child and keeps its output, or the
// failure when handle is set (otherwise a failed child fails the parent).
func childDef(handle bool, policy dsl.ParentEndPolicy) *dsl.Definition {
	child := dsl.MustCompile[childIn]("kid", dsl.Return("done"))
	return dsl.MustCompile[childParent]("parent", dsl.S(
		dsl.Child("kid", child, func(s *childParent) childIn { return childIn{N: 7} },
			func(s *childParent, out string, err error) error {
				if err != nil {
					var ce *dsl.ChildError
					if !handle || !errors.As(err, &ce) {
						return err
					}
					s.Failed = ce.Status + ": " + ce.Message
					return nil
				}
				s.Got = out
				return nil
			}).OnParentEnd(policy),
		dsl.ReturnWith(func(s *childParent) childParent { return *s }),
	))
}

func childCallback(t *testing.T, i *inst, o interp.ChildOutcome) error {
	t.Helper()
	p := i.meta.Threads[0].Waits[0]
	if p.Kind != interp.Child {
		t.Fatalf("pending %v, want a child wait", p)
	}
	b, err := interp.EncodeChildOutcome(o)
	if err != nil {
		t.Fatal(err)
	}
	return i.apply(interp.Event{Kind: interp.EventCallback, Callback: p.Callback, Payload: b})
}

func TestChildStartsAndCompletes(t *testing.T) {
	i := start(t, childDef(false, 0), nil)
	if len(i.effects) != 1 || i.effects[0].Kind != interp.EffectStartChild {
		t.Fatalf("effects %v, want one start-child", i.effects)
	}
	e := i.effects[0]
	if e.Type != "kid" || e.Child != interp.DefaultChildID("i1", "kid", e.Callback) || e.Child != "i1/kid#1" {
		t.Fatalf("start-child %+v", e)
	}
	done, _ := codec.Marshal("done")
	if err := childCallback(t, i, interp.ChildOutcome{Status: interp.StatusCompleted, Output: done}); err != nil {
		t.Fatal(err)
	}
	i.wantStatus(interp.StatusCompleted)
	if got := i.output(); got == nil {
		t.Fatal("no output")
	}
	var s childParent
	mustDecode(t, i.meta.Output, &s)
	if s.Got != "done" {
		t.Fatalf("parent state %+v", s)
	}
	// A second delivery is a duplicate and changes nothing.
	b, _ := interp.EncodeChildOutcome(interp.ChildOutcome{Status: interp.StatusCompleted, Output: done})
	err := i.apply(interp.Event{Kind: interp.EventCallback, Callback: e.Callback, Payload: b})
	if !errors.Is(err, interp.ErrFinished) && !errors.Is(err, interp.ErrDuplicateCallback) {
		t.Fatalf("duplicate delivery: %v", err)
	}
}

func TestChildFailureHandledByParent(t *testing.T) {
	i := start(t, childDef(true, 0), nil)
	if err := childCallback(t, i, interp.ChildOutcome{Status: interp.StatusFailed, Error: "no stock", Path: "pick"}); err != nil {
		t.Fatal(err)
	}
	i.wantStatus(interp.StatusCompleted)
	var s childParent
	mustDecode(t, i.meta.Output, &s)
	if s.Failed != "failed: no stock" {
		t.Fatalf("parent state %+v", s)
	}
}

func TestChildFailureFailsParent(t *testing.T) {
	i := start(t, childDef(false, 0), nil)
	if err := childCallback(t, i, interp.ChildOutcome{Status: interp.StatusTerminated, Error: "ops"}); err != nil {
		t.Fatal(err)
	}
	i.wantStatus(interp.StatusFailed)
	if f := i.meta.Failure; f == nil || f.Path != "kid" || f.Message != `child "i1/kid#1" (workflow "kid") terminated: ops` {
		t.Fatalf("failure %+v", i.meta.Failure)
	}
	for _, e := range i.effects {
		if e.Kind == interp.EffectEndChild {
			t.Fatalf("the child that ended was ended again: %+v", e)
		}
	}
}

func TestChildOutcomeMalformedIsRejected(t *testing.T) {
	i := start(t, childDef(false, 0), nil)
	p := i.meta.Threads[0].Waits[0]
	err := i.apply(interp.Event{Kind: interp.EventCallback, Callback: p.Callback, Payload: []byte{0xff}})
	if !errors.Is(err, interp.ErrRejected) {
		t.Fatalf("malformed outcome: %v", err)
	}
	if err := childCallback(t, i, interp.ChildOutcome{Status: interp.StatusRunning}); !errors.Is(err, interp.ErrRejected) {
		t.Fatalf("running outcome: %v", err)
	}
}

func TestChildParentEndPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy dsl.ParentEndPolicy
		ev     interp.EventKind
		want   uint8 // 0: no end-child effect
	}{
		{0, interp.EventCancel, uint8(dsl.CancelChild)},
		{dsl.TerminateChild, interp.EventCancel, uint8(dsl.TerminateChild)},
		{dsl.AbandonChild, interp.EventCancel, 0},
		{dsl.CancelChild, interp.EventTerminate, uint8(dsl.CancelChild)},
		{dsl.TerminateChild, interp.EventTerminate, uint8(dsl.TerminateChild)},
		{dsl.AbandonChild, interp.EventTerminate, 0},
	} {
		i := start(t, childDef(false, tc.policy), nil)
		i.mustApply(interp.Event{Kind: tc.ev, Reason: "test"})
		var got []interp.Effect
		for _, e := range i.effects {
			if e.Kind == interp.EffectEndChild {
				got = append(got, e)
			}
		}
		switch {
		case tc.want == 0 && len(got) != 0:
			t.Errorf("%s with %s: end-child %+v, want none", tc.ev, tc.policy, got)
		case tc.want != 0 && (len(got) != 1 || got[0].OnEnd != tc.want || got[0].Child != "i1/kid#1" || got[0].Type != "kid"):
			t.Errorf("%s with %s: end-child %+v, want one with policy %d", tc.ev, tc.policy, got, tc.want)
		}
	}
}

func TestChildCompileChecksInputType(t *testing.T) {
	child := dsl.MustCompile[childIn]("kid", dsl.Return("done"))
	_, err := dsl.Compile[childParent]("parent",
		dsl.Child("kid", child, func(s *childParent) string { return "x" }, func(*childParent, string, error) error { return nil }))
	if !errors.Is(err, dsl.ErrCompile) {
		t.Fatalf("Compile with a wrong input type: %v", err)
	}
}

func mustDecode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := codec.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// A migration that removes the Child statement a thread waits at ends the
// child by the statement's policy, as any end of the wait does.
func TestChildRemovedByMigrationEndsChild(t *testing.T) {
	i := start(t, childDef(false, dsl.TerminateChild), nil)
	i.def = dsl.MustCompile[childParent]("parent", dsl.S(
		dsl.Step("after", func(*childParent) error { return nil }),
		dsl.ReturnWith(func(s *childParent) childParent { return *s }),
	), dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Removed: map[string]string{"kid": "after"}}))
	r, err := interp.Upgrade(i.def, i.state, i.meta)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Effects) != 1 || r.Effects[0].Kind != interp.EffectEndChild || r.Effects[0].Child != "i1/kid#1" ||
		r.Effects[0].OnEnd != uint8(dsl.TerminateChild) {
		t.Fatalf("upgrade effects %+v, want one end-child with policy terminate", r.Effects)
	}
}

// A new run of an ID (Restart) numbers its callbacks after the previous
// run's, and its default child IDs with them: the new run's child does not
// take the ID of the previous run's.
func TestChildIDOfARestartedRun(t *testing.T) {
	def := childDef(false, 0)
	i := start(t, def, nil)
	done, _ := codec.Marshal("done")
	if err := childCallback(t, i, interp.ChildOutcome{Status: interp.StatusCompleted, Output: done}); err != nil {
		t.Fatal(err)
	}
	r, err := interp.Restart(def, nil, i.meta, interp.Event{Kind: interp.EventStart, Time: t0, Instance: "i1"})
	if err != nil {
		t.Fatal(err)
	}
	p := r.Meta.Threads[0].Waits[0]
	if p.Callback != 2 || p.Child != "i1/kid#2" || r.Effects[0].Child != p.Child || r.Effects[0].Callback != 2 {
		t.Fatalf("restarted run: pending %+v, effect %+v", p, r.Effects[0])
	}
}
