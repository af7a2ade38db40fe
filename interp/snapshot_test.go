package interp_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/dsl"
)

type bag struct {
	Items []string
	Count map[string]int
	Best  *string
}

// A step that fails after changing the state in place (a slice element,
// a map entry, a pointee) is rolled back to the state before it, also
// when it follows another step in the same transition, where the
// snapshot is a deep copy of the state (internal/statecopy) rather than
// the transition's input bytes.
func TestFailedStepRollsBackInPlaceChanges(t *testing.T) {
	def := dsl.MustCompile[bag]("bag", dsl.S(
		dsl.Step("fill", func(s *bag) error {
			b := "a"
			s.Items, s.Count, s.Best = []string{"a"}, map[string]int{"a": 1}, &b
			return nil
		}),
		dsl.Step("flaky", func(s *bag) error {
			s.Items[0] += "!"
			s.Count["a"]++
			*s.Best += "!"
			return errors.New("not yet")
		}).Retry(dsl.RetryPolicy{MaxAttempts: 3, Initial: time.Second}),
	))
	i := start(t, def, bag{})
	i.wantPositions("main@flaky:retry")
	a := "a"
	want := bag{Items: []string{"a"}, Count: map[string]int{"a": 1}, Best: &a}
	if d := cmp.Diff(want, decodeState[bag](i)); d != "" {
		t.Fatalf("the failed attempt's changes leaked (-want +got):\n%s", d)
	}
}

type tally struct {
	Count int
	Last  string
}

// With a flat state the snapshots reuse one value (statecopy.Of): a step
// failing after several successful ones in the same transition rolls
// back to the state just before it, not to an older snapshot.
func TestFailedStepRollsBackFlatStateAfterReusedSnapshots(t *testing.T) {
	var body []dsl.Stmt
	for _, name := range []string{"a", "b", "c", "d"} {
		body = append(body, dsl.Step(name, func(s *tally) error {
			s.Count++
			s.Last = name
			return nil
		}))
	}
	body = append(body, dsl.Step("flaky", func(s *tally) error {
		s.Count, s.Last = -1, "flaky"
		return errors.New("not yet")
	}).Retry(dsl.RetryPolicy{MaxAttempts: 3, Initial: time.Second}))
	def := dsl.MustCompile[tally]("tally", dsl.S(body...))
	i := start(t, def, tally{})
	i.wantPositions("main@flaky:retry")
	if d := cmp.Diff(tally{Count: 4, Last: "d"}, decodeState[tally](i)); d != "" {
		t.Fatalf("the failed attempt rolled back to the wrong state (-want +got):\n%s", d)
	}
}
