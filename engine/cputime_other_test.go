//go:build !unix

package engine_test

import "time"

// cpuTime is not measured on this platform: the benchmarks report 0 cpu-ns/op.
func cpuTime() time.Duration { return 0 }
