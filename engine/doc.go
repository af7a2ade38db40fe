// Package engine hosts weft workflows: it is the thin, impure shell around
// the pure interpreter (package interp). For every event it loads an
// instance from a [storage.Store], calls interp.Apply, commits the result
// atomically with the effects it asks for, and then performs those effects.
//
//	e, err := engine.New(memory.New()) // err: an invalid option (ErrInvalidOption)
//	e.Register(approval)
//	e.Start(ctx, approval, "req-1", Request{User: "ada"})
//	e.Send(ctx, "req-1", "decide", Decision{Approve: true}, &reply)
//	req, err := engine.Query[Request](ctx, e, "req-1")
//	go e.Run(ctx) // timers, activities, setup handlers
//
// # What it does
//
// Callers change instances with [Engine.Start], [Engine.Send] (a custom
// event by name), [Engine.Deliver] (any pending callback by ID) and
// [Engine.Cancel], and read them with [Engine.Get], [Query] and
// [Engine.List]. [Engine.Run] does the rest in the background: it resumes
// instances when they are due (timers, step retries) and performs the
// effects: setup and teardown of custom events go to the [SetupHandler]
// registered with [Engine.Handle] for their type, Call activities run in
// worker goroutines and their results come back as callbacks, and the
// finish hook ([WithFinish]) hears of instances that ended.
//
// An event sent before any thread waits for it is buffered in the
// instance's inbox and delivered when a wait that takes it opens
// ([Engine.Send], [WithInboxLimit], [NoBuffer]); [Engine.SignalWithStart]
// starts a missing instance with its first event in one commit;
// [Engine.Await] blocks until an instance ends and returns its output or
// a typed error ([WorkflowFailedError], [ErrCanceled], [ErrTerminated]),
// from any process sharing the store; [Engine.Query] runs a query handler
// declared with dsl.Query. See docs/lifecycle.md.
//
// [Engine.Terminate] ends an instance at once, running no workflow code,
// even one whose position a deploy lost; [WithIDReuse] lets Start reuse
// the ID of a finished instance, or terminate a running one first (see
// docs/lifecycle.md).
//
// # The order it keeps
//
// Commit before dispatch. A transition's new state, meta, due time and
// effects are written in one compare-and-set commit (a transactional
// outbox); effects are read from the outbox and performed only after that.
// A crash at any point loses no accepted event and leaves no half-written
// record.
//
// At-least-once effects with IDs. An effect is acknowledged (removed from
// the outbox) only after its handler, hook or activity delivery succeeded;
// failures are retried with backoff ([WithRetryBackoff]), and after a
// restart everything unacknowledged is performed again. Every effect has a
// stable ID ([EffectInfo].ID, [EffectID] in an activity's context) so that
// receivers can de-duplicate. A Teardown is performed only after its Setup
// succeeded, and an instance's finishing effect after all its setups and
// teardowns. Activity attempts are not performed once their result is no
// longer wanted, and a running attempt's context is canceled when its wait
// is torn down.
//
// Per-instance serialisation. Inside one process, transitions of one
// instance take turns (a lock per instance), so concurrent callers never
// race; across processes the store's compare-and-set decides, and the
// loser reloads and retries. Each accepted event is applied exactly once.
//
// # Metrics
//
// [WithMetrics] hands the engine a [Metrics] implementation, which hears of
// every committed transition, compare-and-set conflict, performed or
// failed effect and activity attempt; the engine depends on no metrics
// library and keeps no global state. By default nothing is counted.
//
// # The clock
//
// The engine reads time only from its [Clock] ([WithClock]): every event
// carries Clock.Now, due instances are found by it, and backoff is measured
// on it. A [FakeClock] with [Engine.Drain] makes tests deterministic and
// instant: start, drain, advance the clock, drain again. Activity timeouts
// are the exception: they bound real work, so they are real durations.
//
// # Containment and limits
//
// A panic that escapes the store, the codec or the interpreter while the
// engine works on an instance becomes a *[PanicError] ([ErrPanic]) for that
// instance, logged and counted ([PanicMetrics]); Run and its workers go on
// serving the others. Payloads and states have size limits
// ([WithMaxPayload], [WithMaxState]); an event that would exceed one is
// refused with a *[TooLargeError] ([ErrTooLarge]) and changes nothing.
//
// # Errors
//
// The engine's own errors are the Err variables of this package (such as
// [ErrNoSuchWait]), matched with [errors.Is].
// Errors of the interpreter (interp.ErrUnknownCallback,
// interp.ErrStaleCallback, interp.ErrRejected, interp.ErrFinished, ...) and
// of the store (storage.ErrNotFound, ...) come through wrapped, so
// errors.Is and errors.As work on them too. A rejected event changes
// nothing.
//
// # Retrying safely
//
// When the store cannot tell whether a commit took effect, Start, Send,
// Deliver and Cancel return an *[OutcomeUnknownError] ([ErrOutcomeUnknown],
// also matching storage.ErrOutcomeUnknown). Give a Send an
// [IdempotencyKey] and retry it with the same key: the key commits with
// the event, so a retry applies it at most once and never to the
// instance's next wait for the same event. The error's doc lists the
// retry of each call.
//
// # Hosting without a loop
//
// A stateless host (a function per request) makes an engine per request
// [WithLeases] over a shared store and calls [Engine.ProcessInstance]
// after each event and [Engine.RunDue] (or [Engine.RunDueWithin], with a
// time limit) from its scheduler; retry state is in the store, so fresh
// engines keep each failed effect's backoff. [WithScheduler] hands every
// new due time to a delayed-call service as a durable effect ([Wakeup]).
// Package httpapi serves all of this over HTTP; docs/serverless.md shows
// the deployment.
//
// # Listing and retention
//
// [Engine.Find] pages through instances by workflow, status, ID prefix
// and due time, and [Engine.Count] counts them per status, from the
// store's indexes ([storage.Listing]). Finished instances are kept
// forever unless [WithRetention] or [WithWorkflowRetention] gives a
// period: then [Engine.GC] (and [Engine.Run], in the background, in one
// process at a time) deletes those that finished longer ago, never one
// whose effects are still in the outbox or dead-lettered.
// docs/lifecycle.md has the details.
package engine
