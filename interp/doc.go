// Package interp is weft's interpreter: a pure function from (definition,
// state, meta, event) to (state, meta, effects).
//
//	res, err := interp.Apply(def, state, meta, interp.Event{Kind: interp.EventStart, Time: now, Instance: "order-1"})
//
// [Apply] does no I/O, reads no clock, uses no randomness and starts no
// goroutines: time arrives inside each [Event], and everything the world must
// do leaves as [Effect] values. The same inputs always give byte-identical
// outputs, which is what lets one interpreter be the production runtime
// (package engine), the test simulator and the offline upgrade checker.
//
// # The host's contract
//
// Like etcd raft's Ready, the result comes with an order the host must keep:
// persist Result.State, Result.Meta and Result.Effects in one atomic write,
// then perform the effects, retrying each until it succeeds; send a
// [EventResume] event at or after [Meta.Due]; deliver at most one event at a time
// per instance. An error means the event was not accepted and nothing changed.
//
// # Buffered events
//
// A [EventSignal] event sends a custom event by name: to the first thread waiting
// for it, or, when none does, to the instance's inbox ([Meta.Inbox]), from
// which the first wait that takes it to open receives it. The order, the
// bounds, and what happens to buffered events at the end and across
// migrations are in [Buffered].
//
// # Threads and positions
//
// [Meta] lists each live thread with a position: a statement path and a
// [Phase]. On every call the paths are resolved in the current definition,
// and what runs next is derived from the current tree, so definitions can
// change under parked instances; a path that no longer resolves returns a
// *[PositionLostError]. Threads run one at a time, in a deterministic order:
// the thread an event woke first, then threads it started, in start order.
//
// # Budget
//
// One call runs at most the definition's statement budget (dsl.Budget).
// A thread that runs out stays runnable where it is and a [EffectResumeAt] effect
// asks the host to call again, so a loop that never blocks cannot hang the host.
package interp
