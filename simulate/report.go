package simulate

import (
	"fmt"
	"strings"
	"sync"

	"pgregory.net/rapid"
)

// reportTB is the test rapid reports to. rapid wraps a failing property's
// message in its own ("[rapid] failed after 3 tests: ..."), and when the
// failure does not happen again on the same draws it leads with "[rapid]
// flaky test" and two stack traces. reportTB puts weft's report first and
// rapid's lines after it, and says in plain words what a failure that does
// not repeat means.
type reportTB struct {
	rapid.TB
	mu    sync.Mutex
	first string   // the report of the first failing run, before shrinking
	seen  []string // reports of failing runs, newest last, bounded
}

// maxReports bounds the reports kept while rapid shrinks a failure.
const maxReports = 64

// failed records the report of a failing run.
func (r *reportTB) failed(report string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first == "" {
		r.first = report
	}
	if len(r.seen) > 0 && r.seen[len(r.seen)-1] == report {
		return
	}
	if len(r.seen) == maxReports {
		r.seen = append(r.seen[:0], r.seen[maxReports/2:]...)
	}
	r.seen = append(r.seen, report)
}

// Helper does nothing: rapid calls it before every action, and
// testing's Helper walks the stack each time. Failures are reported from
// rapid's code either way.
func (r *reportTB) Helper() {}

// Errorf reports a failure, weft's report first.
func (r *reportTB) Errorf(format string, args ...any) {
	r.TB.Helper()
	r.TB.Errorf("%s", r.arrange(fmt.Sprintf(format, args...)))
}

// Error reports a failure, weft's report first.
func (r *reportTB) Error(args ...any) {
	r.TB.Helper()
	r.TB.Error(r.arrange(fmt.Sprint(args...)))
}

// Fatalf reports a failure, weft's report first, and stops the test.
func (r *reportTB) Fatalf(format string, args ...any) {
	r.TB.Helper()
	r.TB.Fatalf("%s", r.arrange(fmt.Sprintf(format, args...)))
}

// Fatal reports a failure, weft's report first, and stops the test.
func (r *reportTB) Fatal(args ...any) {
	r.TB.Helper()
	r.TB.Fatal(r.arrange(fmt.Sprint(args...)))
}

// flakyNote explains rapid's "flaky test".
const flakyNote = "This failure did not happen again when rapid re-ran the same draws: something outside the recorded inputs " +
	"changed the outcome between runs. In a workflow that is a hidden input (the wall clock, randomness, map iteration order, " +
	"a package-level variable in a step, condition, handler or setup); in a Store or Host option, state kept across runs."

// arrange moves weft's report to the front of one of rapid's messages.
func (r *reportTB) arrange(msg string) string {
	if !strings.HasPrefix(msg, "[rapid] ") {
		return msg
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	flaky := strings.HasPrefix(msg, "[rapid] flaky test")
	main := ""
	if flaky {
		main = r.first
	}
	rest := msg
	for i := len(r.seen) - 1; i >= 0; i-- {
		if rep := r.seen[i]; strings.Contains(rest, rep) {
			if main == "" {
				main = rep
			}
			rest = strings.ReplaceAll(rest, rep, "(weft's report, above)")
		}
	}
	if main == "" {
		return msg
	}
	if flaky {
		return main + "\n\n" + flakyNote + "\n\nrapid's report:\n" + rest
	}
	return main + "\n\nrapid's report:\n" + rest
}
