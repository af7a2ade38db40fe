// Package clock is a helper package whose functions workflow code in other
// packages calls: the analyzer must follow calls into it through facts.
package clock

import "time"

// Now reads the wall clock.
func Now() time.Time { // want Now:`nondeterministic\(Now: time.Now reads the wall clock`
	return time.Now()
}

// Stamp reads it one call further down.
func Stamp() int64 { // want Stamp:`nondeterministic\(Stamp -> Now: time.Now`
	return Now().UnixNano()
}

// Hits is written by Count, outside init.
var Hits int // want Hits:`mutable\(clock.go:25\)`

// Zone is set once, in its declaration: reading it is deterministic.
var Zone = "UTC"

// Count writes Hits.
func Count() { // want Count:`nondeterministic\(Count: writes package-level variable Hits`
	Hits++
}

// Double is deterministic.
func Double(n int) int { return 2 * n }
