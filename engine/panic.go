package engine

import (
	"fmt"
	"runtime/debug"
)

// PanicError is a panic that escaped the interpreter, the store or the
// codec (or another part of the engine's own path) while the engine worked,
// recovered by the engine so that one instance cannot bring the host down.
// It matches [ErrPanic]. The engine logs it (with the stack) at error level
// and counts it if the [Metrics] implement [PanicMetrics].
//
// Op says what the engine was doing, and so what the error means:
//
//   - "load", "apply", "encode": nothing was written; the event was not
//     applied and the instance is as it was;
//   - "commit", "create": the store panicked while writing, so, as with any
//     store error that is not a sentinel, the outcome is unknown: read the
//     instance, or deliver the callback again (docs/guarantees.md);
//   - "metrics": the event was committed, then the Metrics hook panicked;
//   - "list", "due scan", "outbox scan": a read of the store for many
//     instances (Instance is then empty); nothing was written;
//   - "effect": performing an outbox effect; it stays in the outbox and is
//     retried with backoff;
//   - "job": the bookkeeping of Run's or Drain's job (a Metrics hook or
//     the logger panicked); the job is retried with backoff.
//
// Panics in workflow code (steps, conditions, handlers, activities) are not
// PanicErrors: the interpreter turns them into workflow failures, rejected
// events or failed attempts, as the definition says.
type PanicError struct {
	Instance string // the instance being worked on ("" if none)
	Op       string // what the engine was doing (see above)
	Value    any    // the value passed to panic
	Stack    []byte // the panicking goroutine's stack
}

// Error names the instance, the operation and the panic value.
func (e *PanicError) Error() string {
	if e.Instance == "" {
		return fmt.Sprintf("engine: panic in %s: %v", e.Op, e.Value)
	}
	return fmt.Sprintf("engine: instance %q: panic in %s: %v", e.Instance, e.Op, e.Value)
}

// Is reports whether target is [ErrPanic].
func (e *PanicError) Is(target error) bool { return target == ErrPanic }

// Unwrap returns the panic value if it is an error (a runtime.Error, say),
// so that errors.As can inspect it.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// recovered turns a recovered panic value into a *PanicError, logging and
// counting it. Call it from a deferred function with the value of
// recover(), which must be called there directly.
func (e *Engine) recovered(instance, workflow, op string, value any) error {
	pe := &PanicError{Instance: instance, Op: op, Value: value, Stack: debug.Stack()}
	e.log.Error("engine: recovered a panic", "instance", instance, "workflow", workflow, "op", op,
		"panic", fmt.Sprint(value), "stack", string(pe.Stack))
	if pm, ok := e.metrics.(PanicMetrics); ok {
		func() {
			defer func() { _ = recover() }() // a hook that panics too must not undo the recovery
			pm.Panic(workflow, op)
		}()
	}
	return pe
}
