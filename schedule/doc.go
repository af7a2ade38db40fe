// Package schedule runs workflows on a schedule: a cron spec in a time zone
// or a fixed interval, with an overlap policy, a catch-up window after
// downtime, and pause, resume, trigger, update and delete.
//
// Schedules are durable and need no process of their own: each is an
// instance (ID "schedule/NAME") of the built-in [Workflow], kept in the
// engine's store like any other. So they survive restarts, any process
// running the engine over the store drives them (with engine.WithLeases,
// exactly one at a time), and weft inspect lists them with the other
// instances. Create them with a [Scheduler]:
//
//	s, err := schedule.New(e, []*dsl.Definition{report}, schedule.WithClock(clock))
//	err = s.Create(ctx, schedule.Spec{Name: "nightly", Cron: "30 2 * * *",
//		TimeZone: "Europe/Paris", Workflow: report, Input: Report{}})
//
// # How it works
//
// The schedule's workflow waits, in a loop, for the timer of its next fire
// time and for its control events (pause, resume, trigger, update,
// delete). When the timer fires, the fire is recorded in its state and the
// wait is entered again; each entry emits the setup of a custom event
// whose handler, the launcher, runs in the engine (like any setup): it
// starts the pending fires' runs, applying the overlap policy (it looks
// at the status of the last run started) and the catch-up window (it
// reads the clock), computes the next fire time with
// github.com/robfig/cron/v3, and answers the wait with what it did. The
// workflow itself reads no clock: time enters through the launcher's
// answer and the control events, as everywhere in weft.
//
// # Guarantees
//
//   - Each fire starts its run at most once: the run's ID is the schedule
//     name and the fire time ("nightly@2026-03-09T01:30:00Z"; a trigger
//     "nightly@manual-TIME"), and a launch performed again (the engine
//     retries a setup until it is acknowledged, after a crash for
//     example) finds the run it started. A fire stays pending until a
//     launch's answer is committed, so each fire is launched (started,
//     skipped by the overlap policy, or missed) exactly once.
//   - A fire is performed when the engine resumes the schedule, at or
//     after the fire time. After downtime, the fires missed are run if they
//     are at most Spec.CatchUp old (default [DefaultCatchUp]), under the
//     overlap policy, in order; older ones are counted in Info.Missed.
//   - Pausing stops the timer; resuming starts again from the first fire
//     after now (a pause is not downtime: nothing is caught up).
//
// Fire times are those of robfig/cron in the time zone: a wall time that
// a daylight-saving change skips does not fire that day, and one it
// repeats fires twice. Intervals (Spec.Every) fire at multiples of the
// interval since the Unix epoch, so an hourly schedule fires on the hour.
//
// # Tests
//
// Give the engine and the Scheduler one engine.FakeClock, set it to each
// fire time (Info.Next) and Drain the engine: the schedule fires, its runs
// start, and their effects are performed, deterministically.
package schedule
