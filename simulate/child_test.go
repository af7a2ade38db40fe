package simulate_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

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
