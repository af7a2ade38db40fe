// Package purity holds the test that keeps weft's core pure: dsl, interp,
// codec and the internal packages they use (ast, position, cborhead,
// decode, statecopy, unixns) may do no I/O, read no clock, use no randomness, take no locks
// and start no goroutines. Time and data enter the core only
// through events, which is what makes a transition deterministic and the
// simulator's replays exact.
package purity
