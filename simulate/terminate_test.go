package simulate_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/simulate"
)

type approvalReq struct {
	N      int
	Answer string
}

type askManager struct{}

func (askManager) Handle(s *approvalReq, a string) (string, error) { s.Answer = a; return "ok", nil }
func (askManager) Setup(s *approvalReq) any                        { return s.N }

// A workflow with a setup, a timer and an activity pending at once: the
// simulator's terminate action ends it wherever it is (checked by the
// terminate invariant: no workflow code runs, every open wait is torn
// down, each setup's teardown is performed once, after the setup and
// before the end), and the runs reach the end "terminated".
func TestCheckTerminate(t *testing.T) {
	def := dsl.MustCompile[approvalReq]("terminate-sim", dsl.S(
		dsl.Go("audit", dsl.Call("log", func(ctx context.Context, s approvalReq) (int, error) { return s.N, nil },
			func(s *approvalReq, n int) { s.N = n + 1 })),
		dsl.For("rounds",
			dsl.Wait("ask",
				dsl.On("answer", dsl.Custom[approvalReq, string, string]("ask-manager", askManager{}), dsl.Break()),
				dsl.On("remind", dsl.After(time.Hour)),
			)),
		dsl.Join("done", "audit"),
	), dsl.OnCancel(dsl.Step("cleanup", func(s *approvalReq) error { s.Answer = "canceled"; return nil })))
	// The terminate action is one kind among many in each run's swarm,
	// so about one Check in fifty of 100 runs ends none by it: three
	// Checks must (a miss in all three is a broken action, not chance).
	var cov *simulate.Coverage
	for range 3 {
		cov = simulate.Check(t, def, simulate.Options[approvalReq]{})
		if cov == nil {
			t.Fatal("no coverage")
		}
		listed := false
		for _, v := range cov.Events {
			if v.Name == "end terminated" {
				listed = true
				if v.Count > 0 {
					return
				}
			}
		}
		if !listed {
			t.Fatalf("the coverage does not list the end terminated: %s", cov)
		}
	}
	t.Errorf("no run of three Checks was terminated: %s", cov)
}
