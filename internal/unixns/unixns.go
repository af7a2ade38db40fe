// Package unixns converts between the times weft shows users (time.Time
// in UTC, the zero time for none) and the Unix nanoseconds it stores (0
// for none): the interpreter's meta and the journal keep their times so.
// Pure: no clock, no I/O.
package unixns

import "time"

// Time is the time of Unix nanoseconds ns in UTC, with no monotonic
// reading; 0 is the zero time.
func Time(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// Nano is the inverse of Time: the Unix nanoseconds of t, 0 for the zero
// time. (One UnixNano call, no IsZero: encoders call it for every stored
// time. The only other time that gives zeroNano is 2^64 ns, about 584
// years, from the zero time, far outside the range a stored time can
// have.)
func Nano(t time.Time) int64 {
	if ns := t.UnixNano(); ns != zeroNano {
		return ns
	}
	return 0
}

// zeroNano is what UnixNano returns for the zero time (it overflows).
var zeroNano = time.Time{}.UnixNano()
