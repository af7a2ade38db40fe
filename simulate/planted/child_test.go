package planted_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/simulate"
	"pgregory.net/rapid"
)

// refundTask is the state of a child that approves a refund.
type refundTask struct {
	Order    string
	Approved bool
}

// refundChild waits a day (a timer) and for a decision (a custom event),
// then answers "refund:" and the order's ID, or fails "refund denied".
var refundChild = dsl.MustCompile[refundTask]("refund-approval", dsl.S(
	dsl.Wait("cooling", dsl.On("cooled", dsl.After(24*time.Hour))),
	dsl.Wait("decision", dsl.On("decide", dsl.Signal(func(s *refundTask, ok bool) (bool, error) {
		s.Approved = ok
		return ok, nil
	}))),
	dsl.If("denied", func(s *refundTask) bool { return !s.Approved }, dsl.Fail(errors.New("refund denied"))),
	dsl.ReturnWith(func(s *refundTask) string { return "refund:" + s.Order }),
))

// refundOrder is the parent's state.
type refundOrder struct {
	ID       string
	Refunds  map[string]int // refunds per order, from the child's answers
	Declined int
}

// A parent that mishandles the real answer of its child: its store
// function counts refunds in a map it never made, a panic ("assignment to
// entry in nil map") as soon as the child's answer has the form the
// child really gives, "refund:<order>".
//
// Only a run of the child's own definition reaches the bug. When the
// simulator drew a child's end instead of running it, a completed child
// returned a drawn string: at most six letters from a to z, never a ':',
// so never "refund:...", and the buggy branch never ran (a drawn failure,
// "simulated child failure", took the other branch). Running the child,
// its timer fires and its decision arrives, and whenever the drawn
// decision approves, the parent receives "refund:o-1".
func TestChildRealOutput(t *testing.T) {
	buggy := dsl.MustCompile[refundOrder]("order", dsl.S(
		dsl.Child("refund", refundChild, func(s *refundOrder) refundTask { return refundTask{Order: s.ID} },
			func(s *refundOrder, answer string, err error) error {
				if err != nil {
					s.Declined++
					return nil
				}
				if id, ok := strings.CutPrefix(answer, "refund:"); ok {
					s.Refunds[id]++ // the bug: Refunds is nil
				}
				return nil
			}),
	))
	wantCaught(t, simulate.InvPanic, func(tb *simulate.Recorder) {
		simulate.Check(tb, buggy, simulate.Options[refundOrder]{Input: func(*rapid.T) refundOrder { return refundOrder{ID: "o-1"} }})
	})
	// The report shows the child's real run: its timer, its event, its end.
	r := &simulate.Recorder{TestName: t.Name()}
	simulate.Check(r, buggy, simulate.Options[refundOrder]{Input: func(*rapid.T) refundOrder { return refundOrder{ID: "o-1"} }})
	for _, want := range []string{"time for timer cooled", "deliver decide(true)", "ends: completed with refund:o-1"} {
		if !strings.Contains(r.Report(), want) {
			t.Errorf("the report lacks %q:\n%s", want, r.Report())
		}
	}

	// The fix passes.
	fixed := dsl.MustCompile[refundOrder]("order", dsl.S(
		dsl.Child("refund", refundChild, func(s *refundOrder) refundTask { return refundTask{Order: s.ID} },
			func(s *refundOrder, answer string, err error) error {
				if err != nil {
					s.Declined++
					return nil
				}
				if id, ok := strings.CutPrefix(answer, "refund:"); ok {
					if s.Refunds == nil {
						s.Refunds = map[string]int{}
					}
					s.Refunds[id]++
				}
				return nil
			}),
	))
	simulate.Check(t, fixed, simulate.Options[refundOrder]{Input: func(*rapid.T) refundOrder { return refundOrder{ID: "o-1"} }})
}
