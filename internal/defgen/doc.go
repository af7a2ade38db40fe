// Package defgen generates random well-formed weft definitions, for testing
// the interpreter and the simulator on workflows no example reaches.
//
// # What it generates
//
// [Generator] draws, with pgregory.net/rapid, a tree of every statement
// kind of package dsl over the fixed state type [State]: steps that fail,
// retry and (optionally) panic; If/ElseIf/Else and Switch/Case/Default;
// For and While loops with Break and Continue; Waits with several events of
// every trigger kind (After, At, Signal, Custom with and without setup);
// Call activities; WaitFor; Go threads, with dynamic IDs when started in
// loops; Join; sections reused in several places; Return; Fail; and a
// cancel section. Nesting goes up to six deep and at most 32 threads are
// live at once. Every generated definition compiles: a compile error is a
// bug of the generator.
//
// Every loop is bounded by a counter in the state and every thread start is
// gated on a live-thread count in the state, so runs end and stay small.
//
// # What it checks
//
// [CheckInterp] drives one generated definition through interp.Apply with
// a random sequence of events drawn from what the meta says is pending, and
// checks the interpreter's own invariants after each (see its doc).
// [SimOptions] gives the options to run the same definition under
// simulate.Check.
//
// This package is test machinery: it lives under internal/ and is imported
// only by tests.
package defgen
