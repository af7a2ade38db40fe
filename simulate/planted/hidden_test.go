package planted_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
)

// wantHiddenInput runs check and asserts the simulator named a hidden
// input, first in its report, which holds each of want and, with diff, a
// diff of what differs.
func wantHiddenInput(t *testing.T, check func(tb *simulate.Recorder), diff bool, want ...string) string {
	t.Helper()
	var msg string
	wantCaught(t, simulate.InvDeterminism, func(tb *simulate.Recorder) {
		check(tb)
		msg = tb.Report()
	})
	if !strings.HasPrefix(msg, "weft simulation of ") {
		t.Errorf("the report does not start with weft's report:\n%s", msg)
	}
	for _, w := range append([]string{"hidden input"}, want...) {
		if !strings.Contains(msg, w) {
			t.Errorf("the report lacks %q:\n%s", w, msg)
		}
	}
	if diff && !diffShown(msg) {
		t.Errorf("the report shows no difference (no -/+ lines):\n%s", msg)
	}
	for _, bad := range []string{simulate.InvCrash, simulate.InvInventedEvent} {
		if strings.Contains(msg, "invariant broken: "+bad) {
			t.Errorf("a hidden input was reported as %q:\n%s", bad, msg)
		}
	}
	return msg
}

// replies counts calls of a handler that numbers its replies from a
// package variable instead of the state: the state never changes, only the
// reply does.
var replies int

func TestHiddenInputOnlyInTheReply(t *testing.T) {
	def := dsl.MustCompile[stamp]("ticket", dsl.For("loop",
		dsl.Wait("desk", dsl.On("take", dsl.Signal(func(s *stamp, _ bool) (int, error) {
			replies++ // the bug: the ticket number lives outside the state
			return replies, nil
		})), dsl.On("close", dsl.After(time.Hour), dsl.Break())),
	))
	wantHiddenInput(t, func(tb *simulate.Recorder) {
		simulate.Check(tb, def, simulate.Options[stamp]{})
	}, true, "effects:", " reply ")
}

// setups counts calls of a custom event's setup that numbers the outside
// task from a package variable: only the setup effect's data differs.
var setups int

type numbered struct{}

func (numbered) Handle(s *request, a string) (string, error) { s.Answer = a; return "ok", nil }
func (numbered) Setup(s *request) any                        { setups++; return setups } // the bug

func TestHiddenInputOnlyInTheEffects(t *testing.T) {
	def := dsl.MustCompile[request]("numbered", dsl.For("loop",
		dsl.Wait("question",
			dsl.On("answer", dsl.Custom[request, string, string]("ask", numbered{})),
			dsl.On("expire", dsl.After(time.Hour), dsl.Break()),
		),
	))
	wantHiddenInput(t, func(tb *simulate.Recorder) {
		simulate.Check(tb, def, simulate.Options[request]{})
	}, true, "effects:", " setup ", "data=")
}

// clockTicks stands for a wall clock read by a handler, whose reading the
// host sees differently from the model: a delivery is handled by the host
// and then by the model, and the host's first call is the only one to see
// tick 1. The store holds what the host computed. Before hidden inputs had
// their own report, a difference the model's two applications agreed on
// was reported as "crash equivalence", which points at the store.
var clockTicks int

func TestHiddenInputSeenOnlyByTheHost(t *testing.T) {
	def := dsl.MustCompile[stamp]("shifts", dsl.For("loop",
		dsl.Wait("clock in", dsl.On("in", dsl.Signal(func(s *stamp, _ bool) (bool, error) {
			clockTicks++
			if clockTicks%3 == 1 { // the bug: a reading outside the inputs
				s.At++
			}
			s.Count++
			return true, nil
		})), dsl.On("close", dsl.After(time.Hour), dsl.Break())),
	))
	wantHiddenInput(t, func(tb *simulate.Recorder) {
		clockTicks = 0
		simulate.Check(tb, def, simulate.Options[stamp]{NoCrashes: true})
	}, true, "state:", "At:")
}

// gate rejects a delivery unless a package variable says otherwise: the
// host accepts (its call is the first), the model, applying the same event
// to the same state, rejects. This was reported as "no invented events".
var gate int

func TestHiddenInputRejectsOnTheModel(t *testing.T) {
	def := dsl.MustCompile[stamp]("gate", dsl.For("loop",
		dsl.Wait("door", dsl.On("open", dsl.Signal(func(s *stamp, _ bool) (bool, error) {
			gate++
			if gate%3 != 1 { // the bug
				return false, errors.New("closed")
			}
			s.Count++
			return true, nil
		})), dsl.On("close", dsl.After(time.Hour), dsl.Break())),
	))
	wantHiddenInput(t, func(tb *simulate.Recorder) {
		gate = 0
		simulate.Check(tb, def, simulate.Options[stamp]{NoCrashes: true})
	}, false, "is rejected")
}

// A failure that depends on how many runs came before it: rapid cannot
// make it happen again from the same draws and calls the test flaky. The
// report still leads with weft's report and says what that means.
var runsSoFar int

func TestFlakyFailureReportsWeftFirst(t *testing.T) {
	def := dsl.MustCompile[stamp]("flaky", dsl.S(
		dsl.Wait("go", dsl.On("go", dsl.Signal(func(s *stamp, _ bool) (bool, error) { s.Count++; return true, nil }))),
	))
	var msg string
	wantCaught(t, simulate.InvUser, func(tb *simulate.Recorder) {
		runsSoFar = 0
		simulate.Check(tb, def, simulate.Options[stamp]{
			Store: func(s storage.Store) storage.Store { runsSoFar++; return s },
			Invariant: func(s *stamp) error {
				if runsSoFar == 7 { // the bug: only the 7th host ever fails
					return errors.New("seventh host")
				}
				return nil
			},
		})
		msg = tb.Report()
	})
	if !strings.HasPrefix(msg, "weft simulation of ") {
		t.Errorf("the report does not start with weft's report:\n%s", msg)
	}
	weft, rapidPart, ok := strings.Cut(msg, "[rapid] flaky test")
	if !ok || !strings.Contains(weft, "did not happen again") || strings.Contains(rapidPart, "weft simulation of") {
		t.Errorf("want weft's report, the explanation, then rapid's flaky-test message without the report repeated; got:\n%s", msg)
	}
}

// diffShown reports whether msg holds a diff with a removed and an added
// line.
func diffShown(msg string) bool {
	var minus, plus bool
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		// go-cmp separates the marker by a space or a no-break space.
		minus = minus || strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "-\u00a0")
		plus = plus || strings.HasPrefix(l, "+ ") || strings.HasPrefix(l, "+\u00a0")
	}
	return minus && plus
}

// receipts counts calls of an activity result's handler that keeps only
// some results, by a package variable: the engine commits the result in a
// dispatch, and the model folds it with two applications of its own (the
// first is the check that the result decodes), which must not agree with
// the host's commit by sharing an answer.
var receipts int

func TestHiddenInputInAnActivityResult(t *testing.T) {
	def := dsl.MustCompile[stamp]("receipts", dsl.S(
		dsl.Call("charge", func(_ context.Context, s stamp) (int64, error) { return 7, nil }, func(s *stamp, r int64) {
			receipts++
			if receipts%2 == 1 { // the bug
				s.At = r
			}
			s.Count++
		}),
		dsl.Wait("done", dsl.On("close", dsl.After(time.Hour))),
	))
	wantHiddenInput(t, func(tb *simulate.Recorder) {
		receipts = 0
		simulate.Check(tb, def, simulate.Options[stamp]{NoCrashes: true})
	}, true, "state:", "At:")
}
