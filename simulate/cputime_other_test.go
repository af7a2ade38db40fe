//go:build !unix

package simulate_test

import "time"

// cpuTime is not measured here: the benchmark's transitions/cpu-s is then
// not reported.
func cpuTime() time.Duration { return 0 }
