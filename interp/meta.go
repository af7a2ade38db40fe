package interp

import (
	"time"

	"github.com/weftflow/weft/internal/position"
	"github.com/weftflow/weft/internal/unixns"
)

// Meta is the interpreter's bookkeeping for one instance, stored next to the
// state: where each thread is, what it waits for, and how the instance
// ended. The host persists it as it is returned and passes it back with the
// next event; it must not edit it.
//
// # Times
//
// Every time in a Meta (Due, Started, and the At of [Thread], [Pending],
// [Buffered] and [Termination]) is a time.Time in UTC, with no monotonic
// clock reading, and the zero time means "none". Stored, a time is the
// integer of its Unix nanoseconds under the field's key (absent when
// zero), so a time must lie within the years 1678 to 2262, and the Unix
// epoch itself reads back as "none"; the interpreter builds its times from
// int64 nanoseconds, so they always fit. [EncodeMeta], [DecodeMeta] and codec.Marshal and codec.Unmarshal
// (through [Meta.MarshalCBOR] and [Meta.UnmarshalCBOR]) all write and read
// that form; the cbor tags below give the keys.
type Meta struct {
	Instance     string    `cbor:"1,keyasint,omitempty"`  // the instance ID, from the start event
	Seq          uint64    `cbor:"2,keyasint,omitempty"`  // accepted transitions so far
	Status       Status    `cbor:"3,keyasint,omitempty"`  // lifecycle
	Threads      []Thread  `cbor:"4,keyasint,omitempty"`  // live threads, sorted by ID
	NextCallback uint64    `cbor:"5,keyasint,omitempty"`  // the last callback ID issued
	Due          time.Time `cbor:"6,keyasint,omitempty"`  // when the host must send Resume; zero: never
	Output       []byte    `cbor:"7,keyasint,omitempty"`  // CBOR of the Return value, when completed
	Failure      *Failure  `cbor:"8,keyasint,omitempty"`  // why it failed, when failed
	Recent       []uint64  `cbor:"9,keyasint,omitempty"`  // the last accepted callback IDs, newest last
	Started      time.Time `cbor:"10,keyasint,omitempty"` // the time of the start event
	Version      uint32    `cbor:"11,keyasint,omitempty"` // the definition version that last wrote it (0 means 1)
	Migrated     []uint32  `cbor:"12,keyasint,omitempty"` // the From of every migration applied to it, in order
	Yielded      string    `cbor:"13,keyasint,omitempty"` // the thread that ran out of budget last; the next Resume runs the others first

	// Inbox holds the events sent (by an [EventSignal]) while no thread waited
	// for them, oldest first, until a wait takes them; see [Buffered].
	Inbox []Buffered `cbor:"14,keyasint,omitempty"`
	// Terminated says who ended the instance and why, when it was
	// terminated (key 16: keys 14 and 15 are left to other additions).
	Terminated *Termination `cbor:"16,keyasint,omitempty"`
}

// recentCallbacks bounds Meta.Recent: a re-delivery of one of the last
// recentCallbacks accepted callbacks is reported as a duplicate, an older one
// as stale. Both are rejected and change nothing.
const recentCallbacks = 16

// Status is an instance's lifecycle state.
type Status uint8

// Statuses. Only Running and Canceling instances accept events.
const (
	StatusRunning   Status = iota // started, not finished (the zero value is what Start produces)
	StatusCompleted               // a Return ran, or the main body ended
	StatusFailed                  // a Fail ran, or a step or call ran out of attempts
	StatusCanceling               // a cancel event arrived; the cleanup section runs
	StatusCanceled                // canceled, cleanup (if any) ended
)

var statusNames = [...]string{"running", "completed", "failed", "canceling", "canceled", "terminated"}

// String names the status ("running", "completed", ...).
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status?"
}

// Finished reports whether the instance accepts no more events.
func (s Status) Finished() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCanceled || s == StatusTerminated
}

// Thread is one thread's position: a statement path in the definition and a
// phase saying what the thread does there. Resolving Path in the current
// definition, not an index, is what lets definitions change under running
// instances.
type Thread struct {
	ID      string    `cbor:"1,keyasint"`           // "main", "cancel", a Go name, or name[id]
	Path    string    `cbor:"2,keyasint,omitempty"` // the statement's path ("" is the main body)
	Phase   Phase     `cbor:"3,keyasint,omitempty"`
	Attempt uint32    `cbor:"4,keyasint,omitempty"` // failed attempts of the step at Path
	At      time.Time `cbor:"5,keyasint,omitempty"` // Retry: when the next attempt is due
	Waits   []Pending `cbor:"6,keyasint,omitempty"` // Waiting at a Wait or Call: the callbacks that can resume it
}

// Phase says what a thread does at its statement.
type Phase uint8

// Phases. Enter, Exit, Iterate and Start are runnable: a transition that ran
// out of budget left the thread there, and the next Resume continues it.
const (
	PhaseEnter   = Phase(position.Enter)   // about to run the statement
	PhaseExit    = Phase(position.Exit)    // the statement is done; continue with what follows it in the current definition
	PhaseIterate = Phase(position.Iterate) // about to test a loop's condition and run its next iteration
	PhaseStart   = Phase(position.Start)   // a new thread about to run its body (Path is the Go statement or a root)
	PhaseWaiting = Phase(position.Waiting) // parked at a Wait, Call, WaitFor or Join
	PhaseRetry   = Phase(position.Retry)   // parked until At before the next attempt of a failed step
)

// String names the phase ("waiting", "retry", ...).
func (p Phase) String() string { return position.Phase(p).String() }

// Runnable reports whether a thread in this phase continues on Resume.
func (p Phase) Runnable() bool { return p <= PhaseStart }

// Pending is one callback a waiting thread accepts.
type Pending struct {
	Callback uint64      `cbor:"1,keyasint"`           // the ID a callback event names
	Event    string      `cbor:"2,keyasint,omitempty"` // the On name (empty for a Call)
	Kind     TriggerKind `cbor:"3,keyasint"`
	At       time.Time   `cbor:"4,keyasint,omitempty"` // Timer: the deadline; Activity: not before
	Attempt  uint32      `cbor:"5,keyasint,omitempty"` // Activity: 1 for the first attempt
	Setup    bool        `cbor:"6,keyasint,omitempty"` // a setup effect was emitted; a teardown is owed
	Type     string      `cbor:"7,keyasint,omitempty"` // Setup: the custom event's type, to route the teardown; Child: the child's workflow
	Child    string      `cbor:"8,keyasint,omitempty"` // Child: the child instance's ID
	OnEnd    uint8       `cbor:"9,keyasint,omitempty"` // Child: the dsl.ParentEndPolicy
}

// TriggerKind is what resolves a pending callback.
type TriggerKind uint8

// Trigger kinds.
const (
	Timer    TriggerKind = iota + 1 // an After or At timer
	Custom                          // a custom event with a payload
	Activity                        // the result of a Call attempt
	Child                           // the end of a Child's instance (payload: a [ChildOutcome])
)

// String names the trigger kind.
func (k TriggerKind) String() string {
	switch k {
	case Timer:
		return "timer"
	case Custom:
		return "custom"
	case Activity:
		return "activity"
	case Child:
		return "child"
	}
	return "trigger?"
}

// Failure records why an instance failed.
type Failure struct {
	Path    string `cbor:"1,keyasint,omitempty"` // the statement that failed
	Thread  string `cbor:"2,keyasint,omitempty"`
	Message string `cbor:"3,keyasint"`
	Panic   bool   `cbor:"4,keyasint,omitempty"` // the failure is a panic in user code
}

// unixTime and unixNano convert between the meta's times and the Unix
// nanoseconds it stores (internal/unixns).
func unixTime(ns int64) time.Time { return unixns.Time(ns) }
func unixNano(t time.Time) int64  { return unixns.Nano(t) }
