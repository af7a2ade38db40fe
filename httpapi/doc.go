// Package httpapi serves weft workflows over HTTP: an [http.Handler] made
// from an engine and a [Registry] of definitions, with JSON in and out and
// payloads decoded into the workflow's own Go types. It keeps no global
// state and nothing between requests, so it suits a long-running server
// (with engine.Run performing effects) and a stateless one alike (a
// function per request, with [WithProcessing] and the run-due route; see
// docs/serverless.md and examples/serverless).
//
// It is not an authentication layer, nor a public API by itself: mount it
// behind whatever authenticates callers (http.StripPrefix to put it under
// a path).
//
// # Routes
//
//	POST /workflows/{workflow}/instances/{id}   start; body: the state (S) as JSON; 201
//	GET  /instances/{id}                        query: status, waits, state, output, failure,
//	                                            inbox (buffered events), queries (their names)
//	GET  /instances/{id}/queries/{name}         run a query handler (dsl.Query) on the state;
//	                                            200 {"query": name, "result": ...}
//	POST /instances/{id}/events/{event}         send a custom event; body: its payload;
//	                                            header Idempotency-Key: engine.IdempotencyKey;
//	                                            200 {"reply": ...}, or {"reply": null,
//	                                            "buffered": true} when no wait takes it yet and
//	                                            it went to the inbox (?buffer=false: refuse
//	                                            with no_such_wait instead, engine.NoBuffer)
//	POST /workflows/{workflow}/instances/{id}/events/{event}
//	                                            signal-with-start: body {"input": S, "payload": P};
//	                                            starts the instance with input if it does not
//	                                            exist, and sends the event, in one commit;
//	                                            200 {"id", "workflow", "buffered"}
//	GET  /instances/{id}/result?wait=D          engine.Engine.Await for up to D (a Go duration,
//	                                            at most a minute; default: look once): 200
//	                                            {"status": "completed", "output": ...}, or
//	                                            "failed" with "failure", "canceled",
//	                                            "terminated"; 202 {"status": "running"}
//	POST /instances/{id}/callbacks/{callback}   deliver to one pending callback (custom event,
//	                                            timer once due, activity result); 200 {"reply": ...}
//	POST /instances/{id}/cancel                 cancel; 200
//	POST /instances/{id}/terminate              engine.Terminate; body {"reason": R, "by": WHO};
//	                                            200 (409 "finished" when it has ended)
//	POST /instances/{id}/process                engine.ProcessInstance: the instance's pending work
//	POST /run-due?limit=N                       engine.RunDue (or RunDueWithin, see [WithRunDue]):
//	                                            200 {"instances", ..., "next": time of the next work}
//
// Instance IDs with a "/" are escaped in the path (%2F). An empty body is
// the zero value of the type. JSON fields the type does not have are
// refused (a payload meant for another event is not taken silently).
// Payload types are read from the definitions: a custom event's payload
// and reply types are those of the On that the instance waits at (the
// wait engine.Send picks; for an event no thread waits for yet, the first
// On of that name), an activity result's the Call's result type.
//
// # Errors
//
// Every error is a JSON body {"error": {"code": CODE, "message": ...}}
// with the status of its [Code]: 400 for a body that is not JSON (and bad
// parameters, IDs and idempotency keys), 404 for an unknown workflow,
// instance, event, callback or query, 409 for a conflict (the instance exists,
// no thread waits for the event, it has finished, the callback was
// answered or is not due, another process holds it), 413 for a body over
// the limit ([WithMaxBody]) or a payload or state over the engine's, 422
// for a payload of the wrong type or one the event's handler rejected,
// 429 for an event refused because the instance's inbox is full, 500 for an outcome the store could not tell (CodeOutcome, with the
// callback and key to retry safely: see engine.OutcomeUnknownError) and
// internal errors (and a query function that panicked), 503 when the store is closed or the request ran out of
// time. Clients switch on the code; [ErrorCode] gives it for any error.
package httpapi
