package schedule

import (
	"errors"
	"testing"
	"time"

	"github.com/weftflow/weft/simulate"
	"pgregory.net/rapid"
)

// The schedule's workflow under the simulator: launcher answers, timers,
// control events, crashes, duplicates, cancel and terminate in any order.
// Its state stays consistent: pending fires are cleared by each answer,
// Recent is bounded, counters only grow.
func TestWorkflowUnderSimulation(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	at := func(t *rapid.T, label string) time.Time {
		return t0.Add(time.Duration(rapid.IntRange(0, 72).Draw(t, label)) * time.Hour)
	}
	simulate.Check(t, Workflow, simulate.Options[State]{
		Input: func(t *rapid.T) State {
			return State{Spec: stored{Name: "sim", Every: time.Hour, Workflow: "job"}, Paused: rapid.Bool().Draw(t, "paused")}
		},
		Payloads: map[string]func(t *rapid.T) any{
			"launched": func(t *rapid.T) any {
				l := Launched{Next: at(t, "next"), LastRun: rapid.SampledFrom([]string{"", "sim@a", "sim@b"}).Draw(t, "last run")}
				for range rapid.IntRange(0, 12).Draw(t, "started") {
					l.Started = append(l.Started, "sim@x")
				}
				if rapid.Bool().Draw(t, "buffered") {
					l.Buffered, l.Recheck = &Fire{At: at(t, "buffered")}, at(t, "recheck")
				}
				return l
			},
			"trigger": func(t *rapid.T) any { return triggerEvent{At: at(t, "trigger")} },
			"update": func(t *rapid.T) any {
				return updateEvent{Spec: stored{Name: "sim", Every: 30 * time.Minute, Workflow: "job"}}
			},
		},
		Resting: []string{"fires/armed/then/armed", "fires/armed/else/idle"},
		Invariant: func(s *State) error {
			switch {
			case len(s.Recent) > keepRecent:
				return errors.New("Recent grew past keepRecent")
			case s.Started < 0 || s.Skipped < 0 || s.Missed < 0:
				return errors.New("a negative count")
			case s.Spec.Name != "sim":
				return errors.New("the spec was lost")
			}
			return nil
		},
	})
}
