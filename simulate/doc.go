// Package simulate property-tests your own workflow in go test: it runs a
// definition through the real interpreter and engine under random
// schedules, crashes, duplicate deliveries and definition upgrades, checks a
// list of invariants after every step, and shrinks any failure to a short
// trace in plain words that replays from a seed.
//
// Temporal's test suite runs the one schedule a test scripts, and its
// replayer checks the histories you recorded; no durable-workflow library
// explores schedules and crashes for you. This package does, with
// pgregory.net/rapid doing the drawing and the shrinking. docs/simulation.md
// is a tutorial.
//
// # Usage
//
// Call [Check] from a test with the definition and [Options] for its state
// type:
//
//	func TestOrder(t *testing.T) {
//		simulate.Check(t, order.Workflow, simulate.Options[order.State]{
//			Input: func(t *rapid.T) order.State {
//				return order.State{Amount: rapid.IntRange(1, 500).Draw(t, "amount")}
//			},
//			Invariant: func(s *order.State) error {
//				if s.Refunded > s.Captured {
//					return errors.New("refunded more than captured")
//				}
//				return nil
//			},
//		})
//	}
//
// Each of rapid's checks (100 by default) starts one instance on a fresh
// in-memory store under a fake clock, draws a sequence of actions (about 30
// on average), checks the invariants after each, runs the liveness phase,
// and finally replays the recorded steps on fresh hosts. Check returns
// the [Coverage] its runs reached and logs it when they all passed.
//
// [Fuzz] makes the same run a fuzz target, the fuzzer's bytes choosing
// every action and value:
//
//	func FuzzOrder(f *testing.F) {
//		f.Fuzz(simulate.Fuzz(order.Workflow, simulate.Options[order.State]{...}))
//	}
//
// # Hosts
//
// The simulated hosts are real engines ([Options.Hosts] of them, default
// 2) sharing the run's store, each made with engine.WithLeases, the
// simulator's fake clock and one worker, as processes on several machines
// would be. Events go through a host's Apply; due resumes and the outbox
// are worked on only by the engines' own synchronous core, RunDue and
// ProcessInstance: their claims and leases, fencing, ordering of effects,
// retries and acknowledgements are what runs, not a copy of them. The
// simulator is the receiver of the effects: every engine's SetupHandler,
// finish hook and activity runner (engine.WithActivityRunner) call back
// into it, and it watches every write a host makes, to fold into the model
// the transitions an engine commits on its own and to check fencing.
//
// # Actions
//
// Every action goes through the engines, as production traffic would;
// each draws the host it uses:
//
//   - deliver an event: a custom event ([dsl.Signal], [dsl.Custom]) some
//     thread waits for, with a payload from [Options.Payloads] or drawn from
//     the payload type (small numbers, short strings, up to three elements);
//   - fire a timer: move the clock to a pending timer's deadline and have a
//     host's ProcessInstance resume the instance (and perform what is ready);
//   - advance the clock by a second up to a day, and, if the store then
//     has work, have a host's RunDue claim and do what is due;
//   - dispatch: a host's RunDue or ProcessInstance performs the ready
//     effects in the engine's order and acknowledges them under its lease;
//     it runs [dsl.Call] attempts, each drawn to succeed (the activity
//     function runs on its input snapshot, or [Options.Activities] stands
//     in), fail or time out (timers and clock jumps let attempts succeed);
//     where the store has no work (nothing due, no ready effect, as
//     storage.Claims.NextWork says), a dispatch is drawn rarely (weight 1),
//     to check that the hosts invent nothing;
//   - child step: a child a [dsl.Child] statement started (its start-child
//     effect performed by a host, which hands it to the simulator) is run
//     for real, its own definition applied by the pure interpreter from
//     its input; this action advances its run by one drawn event: a timer
//     fires (the clock moves to the child's due time), a custom event
//     arrives with a payload drawn as the instance's are
//     ([Options.Payloads], else from its type), an activity attempt runs
//     (a stub of [Options.Activities], else the activity on its snapshot)
//     and succeeds, fails or times out, or one of its own children (run
//     the same way, three levels deep) advances or ends; so the child
//     finishes at any point among the parent's events. Every event is
//     applied twice and compared (determinism), and a panic in the
//     child's code is reported;
//   - child end: the end of a started child reaches the parent: the real
//     one (interp.ChildOutcomeOf its run: its output, its failure) once
//     its run has ended; one still running is first canceled from outside
//     (its cleanup section runs, and the end comes once it is done),
//     terminated, or driven on to its end; the end is delivered to the
//     parent like an event, so it is duplicated, reordered, and lost to
//     or committed before a host's crash like one (the crash between a
//     child's finish and its parent's wake-up). An end-child effect (the
//     parent stopped waiting) cancels or terminates the child's run by
//     its policy. In the liveness phase, started children are driven to
//     their end as the instance is; only a child that cannot end (stuck,
//     or still going after the liveness bound) or one deeper than three
//     levels gets a drawn end (completed with an output of the type the
//     parent's store function takes), and the trace says so. In a
//     [Verify] simulation, a child the stored parent waits for runs from
//     its own stored record, upgraded to the definition the new parent
//     starts (its end is drawn if the store has no such record or it does
//     not upgrade);
//   - early send: send a custom event the definition takes somewhere but no
//     thread waits for yet (an interp.EventSignal event, as engine.Send makes
//     one): it waits in the instance's inbox until a wait that takes it
//     opens (see interp.Buffered; [Options.NoEarlySends] turns it off);
//   - stale callback: deliver a callback whose wait was resolved by another
//     event; unknown callback: one never issued;
//   - duplicate callback: deliver an accepted callback again;
//   - crash: a host dies before a commit (the write is lost), after a
//     commit (the write is durable, the caller hears [ErrCrash]), or, where
//     the store has work, in the middle of a dispatch, at one of its writes
//     after the claim (a commit, the acknowledgement of the effects it
//     performed, the release: every write from there on fails); a new
//     process restarts over the same store, and the dead one's lease holds
//     the instance until it expires;
//   - stall (with two hosts or more, where the store has work; a dispatch
//     pursuing the run's goal activity stalls too, as often as the run
//     weighs stalls): a host stops at its first effect while the clock
//     moves past its lease and another host takes the instance over and
//     does its work; then it goes on, performing again what it had read,
//     and its writes must be fenced;
//   - cancel the instance;
//   - terminate the instance (engine.Terminate; rarely, as it ends the run);
//   - new run (while the instance runs): a host's engine.Start of its ID
//     with engine.IDReuseAfterFinished, which must be refused, or (rarely)
//     with engine.IDReuseTerminateRunning, which ends the run and begins
//     another in one commit; the run goes on with the new one (and, as one
//     run in four ends, a finished instance gets a new run and that one is
//     terminated for a third: see [InvNewRun]);
//   - upgrade the definition to [Options.Upgrade] (once per run; every host
//     restarts with it);
//   - list: a host's engine pages through engine.Engine.Find by workflow
//     and status, by status, by ID prefix or by due time, one to three
//     instances a page, and calls Count with the same filter (the first
//     list or gc action puts four inert instances beside the simulated
//     one, so that listings have pages to turn and statuses to tell
//     apart);
//   - gc (once the instance has finished): the clock moves on by up to an
//     hour and a GC engine over the run's store (engine.WithRetention with
//     a drawn period, a nanosecond to an hour) collects finished
//     instances; once the instance is deleted, the run's remaining actions
//     do nothing and the liveness phase is replaced by the final checks
//     that still apply;
//   - your own [Options.Actions].
//
// An action with nothing to act on (no timer pending, say) is skipped.
//
// # Swarm testing and goals
//
// Actions are not drawn uniformly. Each run first draws its own swarm
// configuration (Groce et al., "Swarm Testing", ISSTA 2012; TigerBeetle's
// VOPR): a weight from 0 to 4 for every kind of action, 0 switching the
// kind off for the run, so that some runs never cancel and get deep, some
// crash at every turn, some only deliver. Each run also aims at a goal:
// one event of the definition (a delivery at a given wait, a timer, an
// activity succeeding or failing, a cancellation while a thread waits at
// a given statement) that no earlier run of the same Check reached. Runs
// whose goal was reached already are skipped while others are open (rapid
// draws another), and the run takes its goal's action whenever it can,
// in the random phase and in the liveness phase. A failure report prints
// the run's configuration and goal. Skipping depends on earlier runs, but
// a run itself depends only on rapid's draws, so a seed, a fail file and
// the shrinker replay it exactly.
//
// # Invariants
//
// The simulator keeps a model: the events the store accepted, folded by the
// pure interpreter with no host and no crashes. A [*Violation] names the
// first invariant that broke:
//
//   - [InvDeterminism]: applying the same event to the same state twice
//     gave different results (state, meta, reply or effects), or the
//     host's transition and the model's differ while the trace holds no
//     crash or the host's own answer is what the store holds; catches
//     time.Now, randomness, map iteration order and package variables in
//     steps, conditions, handlers and setups. Reported as a hidden input,
//     with a diff of what differs.
//   - [InvCrash]: the stored instance is not byte for byte the model (or
//     does not load or decode); catches hosts and stores that persist
//     something else than what was accepted, or lose writes on a crash.
//   - [InvLostEvent]: the host said an event was accepted but the store
//     does not have it; catches acknowledging before committing.
//   - [InvInventedEvent]: the store applied an event the interpreter
//     rejects, or jumped versions, or an effect was dispatched that no
//     accepted transition emitted.
//   - [InvSetupTeardown]: a custom event's setup performed twice, a teardown
//     without its setup or performed twice, the instance's end performed
//     while one of its setups or teardowns waits in the outbox, or, once the
//     instance ended, a setup not torn down exactly once.
//   - [InvEffects]: an effect ID issued twice, an outbox entry that does not
//     decode, an effect performed again with no crash or stalled host to
//     explain it (a repeat of the same ID is allowed after a host crashed
//     or stalled since the effect's previous performance, or by or after
//     a stalled host going on past its lease: the receivers de-duplicate),
//     a committed effect never acknowledged by the
//     end, or after the liveness phase anything left in the outbox (but the
//     effects of activities still awaited), a dead letter, or work the
//     store lists that no host did.
//   - [InvFencing]: a write under a superseded lease (a commit, an
//     acknowledgement, a retry, a release) that did not fail with
//     storage.ErrFenced, or a lease whose fence token did not grow.
//   - [InvJournal]: the instance's journal (the hosts keep one) does not
//     hold exactly one entry per committed transition, with its event and
//     effects, in order: an entry of a commit that did not land, or one
//     missing for a commit that did.
//   - [InvPanic]: user code panicked: the workflow failed because of it (a
//     step on every attempt, a condition, a timer function, a setup), an
//     event handler panicked (which rejects the event), or an activity
//     panicked (which fails the attempt).
//   - [InvUser]: [Options.Invariant] returned an error for the committed
//     state.
//   - [InvLiveness]: after the liveness phase the instance neither ended
//     nor rests where [Options.Resting] allows (or it never started).
//   - [InvPositions]: after an upgrade, a parked thread's position or a
//     pending event no longer exists in the new definition.
//   - [InvReplay]: the recorded steps replayed on a fresh store and host
//     stored a different instance (or transition effects) after some step;
//     catches hidden inputs that only a new process sees, such as a
//     package variable set at startup.
//   - [InvRejectedChange]: the host rejected an event or the start,
//     without crashing, but the store applied it.
//   - [InvDueIndex]: after a commit or a crash, the stored Instance.Due or
//     the store's due index (Store.DueBefore) disagrees with the due time
//     of the committed meta; catches stores that lose due entries, on a
//     crash or always, which would leave timers that never fire.
//   - [InvChild]: a child started twice, ended (end-child) twice, before
//     its start, after its end reached the parent, or despite
//     [dsl.AbandonChild]; a child's end accepted by the parent twice; or,
//     once the instance ended, a started child whose end neither reached
//     the parent nor was followed by one end-child by its policy.
//   - [InvTerminate]: a terminate ran workflow code (the state changed),
//     left a thread or a due time, did not record who and why, or emitted
//     other effects than the teardowns of the open waits and the end; or
//     the host committed something else for it than the interpreter's
//     termination (no hidden input can change a terminate, which runs no
//     workflow code).
//   - [InvQuery]: a query handler (dsl.Query), run on a host by the query
//     action, failed (it panicked on a state the run reached) or changed
//     the stored instance.
//   - [InvSignalWithStart]: a run that began with Engine.SignalWithStart (drawn,
//     unless NoEarlySends) was refused where the interpreter accepts the
//     event after the start, accepted where it refuses it, or left an
//     instance behind after a refusal or a reported failure.
//   - [InvAwait], [InvIDReuse]: at the end of a run, Engine.Await (or the
//     Host wrapper's Await) did not tell how the instance ended, or a Start
//     of its ID was not refused with engine.ErrExists (under the default
//     policy, or with IDReuseAfterFinished while it runs).
//   - [InvNewRun]: a Start of the instance's ID with a reuse policy
//     reported a new run the store does not have, refused one the
//     interpreter starts, or stored one numbered otherwise than the old
//     run's continuation (interp.Restart); the new run's effects must
//     also be exactly the model's in the outbox (else [InvEffects]), under
//     IDs the old run never issued, its state and meta the model's (else,
//     as for the first start, [InvDeterminism]), and the old run's end
//     comes after its own setups and teardowns, not the new run's.
//   - [InvListing]: a listing (Find) does not show the instance under
//     exactly the status of its last committed meta, or shows it under
//     another, at another version, out of order, twice, or by due time
//     iff it is not due; a page is larger than its limit or a cursor does
//     not move on; Count disagrees with a listing by ID of the same
//     filter; a deleted instance is still listed or counted. Checked
//     between steps, against the committed truth, as InvDueIndex is.
//   - [InvRetention]: a GC deleted the instance while it was running,
//     before its retention ended, with effects never acknowledged (in the
//     outbox or dead-lettered: lost with it) or its end unperformed; left
//     its journal, due entry or effects behind; left no tombstone (a
//     Create of the ID that does not name it must fail with a
//     storage.DeletedError holding the instance's version and numbering);
//     or kept an instance whose retention had ended although it had no
//     effect left.
//
// # Liveness
//
// When the random actions are over, the liveness phase turns crashes and
// duplicates off and drives the instance to its end: it has the hosts, in
// turn, drain the store (their activity attempts succeed; the clock moves
// past a dead host's lease or an effect's retry time when that is all
// that holds work back), delivers pending events and fires timers
// (choosing among them at random), and resumes due retries,
// for at most [Options.LivenessSteps] moves (default 200). An instance that
// has not ended by then, and is not resting at waits listed in
// [Options.Resting], breaks [InvLiveness]: a wait nobody can answer, a
// WaitFor that never holds, a service loop meant to run forever that was
// not declared. Then every committed effect must have been acknowledged,
// the outbox must be empty (but for activities still awaited), no effect
// dead-lettered (the simulated receivers never fail for good, and the
// engines retry forever), and, if the instance ended, every setup torn
// down.
//
// # Failure reports
//
// A failing check fails the test with the simulator's report first and
// rapid's message after it: the invariant and the positions of the
// threads, the detail (for a state, a go-cmp diff), the options, the run's
// swarm configuration and goal, and the shrunk trace, one numbered line
// per step, each saying what was done and what the host answered:
//
//	weft simulation of "refunds" failed: invariant broken: user invariant at "capture/charge, service/requests"
//	refunded 1 cents but captured only 0
//	...
//	trace:
//	  1. start with {Order:o-1 Amount:1 Captured:0 Refunded:0}
//	  2. deliver refund({Cents:1}) to thread main at wait "service/requests" (callback 1): accepted
//
// When rapid cannot make a failure happen again from the same draws it
// calls the test flaky; the report then says that something outside the
// recorded inputs changed the outcome between runs (a hidden input).
//
// rapid prints the seed and saves the shrunk case to
// testdata/rapid/<Test>/<Test>-<time>-<pid>.fail; every later run of the
// test replays the files there first, so the bug stays reproduced until it
// is fixed (commit the file as a regression test). To replay explicitly:
//
//	go test -run '^TestOrder$' -rapid.seed=<seed>
//	go test -run '^TestOrder$' -rapid.failfile=testdata/rapid/TestOrder/<file>.fail
//
// For a longer, nightly-style run: go test -run '^TestOrder$'
// -rapid.checks=10000 (and -rapid.steps=100 for longer runs of actions).
// -rapid.v logs every draw.
//
// # Options
//
// [Options] say what to draw and what to check: Input draws the start state;
// Payloads draws the payload of an event by the name of its On; Activities
// stands in for Call activities by path; Invariant
// checks the state; Resting lists the waits where the instance may stay
// forever; Upgrade is the next definition, with its migrations, to deploy
// mid-run; NoCrashes,
// NoDuplicates and NoCancel remove actions; LivenessSteps bounds the
// liveness phase; Actions adds actions, which drive the instance through a
// [*Sim]. Store and Host wrap the store and the engine, so the same run
// checks a storage adapter or a host of your own: a store implementing
// Crash() is told of every simulated crash, and a Store option may return
// an entirely different store, such as a bbolt file.
//
// # Coverage
//
// [Check] returns a [*Coverage]: for every statement where a thread can
// wait (Wait, Call, WaitFor, Join) and every event the simulator can cause
// (deliveries and timers by wait, activity successes and failures,
// cancellations by position, the ways the instance ends), how many times
// the runs reached it, zero for never. When the runs pass it is logged
// (go test -v shows it); [Coverage.Missed] lists what no run reached: a
// wait no payload gets past, a timer that always loses its race, a cancel
// never tried after the payment. Steps and branches run inside a
// transition and are not listed.
//
// # Upgrade verification
//
// [Verify] is the offline side of [Options.Upgrade]: given a new definition
// (with its migrations) and a store, such as a bbolt file copied from
// production and opened read-only, it checks every stored instance of the
// workflow without writing anything. The state must decode into the new
// state type after upcasting, every position and pending wait must resolve
// after the path migrations, and with [VerifyOptions.Schedules] > 0 the
// simulator's liveness phase drives each running instance to its end under
// the new definition, on schedules drawn from [VerifyOptions.Seed]. Each
// verdict is an [InstanceReport] whose Cause is one of the Cause constants.
//
// # What it is not
//
// It is random testing, not a proof: it explores the schedules it draws,
// within the number of checks and steps. Swarm configurations and goals
// get runs deep, but a wait whose handler rejects every drawn payload
// stays a wall: give the check payloads that make progress, or Actions
// that drive the workflow there, and read the coverage report.
//
// It runs one instance at a time, in one goroutine, under a fake clock; it
// does not test the engine's worker pool, real time, or several instances
// sharing a store. It runs your activity functions for real on every
// simulated success, so activities that talk to other systems need test
// doubles. It does not check that a storage adapter meets the whole store
// contract (package storage/storagetest does that). [Check] starts every
// run from an instance it creates; [Verify] is the one that reads stored
// instances.
package simulate
