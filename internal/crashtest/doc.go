// Package crashtest proves weft's durability guarantees against real
// crashes: it kills processes running the engine on a bbolt file with
// SIGKILL at random moments and checks what survives, does the same to
// three processes sharing a PostgreSQL schema with leases, and it makes
// the store's writes fail under a running engine.
//
// The package holds the pieces the tests are made of: a counter workflow
// ([NewCounter]) whose state records every applied token, a receiver of
// effects that survives kills ([Receiver]), and a store wrapper that fails
// writes on demand ([FaultyStore]). The tests are the point.
//
// # TestKill9
//
// The test re-executes its own binary as a child process: an engine with
// the real clock and several workers, on a bbolt file with fsync on,
// running the pizza and approval examples (some approvals are canceled)
// and the counter (whose tally loop yields every few steps, so the engine
// must resume it through the due index), with every
// setup, teardown, finishing effect and counter activity reported to the
// receiver. The parent sends commands over a pipe (start an instance,
// send an event with a payload); the child answers only after the engine
// call returned nil, that is after it committed. The parent kills the
// child with SIGKILL after a random 20 to 300 ms, while commands are paced
// in bursts, restarts it on the same files, and repeats (20 kills by
// default, 5 with -short; -crash.kills or WEFT_CRASH_KILLS for more, and
// -crash.seed or WEFT_CRASH_SEED to repeat a schedule; the seed is logged).
// After the last kill a final child drives every instance to completion.
//
// After every kill the parent opens the file read-only and checks:
//
//   - the file opens and every record decodes (List, then Get and Query of
//     every instance);
//   - every acknowledged command is applied (no lost commit);
//   - no command that was never sent is applied (no invented event);
//   - the events of each instance are applied in the order they were sent,
//     each once: the counter's tokens and the pizza's items are exact
//     prefixes of what was sent, and no token was applied twice;
//   - the receiver log holds every effect ID handled once.
//
// A command that was in flight at a kill has an unknown outcome. The parent
// resends it only if the stored state shows it was not applied: that is
// what a careful client does, and it keeps the check strong. The counter's
// handler does not reject a token it has seen (which would hide an engine
// that applied one event twice); it records it as a duplicate, and any
// duplicate fails the test.
//
// At the end, every instance must have finished with the output its
// inputs determine (the counter: the number of tokens, tallied again;
// pizza: "delivered 2 items to ..., receipt ..."; approval: "approved";
// the canceled approvals: canceled), every activity's result must be in
// the state, the outbox must be empty, and the receiver must have handled,
// exactly once, every effect the workflows emitted: one setup per wait for
// a custom event with a distinct callback, one teardown for each setup and
// after it, one completion (or cancellation) after all of them carrying
// the instance's output from its last transition, and one report activity
// per counter (the activity de-duplicates on [engine.EffectID]).
// Duplicate deliveries across a kill are allowed and counted; within one
// process, where nothing fails, there must be none.
//
// Each child gets a different number of workers (1 to 8) and group commit
// size (1, 4 or the default); one kill in eight lands while the child
// starts (opening the files, recovering).
//
// # TestKill9Postgres
//
// Three child processes (the same child as TestKill9, given a DSN and a
// schema) share one fresh PostgreSQL schema, each an engine made
// [engine.WithLeases] with a 2 s lease TTL and a 50 ms poll interval, so
// that only a lease holder resumes an instance and performs its effects,
// its commits and acknowledgements fenced by the lease's token. The parent
// sends the TestKill9 workload to them round-robin (a command is
// acknowledged only after its engine call committed), paced over the
// kills. Every 20 to 300 ms it SIGKILLs a random process and restarts it
// in its slot; three times it SIGSTOPs the process that performed the latest
// effect for 1.5 to 2 TTLs, so that its leases are taken over, and then
// SIGCONTs it: its late writes must be refused. 200 kills by default, 40
// with -short; -crash.kills or WEFT_CRASH_KILLS for more, -crash.seed or
// WEFT_CRASH_SEED to repeat a schedule.
//
// A command in flight at a kill is resolved once the dead process can no
// longer write: each child connects with an application_name of its own,
// and the parent waits until pg_stat_activity shows none of its backends
// (a statement the server received before the kill has then committed or
// not, for good). It looks the instance up and sends the command again,
// to another process, only if it was not applied.
//
// The processes write one receiver log ([OpenSharedReceiver]): each
// delivery takes an flock on the file, reads what the others appended,
// logs itself as handled or as a duplicate, so the log is one sequence
// with one de-duplication across processes; each line carries the fence
// token the effect was performed under.
//
// At the end every check of TestKill9's end state holds (every command
// applied exactly once and in order, every instance finished with its
// output, every effect handled, in order, the outbox empty), and also:
// every setup, teardown and finishing effect was performed under a lease
// (a non-zero fence), and no effect was delivered twice under one fence,
// since only a new lease may perform an effect again; NextWork finds no
// work, a Claim finds nothing, every instance can be acquired (no lease is
// left live) and there are no dead letters. The log reports the
// deliveries made late by a stopped process (under a lower fence than the
// first delivery) and how often a process stopped work on a lost lease.
//
// TestKill9PostgresNoFaults runs the three processes without kills or
// stops, with 10 s leases (so that a loaded machine's slow renewals lose
// none), and there must be no duplicate delivery at all. Both tests need
// a server: WEFT_POSTGRES_DSN, by default
// postgres://postgres@127.0.0.1:5432/test; they skip without one, and
// fail under CI=true. The schema is dropped at the end.
//
// # The checks can fail
//
// A subtest of TestKill9 damages copies of the final data in one way each
// (a lost token, a token applied twice, a teardown never performed, an
// effect left in the outbox, ...) and checks that each damage is reported.
// TestKill9LazyReceiver runs the kills with a broken receiver that
// acknowledges effects before it writes them down, and must find the
// effects it lost. A subtest of TestKill9Postgres does the same damage to
// its final data, and adds two of its own to the receiver log (an effect
// performed without a lease, one delivered twice under one fence).
//
// # TestWriteFailures
//
// A [FaultyStore] over bbolt fails every write for a while, either before
// performing it or after (an unknown outcome, as when the final fsync
// fails), while Run performs effects. Start and Send must return errors
// wrapping the store's, reads must show exactly what the store kept, the
// same engine must go on once writes heal, and after reopening the file
// every call that returned nil is applied exactly once and everything
// completes.
//
// # Cost
//
// The default TestKill9 takes a few seconds, about ten with -race on two
// cores; each kill adds a quarter to half a second. TestKill9Postgres
// takes about 40 s with -race on two cores (its 200 kills take about
// 35 s), about 15 s with -short; TestKill9PostgresNoFaults about 12 s (it
// waits a lease's time for leftover leases). The whole
// package takes about 80 s with -race on two cores.
package crashtest
