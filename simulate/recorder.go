package simulate

import (
	"fmt"
	"strings"
	"sync"
)

// Recorder is a rapid.TB that records failures instead of failing: pass it
// to [Check] in a test that expects the simulator to find a bug (a planted
// one, or a tutorial's), then assert on [Recorder.Report]. rapid reports a
// failure with Errorf and then calls FailNow; both are recorded, and
// nothing stops the goroutine. Note that rapid saves a fail file under
// testdata/rapid/<Name> when a check fails and replays it first on later
// runs: run expected failures in a temporary directory (t.Chdir) or with
// -rapid.nofailfile.
type Recorder struct {
	// TestName is what Name returns (rapid names fail files after it).
	TestName string

	mu       sync.Mutex
	failed   bool
	msgs     []string
	coverage *Coverage
}

// Coverage returns the coverage report of the last [Check] run with r.
func (r *Recorder) Coverage() *Coverage { r.mu.Lock(); defer r.mu.Unlock(); return r.coverage }

func (r *Recorder) setCoverage(c *Coverage) { r.mu.Lock(); r.coverage = c; r.mu.Unlock() }

// Helper does nothing.
func (r *Recorder) Helper() {}

// Name returns TestName.
func (r *Recorder) Name() string { return r.TestName }

// Logf does nothing: rapid logs its draws through it.
func (r *Recorder) Logf(format string, args ...any) {}

// Log does nothing.
func (r *Recorder) Log(args ...any) {}

// Skipf does nothing.
func (r *Recorder) Skipf(format string, args ...any) {}

// Skip does nothing.
func (r *Recorder) Skip(args ...any) {}

// SkipNow does nothing.
func (r *Recorder) SkipNow() {}

// Errorf records a failure.
func (r *Recorder) Errorf(format string, args ...any) { r.record(fmt.Sprintf(format, args...)) }

// Error records a failure.
func (r *Recorder) Error(args ...any) { r.record(fmt.Sprint(args...)) }

// Fatalf records a failure; it does not stop the goroutine.
func (r *Recorder) Fatalf(format string, args ...any) { r.record(fmt.Sprintf(format, args...)) }

// Fatal records a failure; it does not stop the goroutine.
func (r *Recorder) Fatal(args ...any) { r.record(fmt.Sprint(args...)) }

// FailNow marks a failure.
func (r *Recorder) FailNow() { r.mu.Lock(); r.failed = true; r.mu.Unlock() }

// Fail marks a failure.
func (r *Recorder) Fail() { r.FailNow() }

// Failed reports whether a failure was recorded.
func (r *Recorder) Failed() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.failed }

// Report returns the recorded failure messages, joined by newlines: the
// simulator's report, whose first line names the broken invariant.
func (r *Recorder) Report() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.msgs, "\n")
}

func (r *Recorder) record(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, msg)
}
