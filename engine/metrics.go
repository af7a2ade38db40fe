package engine

import "github.com/weftflow/weft/interp"

// Metrics receives counts of the engine's work, for a program to export to
// whatever metrics system it uses; the engine depends on none. Pass an
// implementation with [WithMetrics]; by default nothing is counted.
//
// The engine calls the methods from many goroutines at once, on its hot
// path and while it holds an instance's lock: they must be safe for
// concurrent use, quick (an atomic add, say), and must not call back into
// the engine. Labels are bounded sets: workflow names, Call paths and
// effect kinds, never instance IDs.
//
// Embed [NopMetrics] in an implementation that counts only some of these,
// or to keep it compiling if methods are added.
type Metrics interface {
	// Transition is called after an event was accepted and committed for
	// an instance of workflow: a Start, Resume, Callback or Cancel.
	// Rejected events are not counted.
	Transition(workflow string, event interp.EventKind)

	// Conflict is called when a commit for an instance of workflow lost a
	// compare-and-set race (another process committed first); the engine
	// reloads and retries, up to a limit.
	Conflict(workflow string)

	// Effect is called after the engine performed an outbox effect of
	// workflow (Setup, Teardown, RunActivity, CancelActivity, Completed,
	// Failed or Canceled). A nil err means it succeeded and was
	// acknowledged; otherwise it failed and will be retried with backoff
	// ([WithRetryBackoff]). An effect interrupted because [Engine.Run] is
	// stopping is not counted: it runs again after the restart.
	Effect(workflow string, kind interp.EffectKind, err error)

	// Activity is called when an attempt of the Call at path in workflow
	// returned, with the error it failed with (nil on success; a timeout
	// is an error). Attempts abandoned because Run is stopping are not
	// counted.
	Activity(workflow, path string, err error)
}

// PanicMetrics is implemented by a [Metrics] that also counts the panics
// the engine recovered (see [PanicError]). The engine looks for it with a
// type assertion, so a Metrics without it still compiles; [NopMetrics] has
// it, so an implementation embedding NopMetrics counts nothing unless it
// defines Panic itself.
type PanicMetrics interface {
	// Panic is called once per recovered panic, with the workflow (empty
	// when not known, as for a panic while loading the record) and the
	// PanicError's Op.
	Panic(workflow, op string)
}

// NopMetrics is a [Metrics] that counts nothing: the default, and a base to
// embed.
type NopMetrics struct{}

// Transition does nothing.
func (NopMetrics) Transition(string, interp.EventKind) {}

// Conflict does nothing.
func (NopMetrics) Conflict(string) {}

// Effect does nothing.
func (NopMetrics) Effect(string, interp.EffectKind, error) {}

// Activity does nothing.
func (NopMetrics) Activity(string, string, error) {}

// Panic does nothing.
func (NopMetrics) Panic(string, string) {}
