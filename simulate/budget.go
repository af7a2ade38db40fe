package simulate

import "time"

// budget stops a Check before the test's -timeout kills it. rapid does the
// same for a *testing.T it is given directly, but Check hands rapid a
// wrapper (to order the failure report), which hides the deadline from it.
type budget struct {
	deadline time.Time // zero: none
	runs     int
	total    time.Duration
	skipped  int
}

func newBudget(t any) *budget {
	b := &budget{}
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		b.deadline, _ = d.Deadline()
	}
	return b
}

// spent records the duration of one run.
func (b *budget) spent(d time.Duration) { b.runs++; b.total += d }

// over reports, counting it, whether the next run should be skipped: the
// deadline is closer than five average runs, as rapid's own rule has it.
func (b *budget) over() bool {
	if b.deadline.IsZero() || b.runs == 0 || time.Until(b.deadline) >= b.total/time.Duration(b.runs)*5 {
		return false
	}
	b.skipped++
	return true
}
