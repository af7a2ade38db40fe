package simulate_test

import (
	"testing"
	"time"

	"github.com/weftflow/weft/simulate"
)

// deadlineRecorder is a Recorder with a test deadline, as a *testing.T
// run with -timeout has.
type deadlineRecorder struct {
	*simulate.Recorder
	deadline time.Time
}

func (d deadlineRecorder) Deadline() (time.Time, bool) { return d.deadline, true }

// Check stops drawing runs when the test's deadline comes close, instead
// of being killed by it: 100 runs of a slow invariant would take seconds.
func TestCheckStopsBeforeTheDeadline(t *testing.T) {
	rec := deadlineRecorder{&simulate.Recorder{TestName: t.Name()}, time.Now().Add(300 * time.Millisecond)}
	cov := simulate.Check(rec, ticket, simulate.Options[Ticket]{
		Invariant: func(*Ticket) error { time.Sleep(5 * time.Millisecond); return nil },
	})
	if rec.Failed() {
		t.Fatalf("the check failed:\n%s", rec.Report())
	}
	if cov.Runs == 0 || cov.Runs >= 100 {
		t.Fatalf("ran %d runs; want some, and fewer than 100 before the deadline", cov.Runs)
	}
}
