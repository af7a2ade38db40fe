package schedule

import (
	"time"

	"github.com/weftflow/weft/dsl"
)

// WorkflowName is the name of the built-in workflow every schedule is an
// instance of, and instancePrefix the prefix of their IDs.
const (
	WorkflowName   = "weft.schedule"
	instancePrefix = "schedule/"
	launchType     = "weft.schedule.launch" // the custom event type of the launcher
)

// State is the state of a schedule's instance. It is exported so that
// tools can decode it (weft inspect shows it); change it only through the
// [Scheduler].
type State struct {
	Spec     stored
	Next     time.Time // the next fire time; zero while paused or until the launcher computes it
	Paused   bool
	Pending  []Fire    // fires not yet launched
	LastRun  string    // the ID of the last run started
	Buffered *Fire     `cbor:",omitempty"` // OverlapBufferOne: the fire waiting for LastRun to end
	Recheck  time.Time // when to look at LastRun again for Buffered
	Recent   []string  // the IDs of the last runs started, newest last (at most keepRecent)
	Started  int       // runs started
	Skipped  int       // fires skipped by the overlap policy
	Missed   int       // fires older than the catch-up window (counted up to maxExpand per launch)
	// Exhausted: the timing has no fire after the last launch (a cron
	// spec past its last match); Update or Resume look again.
	Exhausted bool `cbor:",omitempty"`
}

// Fire is one firing of a schedule: its time, and whether it was a
// [Scheduler.Trigger].
type Fire struct {
	At     time.Time
	Manual bool `cbor:",omitempty"`
}

// keepRecent bounds State.Recent.
const keepRecent = 10

// wake is when the armed wait's timer fires: the next fire, or the
// buffered fire's recheck if earlier.
func (s *State) wake() time.Time {
	if s.Buffered != nil && !s.Recheck.IsZero() && s.Recheck.Before(s.Next) {
		return s.Recheck
	}
	return s.Next
}

// armed reports whether the schedule waits for a time: it is running and
// knows its next fire.
func (s *State) armed() bool { return !s.Paused && !s.Next.IsZero() }

// timerFired records that the armed wait's timer fired: the fire at Next
// is pending (the launcher computes the next one), or the recheck is due.
func timerFired(s *State) error {
	if w := s.wake(); w.Equal(s.Next) {
		s.Pending = append(s.Pending, Fire{At: s.Next})
		s.Next = time.Time{}
	} else {
		s.Recheck = time.Time{}
	}
	return nil
}

// Launched is the launcher's answer: what it did with the pending fires
// (all of them), the next fire time, and the buffered fire.
type Launched struct {
	Next     time.Time
	LastRun  string
	Buffered *Fire `cbor:",omitempty"`
	Recheck  time.Time
	Started  []string `cbor:",omitempty"`
	Skipped  int      `cbor:",omitempty"`
	Missed   int      `cbor:",omitempty"`
	// Exhausted: no fire time follows now.
	Exhausted bool `cbor:",omitempty"`
}

// launchRequest is the setup data of the launcher's wait: what the
// launcher needs from the state.
type launchRequest struct {
	Spec     stored
	Next     time.Time
	Paused   bool
	Pending  []Fire `cbor:",omitempty"`
	LastRun  string `cbor:",omitempty"`
	Buffered *Fire  `cbor:",omitempty"`
	Recheck  time.Time
	// Exhausted: an earlier launch found no next fire time.
	Exhausted bool `cbor:",omitempty"`
}

// work reports whether the launcher has something to do for r.
func (r launchRequest) work() bool {
	return len(r.Pending) > 0 || (!r.Paused && r.Next.IsZero() && !r.Exhausted) || (r.Buffered != nil && r.Recheck.IsZero())
}

// launcher is the custom event of the launcher's wait: its setup asks the
// engine-side launcher (see launch.go) to launch the pending fires and
// compute the next fire time; the launcher answers with a Launched.
type launcher struct{}

// Setup is the request: the state as the launcher needs it.
func (launcher) Setup(s *State) any {
	return launchRequest{Spec: s.Spec, Next: s.Next, Paused: s.Paused, Pending: s.Pending, LastRun: s.LastRun,
		Buffered: s.Buffered, Recheck: s.Recheck, Exhausted: s.Exhausted}
}

// Handle applies the launcher's answer. The state is the one the request
// was made from: any other event resolves the wait, and the answer is then
// refused as stale (the next wait asks again).
func (launcher) Handle(s *State, l Launched) (bool, error) {
	s.Pending = nil
	s.Next, s.LastRun, s.Buffered, s.Recheck, s.Exhausted = l.Next, l.LastRun, l.Buffered, l.Recheck, l.Exhausted
	s.Started += len(l.Started)
	s.Skipped += l.Skipped
	s.Missed += l.Missed
	s.Recent = append(s.Recent, l.Started...)
	if n := len(s.Recent); n > keepRecent {
		s.Recent = append([]string(nil), s.Recent[n-keepRecent:]...)
	}
	return true, nil
}

// The control events, sent by the Scheduler.

type pauseEvent struct{}

type resumeEvent struct{}

type triggerEvent struct{ At time.Time }

type updateEvent struct{ Spec stored }

type deleteEvent struct{}

func pause(s *State, _ pauseEvent) (bool, error) {
	s.Paused, s.Next = true, time.Time{}
	return true, nil
}

// resume clears Next: the launcher computes the first fire after the
// resume, so fires missed while paused are not caught up.
func resume(s *State, _ resumeEvent) (bool, error) {
	s.Paused, s.Next, s.Exhausted = false, time.Time{}, false
	return true, nil
}

func trigger(s *State, t triggerEvent) (bool, error) {
	s.Pending = append(s.Pending, Fire{At: t.At, Manual: true})
	return true, nil
}

func update(s *State, u updateEvent) (bool, error) {
	s.Spec, s.Next, s.Exhausted = u.Spec, time.Time{}, false
	return true, nil
}

func remove(s *State, _ deleteEvent) (bool, error) { return true, nil }

// controls are the Ons of both waits, after the launcher's.
func waitFor(name string, timer bool) dsl.Stmt {
	ons := []dsl.OnClause{
		dsl.On("launched", dsl.Custom[State, Launched, bool](launchType, launcher{})),
	}
	if timer {
		ons = append(ons, dsl.On("timer", dsl.At(func(s *State) time.Time { return s.wake() }),
			dsl.Step("fire", timerFired)))
	}
	ons = append(ons,
		dsl.On("pause", dsl.Signal(pause)),
		dsl.On("resume", dsl.Signal(resume)),
		dsl.On("trigger", dsl.Signal(trigger)),
		dsl.On("update", dsl.Signal(update)),
		dsl.On("delete", dsl.Signal(remove), dsl.Return("deleted")),
	)
	return dsl.Wait(name, ons...)
}

// Workflow is the built-in workflow every schedule is an instance of
// (named [WorkflowName]). [New] registers it; list it in a cli.Program's
// Definitions so that weft inspect shows schedules' state typed.
//
// It loops at one wait: "armed" (with a timer at the next fire) while the
// schedule runs and knows its next fire, "idle" otherwise. Each time a
// wait is entered, the launcher's custom event emits a setup: the engine
// side (launch.go) starts the runs of pending fires, computes the next fire
// time from the clock, and answers the wait. Time enters only there and in
// the control events' payloads: the workflow itself reads no clock.
var Workflow = dsl.MustCompile[State](WorkflowName, dsl.For("fires",
	dsl.If("armed", func(s *State) bool { return s.armed() }, waitFor("armed", true)).
		Else(waitFor("idle", false)),
))
