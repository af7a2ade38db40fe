package simulate_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage/memory"
	"pgregory.net/rapid"
)

// Shipment is a child workflow's state.
type Shipment struct {
	Parcel string
	Sent   bool
}

var shipWF = dsl.MustCompile[Shipment]("ship", dsl.S(
	dsl.Wait("courier", dsl.On("picked", dsl.Signal(func(s *Shipment, ok bool) (bool, error) { s.Sent = ok; return ok, nil }))),
	dsl.If("lost", func(s *Shipment) bool { return !s.Sent }, dsl.Fail(errors.New("parcel lost"))),
	dsl.ReturnWith(func(s *Shipment) string { return "tracking-" + s.Parcel }),
))

// Dispatch is the parent's state: two children in two threads, one of
// them in a loop (a second pass starts a second child), and a handled
// failure.
type Dispatch struct {
	Parcels  []string
	Tracking []string
	Problems int
	Round    int
}

func dispatchWF(policy dsl.ParentEndPolicy) *dsl.Definition {
	store := func(s *Dispatch, out string, err error) error {
		var ce *dsl.ChildError
		if errors.As(err, &ce) {
			s.Problems++
			return nil
		}
		s.Tracking = append(s.Tracking, out)
		return err
	}
	return dsl.MustCompile[Dispatch]("dispatch", dsl.S(
		dsl.Go("express", dsl.Child("rush", shipWF, func(s *Dispatch) Shipment { return Shipment{Parcel: "rush"} }, store).
			OnParentEnd(policy)),
		dsl.While("rounds", func(s *Dispatch) bool { return s.Round < 2 },
			dsl.Child("ship", shipWF, func(s *Dispatch) Shipment { return Shipment{Parcel: fmt.Sprint("p", s.Round)} }, store).
				ID(func(s *Dispatch) string { return fmt.Sprint("dispatch-ship-", s.Round) }).OnParentEnd(policy),
			dsl.Step("next", func(s *Dispatch) error { s.Round++; return nil }),
		),
		dsl.Join("all", "express"),
		dsl.ReturnWith(func(s *Dispatch) Dispatch { return *s }),
	))
}

// The simulator runs a parent with children under every policy, crashes
// on: child ends delivered in any order, duplicated, lost to a crash
// before the commit and delivered again, and the parent canceled or
// terminated while children run. InvChild holds in every run.
func TestCheckChildren(t *testing.T) {
	for _, policy := range []dsl.ParentEndPolicy{dsl.CancelChild, dsl.TerminateChild, dsl.AbandonChild} {
		t.Run(policy.String(), func(t *testing.T) {
			cov := simulate.Check(t, dispatchWF(policy), simulate.Options[Dispatch]{
				Invariant: func(s *Dispatch) error {
					if n := len(s.Tracking) + s.Problems; n > 3 {
						return fmt.Errorf("%d child ends for 3 children", n)
					}
					return nil
				},
			})
			if cov == nil {
				t.Fatal("no coverage")
			}
			ends := 0
			for _, v := range cov.Events {
				if strings.HasPrefix(v.Name, "child at") && v.Count > 0 {
					ends++
				} else if v.Count == 0 {
					t.Logf("not reached: %s", v.Name)
				}
			}
			if ends < 6 { // of 2 statements times 4 ends
				t.Errorf("child ends reached at %d of 8 (statement, status) pairs: %s", ends, cov)
			}
		})
	}
}

// A parent that mishandles a child's end is caught: this one counts each
// end twice, which the user invariant sees only because the simulator
// delivers child ends.
func TestCheckChildrenFindsABug(t *testing.T) {
	buggy := dsl.MustCompile[Dispatch]("dispatch-buggy", dsl.S(
		dsl.Child("ship", shipWF, func(s *Dispatch) Shipment { return Shipment{Parcel: "x"} },
			func(s *Dispatch, out string, err error) error {
				if err != nil {
					s.Problems += 2 // the bug
				}
				return nil
			}),
	))
	report := expectFailure(t, func(tb rapid.TB) {
		simulate.Check(tb, buggy, simulate.Options[Dispatch]{
			Invariant: func(s *Dispatch) error {
				if s.Problems > 1 {
					return errors.New("one child, two problems")
				}
				return nil
			},
		})
	})
	// Any end but a completion reaches the buggy branch: failed, canceled
	// or terminated, whichever the run drew.
	ended := strings.Contains(report, "ends: failed") || strings.Contains(report, "ends: canceled") || strings.Contains(report, "ends: terminated")
	if !strings.Contains(report, "one child, two problems") || !ended {
		t.Fatalf("report:\n%s", report)
	}
}

// Verify drives a stored parent that waits for a child, and checks the
// stored child as an ordinary instance of its workflow.
func TestVerifyParentAndChild(t *testing.T) {
	ctx := t.Context()
	st := memory.New()
	e, err := engine.New(st)
	if err != nil {
		t.Fatal(err)
	}
	def := dispatchWF(dsl.CancelChild)
	if err := e.Register(shipWF, def); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, def, "d1", Dispatch{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*dsl.Definition{def, shipWF} {
		sum, err := simulate.Verify(ctx, st, d, simulate.VerifyOptions{Schedules: 3, Seed: 7}, func(r simulate.InstanceReport) error {
			if !r.OK {
				t.Errorf("%s %s: %s %s", r.Workflow, r.ID, r.Cause, r.Detail)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if d == shipWF {
			want = 2 // the express child and the first round's
		}
		if sum.Instances != want || sum.OK != want {
			t.Errorf("%s: %+v, want %d instances ok", d.Name(), sum, want)
		}
	}
	inst, err := e.Get(ctx, "dispatch-ship-0")
	if err != nil || inst.Meta.Status != interp.StatusRunning {
		t.Fatalf("child: %v, %v", inst, err)
	}
}

// A child that ends in its first transition (no wait) is run by the
// simulator from its input: the parent receives the child's own output,
// not a drawn one (the invariant would catch a drawn string), wherever the
// end is delivered and however often.
func TestCheckChildThatEndsAtStart(t *testing.T) {
	stamp := dsl.MustCompile[Shipment]("stamp", dsl.ReturnWith(func(s *Shipment) string { return "stamped-" + s.Parcel }))
	def := dsl.MustCompile[Dispatch]("stamping", dsl.S(
		dsl.Child("stamp", stamp, func(s *Dispatch) Shipment { return Shipment{Parcel: "x"} },
			func(s *Dispatch, out string, err error) error { s.Tracking = append(s.Tracking, out); return err }),
		dsl.ReturnWith(func(s *Dispatch) Dispatch { return *s }),
	))
	simulate.Check(t, def, simulate.Options[Dispatch]{
		Invariant: func(s *Dispatch) error {
			if len(s.Tracking) > 1 || len(s.Tracking) == 1 && s.Tracking[0] != "stamped-x" {
				return fmt.Errorf("tracking %q, want the child's own output once", s.Tracking)
			}
			return nil
		},
	})
}

// RefundRequest is the state of a child that waits before it answers.
type RefundRequest struct {
	Order    string
	Cents    int // what the order was charged
	Approved int // what the approver granted
}

// Approval is the payload of the refund child's "approve" event.
type Approval struct{ Cents int }

// refundWF waits an hour (a timer), then for an approval (a custom event
// with a payload), and returns a value computed from the payload, or
// fails when the approval is more than the charge.
var refundWF = dsl.MustCompile[RefundRequest]("refund", dsl.S(
	dsl.Wait("cooling", dsl.On("cooled", dsl.After(time.Hour))),
	dsl.Wait("approval", dsl.On("approve", dsl.Signal(func(s *RefundRequest, a Approval) (int, error) {
		s.Approved = a.Cents
		return a.Cents, nil
	}))),
	dsl.If("too much", func(s *RefundRequest) bool { return s.Approved > s.Cents }, dsl.Fail(errors.New("refund above the charge"))),
	dsl.ReturnWith(func(s *RefundRequest) string { return fmt.Sprintf("refund:%s:%d", s.Order, s.Approved) }),
))

// Purchase is the state of the refund child's parent.
type Purchase struct {
	ID      string
	Cents   int
	Refund  string // the child's output
	Problem string // the child's failure, cancellation or termination
}

var purchaseWF = dsl.MustCompile[Purchase]("purchase", dsl.S(
	dsl.Child("refund", refundWF, func(s *Purchase) RefundRequest { return RefundRequest{Order: s.ID, Cents: s.Cents} },
		func(s *Purchase, out string, err error) error {
			var ce *dsl.ChildError
			if errors.As(err, &ce) {
				s.Problem = ce.Status + ": " + ce.Message
				return nil
			}
			s.Refund = out
			return err
		}),
	dsl.ReturnWith(func(s *Purchase) Purchase { return *s }),
))

// realRefund reports whether the parent's state holds only what the
// refund child can really produce for order p1 charged 5 cents (approvals
// are drawn from -3 to 10): an output "refund:p1:N" with N at most 5, the
// child's own failure, or a cancellation or termination from outside.
func realRefund(s *Purchase) error {
	if s.Refund != "" {
		var n int
		if _, err := fmt.Sscanf(s.Refund, "refund:p1:%d", &n); err != nil || n > 5 || s.Refund != fmt.Sprintf("refund:p1:%d", n) {
			return fmt.Errorf("the parent stored %q, which the child cannot return", s.Refund)
		}
	}
	switch s.Problem {
	case "", "failed: refund above the charge", "canceled: ", "terminated: simulated termination":
		return nil
	}
	return fmt.Errorf("the parent stored the child's end %q, which the child cannot have", s.Problem)
}

// The simulator runs the child's own definition with the parent: the
// child's timer fires, its event arrives with a drawn payload, and the
// parent receives the child's real output or failure, never a drawn one
// (the invariant would catch "completed with a random string" or
// "simulated child failure", the ends the simulator drew before it ran
// children). Both the completion and the child's own failure are reached.
func TestCheckRunsTheChild(t *testing.T) {
	cov := simulate.Check(t, purchaseWF, simulate.Options[Purchase]{
		Input:     func(*rapid.T) Purchase { return Purchase{ID: "p1", Cents: 5} },
		Invariant: realRefund,
	})
	if cov == nil {
		t.Fatal("no coverage")
	}
	for _, want := range []string{`child at "refund" completed`, `child at "refund" failed`} {
		found := false
		for _, v := range cov.Events {
			found = found || v.Name == want && v.Count > 0
		}
		if !found {
			t.Errorf("never reached: %s\n%s", want, cov)
		}
	}
}

// The trace shows the child's own events, interleaved with the parent's,
// and the real end delivered.
func TestCheckChildTrace(t *testing.T) {
	report := expectFailure(t, func(tb rapid.TB) {
		simulate.Check(tb, purchaseWF, simulate.Options[Purchase]{
			Input: func(*rapid.T) Purchase { return Purchase{ID: "p1", Cents: 5} },
			Invariant: func(s *Purchase) error {
				if s.Refund != "" {
					return errors.New("refunded")
				}
				return nil
			},
		})
	})
	mustContain(t, report, `child "sim/refund#1" (workflow refund)`, `deliver approve(`, `time for timer cooled`, `ends: completed with refund:p1:`)
}

// Job is the state of a child with a cleanup section.
type Job struct{ Released bool }

// A child canceled from outside runs its cleanup section, which waits for
// an event: the simulator delivers it in the child's run, and the end
// the parent receives is the child's real one, after its cleanup.
func TestCheckChildCleanupRuns(t *testing.T) {
	job := dsl.MustCompile[Job]("job",
		dsl.Wait("work", dsl.On("done", dsl.Signal(func(s *Job, _ bool) (bool, error) { return true, nil }))),
		dsl.OnCancel(dsl.Wait("release", dsl.On("released", dsl.Signal(func(s *Job, _ bool) (bool, error) { s.Released = true; return true, nil })))),
	)
	def := dsl.MustCompile[Purchase]("jobs", dsl.S(
		dsl.Child("job", job, func(s *Purchase) Job { return Job{} }, func(s *Purchase, _ bool, err error) error {
			var ce *dsl.ChildError
			if errors.As(err, &ce) {
				s.Problem = ce.Status
			}
			return nil
		}),
	))
	report := expectFailure(t, func(tb rapid.TB) {
		simulate.Check(tb, def, simulate.Options[Purchase]{
			Invariant: func(s *Purchase) error {
				if s.Problem == "canceled" {
					return errors.New("canceled")
				}
				return nil
			},
		})
	})
	// The shrunk trace: the child is canceled, its cleanup takes its
	// event, and then its end reaches the parent.
	c, r, e := strings.Index(report, `someone cancels child "sim/job#1"`), strings.Index(report, "deliver released("), strings.Index(report, "ends: canceled")
	if c < 0 || r < c || e < r {
		t.Fatalf("want cancel, cleanup event, end in this order; report:\n%s", report)
	}
}

// Level is the state of each level of a chain of children.
type Level struct{ Got string }

// level is a workflow that waits a minute, then starts next (if any) and
// returns name(its output), or failed(status) for a child that did not
// complete.
func level(name string, next *dsl.Definition) *dsl.Definition {
	body := []dsl.Stmt{dsl.Wait("pause", dsl.On("minute", dsl.After(time.Minute)))}
	if next != nil {
		body = append(body, dsl.Child("next", next, func(s *Level) Level { return Level{} }, func(s *Level, out string, err error) error {
			var ce *dsl.ChildError
			if errors.As(err, &ce) {
				out = ce.Status
			}
			s.Got = out
			return nil
		}))
	}
	body = append(body, dsl.ReturnWith(func(s *Level) string { return name + "(" + s.Got + ")" }))
	return dsl.MustCompile[Level](name, dsl.S(body...))
}

// Children of children run too, three levels deep: the parent stores
// what the chain really returns, built by the three levels below it; the
// fourth level is past the bound, and its end is drawn.
func TestCheckGrandchildren(t *testing.T) {
	chain := level("l1", level("l2", level("l3", level("l4", nil))))
	def := dsl.MustCompile[Purchase]("chain", dsl.S(
		dsl.Child("top", chain, func(s *Purchase) Level { return Level{} }, func(s *Purchase, out string, err error) error {
			s.Refund = out
			return nil
		}),
	))
	chainOnly := func(s *Purchase) error {
		if s.Refund != "" && !strings.HasPrefix(s.Refund, "l1(") {
			return fmt.Errorf("the parent stored %q, which the chain cannot return", s.Refund)
		}
		if strings.HasPrefix(s.Refund, "l1(l2(") && !strings.HasPrefix(s.Refund, "l1(l2(l3(") && !strings.HasPrefix(s.Refund, "l1(l2(canceled") && !strings.HasPrefix(s.Refund, "l1(l2(terminated") {
			return fmt.Errorf("the parent stored %q: level 3 did not run", s.Refund)
		}
		return nil
	}
	simulate.Check(t, def, simulate.Options[Purchase]{Invariant: chainOnly})
	// A failing invariant shows the whole chain in the trace.
	report := expectFailure(t, func(tb rapid.TB) {
		simulate.Check(tb, def, simulate.Options[Purchase]{Invariant: func(s *Purchase) error {
			if strings.HasPrefix(s.Refund, "l1(l2(l3(") {
				return errors.New("the chain ended")
			}
			return nil
		}})
	})
	mustContain(t, report, "(drawn: children deeper than 3 levels are not run)", `ends: completed with l1(l2(l3(`)
}

// crashWatch is a host that counts the deliveries of a child's real
// output ("refund:p1:...") on which the host crashed.
type crashWatch struct {
	simulate.Host
	crashed *atomic.Int64
}

func (h crashWatch) Apply(ctx context.Context, id string, ev interp.Event) (interp.Result, error) {
	res, err := h.Host.Apply(ctx, id, ev)
	var o interp.ChildOutcome
	var out string
	if ev.Kind == interp.EventCallback && errors.Is(err, simulate.ErrCrash) && codec.Unmarshal(ev.Payload, &o) == nil &&
		o.Status == interp.StatusCompleted && codec.Unmarshal(o.Output, &out) == nil && strings.HasPrefix(out, "refund:p1:") {
		h.crashed.Add(1)
	}
	return res, err
}

// The crash between the child's finish and the parent's wake-up is still
// exercised, with the child's real end: some runs crash the host as it
// delivers the child's own output, before or after its commit, and every
// invariant (InvChild: the end reaches the parent once) holds.
func TestCheckRealChildEndCrashes(t *testing.T) {
	var crashed atomic.Int64
	simulate.Check(t, purchaseWF, simulate.Options[Purchase]{
		Input:     func(*rapid.T) Purchase { return Purchase{ID: "p1", Cents: 5} },
		Invariant: realRefund,
		Host:      func(h simulate.Host) simulate.Host { return crashWatch{h, &crashed} },
	})
	if crashed.Load() == 0 {
		t.Fatal("no run crashed a host as it delivered the child's real end")
	}
	t.Logf("%d deliveries of the child's real end crashed", crashed.Load())
}

// Verify runs the stored child a stored parent waits for, from the
// child's own record: the parent meets the child's real end. This parent
// mishandles the real output (a panic on "refund:p1:..."), which no drawn
// end would produce (drawn strings have no ':'), and Verify reports it.
func TestVerifyRunsTheStoredChild(t *testing.T) {
	ctx := t.Context()
	st := memory.New()
	e, err := engine.New(st)
	if err != nil {
		t.Fatal(err)
	}
	buggy := dsl.MustCompile[Purchase]("purchase", dsl.S(
		dsl.Child("refund", refundWF, func(s *Purchase) RefundRequest { return RefundRequest{Order: s.ID, Cents: s.Cents} },
			func(s *Purchase, out string, err error) error {
				if strings.HasPrefix(out, "refund:p1:") {
					panic("the real refund")
				}
				return nil
			}),
	))
	if err := e.Register(refundWF, buggy); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, buggy, "p1", Purchase{ID: "p1", Cents: 5}); err != nil {
		t.Fatal(err)
	}
	if err := e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	var reps []simulate.InstanceReport
	if _, err := simulate.Verify(ctx, st, buggy, simulate.VerifyOptions{Schedules: 8, Seed: 1}, func(r simulate.InstanceReport) error {
		reps = append(reps, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || reps[0].OK || !strings.Contains(reps[0].Detail, "the real refund") || !strings.Contains(reps[0].Detail, `stored child "p1/refund#1" (workflow refund)`) {
		t.Fatalf("want the stored child run and the parent's panic reported: %+v", reps)
	}
	// The fixed parent verifies.
	sum, err := simulate.Verify(ctx, st, purchaseWF, simulate.VerifyOptions{Schedules: 8, Seed: 1}, nil)
	if err != nil || sum.OK != 1 {
		t.Fatalf("%+v, %v", sum, err)
	}
}
