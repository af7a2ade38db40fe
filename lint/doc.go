// Package lint finds likely mistakes in a compiled workflow definition
// before any instance runs it: waits that can last forever, statements that
// never run, loops that spin, threads cut short, conditions nothing can
// change.
//
// It reads the definition's statement tree only. It never runs user code
// (steps, conditions, handlers, activities are Go functions it cannot
// read), does no I/O, reads no clock and starts no goroutines, so it is
// safe to call from tests, init code and tools alike. It is not the
// compiler: [dsl.Compile] rejects definitions that cannot run (duplicate
// paths, a Break outside a loop, a Join naming no thread); lint reports
// definitions that run but probably not as meant. Nor is it the simulator,
// which explores what instances actually do.
//
// # Usage
//
// In the test of a workflow package:
//
//	func TestLint(t *testing.T) {
//		if f := lint.Check(order.Workflow); len(f) > 0 {
//			t.Fatal(f)
//		}
//	}
//
// [Check] returns the findings sorted by statement path, then check name.
// Each [Finding] names its check, the statement's path, a [Severity] and a
// message saying why it matters and what to do. A finding a workflow means
// to have (a wait that may last forever on purpose) is silenced with
// [Disable]:
//
//	lint.Check(order.Workflow, lint.Disable("wait-without-timeout"))
//
// [Upgrade] checks a new version's migrations against the version it
// upgrades from: positions that would be lost, migration entries that never
// apply.
//
// [Checks] lists the checks with one-line summaries, for a command line's
// help. Every check looks at the main body, the threads it starts and the
// cleanup section ([dsl.OnCancel]), whose paths start with "@cancel".
//
// # Check wait-without-timeout
//
// A Wait none of whose events is a timer ([dsl.After] or [dsl.At]): an
// instance parked there waits forever unless someone sends one of its
// events, and a lost message leaves it stuck without anyone noticing.
// Severity: [Warning]. It looks at the wait alone: a wait in a loop whose
// other events give a way out still counts, since leaving still needs an
// event. Waits in the cleanup section count too.
//
// # Check unreachable
//
// Statements that come after one that never lets control through to the
// next statement of its body, so they never run. A statement never
// finishes when it is a Return, Fail, Break or Continue; a section whose
// body has such a statement; an If (or Switch) with an Else (Default) all of
// whose arms end that way; a Wait all of whose events' bodies end that way;
// or a For (no condition) with no Break that leaves it. This is Go's rule for
// terminating statements. Only the first unreachable statement of a body is
// reported. Severity: [Warning].
//
// A Wait, Call, WaitFor or Join that is never answered also never lets
// control through, but that depends on the outside world and is not
// counted. An arm after an Else or Default cannot happen: Compile rejects it.
//
// # Check loop-without-blocking-point
//
// A For loop (no condition) whose body has no blocking point (Wait, Call,
// WaitFor or Join) and no way out (a Break that leaves this loop, a Return,
// a Fail). It never parks and never ends: it spends the statement budget
// ([dsl.Budget]) of every transition, yields, and does it again on every
// resume, forever. Severity: [Error]. The body is searched through
// branches, sections, event bodies and inner loops, but not Go bodies,
// which run as other threads; a Break in an inner loop leaves only that
// loop. Not flagged: a While, which ends when its condition fails, and a
// For that blocks but never ends, an endless service loop that some
// workflows mean to have (the unreachable check still reports statements
// after it).
//
// # Check thread-never-joined
//
// A Go (or GoEach) statement whose name no Join anywhere in the definition
// names. When the workflow ends (a Return in any thread, or the end of the
// main body) every thread still running is stopped wherever it is, so its
// remaining work silently never happens. Severity: [Warning]; disable it
// for threads meant to be cut short, such as a reminder.
//
// # Check waitfor-unchangeable
//
// A WaitFor in a thread root (the main body, or the cleanup section) that
// starts no thread. Its condition is a Go function the linter cannot read,
// but while it waits its thread is the only one: no other thread can
// change the state, and no event handler can run either, because only a
// pending Wait accepts events and the lone thread is parked at the
// WaitFor. So it passes at once if the condition already holds, and
// otherwise waits forever. The cleanup section's threads never run beside
// the main body's (a cancel ends those first), so each root is judged
// alone. This is a best effort: a WaitFor in a root with any Go statement
// is not flagged, even if no thread ever touches its condition, or the
// thread starts only after the WaitFor. Severity: [Warning].
package lint
