package schedule

// SetAfterStart makes every launch call f after it started a run, and fail
// with f's error (tests: a crash between the start and the answer).
func SetAfterStart(s *Scheduler, f func(id string) error) { s.afterStart = f }
