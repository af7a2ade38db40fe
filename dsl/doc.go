// Package dsl is how a workflow is written: a tree of statements built with
// Go functions, compiled once into an immutable [Definition].
//
// A workflow reads like a program. Steps are ordinary Go over a typed state;
// branches and loops take conditions over that state, evaluated when reached;
// waits park a thread until one of several events fires:
//
//	var approval = dsl.MustCompile[Approval]("approval", dsl.S(
//		dsl.Step("load", func(s *Approval) error { s.User = "ada"; return nil }),
//		dsl.If("no user", func(s *Approval) bool { return s.User == "" },
//			dsl.Return("no user")),
//		dsl.Wait("decision",
//			dsl.On("timeout", dsl.After(10*time.Minute), dsl.Return("timed out")),
//			dsl.On("answer", dsl.Signal(answer), dsl.Return("answered")),
//		),
//	))
//
// # Statements
//
// [Step] runs code; [If], [Switch] branch; [For], [While], [Break],
// [Continue] loop; [Wait] with [On] and the triggers [After], [At],
// [Signal], [Custom] waits for events; [Call] runs an activity outside the
// interpreter; [Child] starts another workflow and waits for its end;
// [WaitFor] waits for a condition; [Go], [GoEach] and [Join]
// run threads; [Return] and [Fail] end the workflow; [Section] names a
// reusable group and [S] an anonymous one. docs/semantics.md describes each.
//
// # Positions
//
// Every statement that can hold a thread (steps, loops, waits, calls,
// branches, sections, threads) has a name, and its position path is the
// names from the root joined by "/", such as "decision/answer/notify". A
// running instance stores paths, not indexes, so statements can be inserted,
// reordered or removed while instances are parked elsewhere. [Compile]
// rejects trees where two statements would share a path.
//
// # What this package is not
//
// It runs nothing: package interp interprets a Definition, package engine
// hosts it. It does no I/O, reads no clock and starts no goroutines.
package dsl
