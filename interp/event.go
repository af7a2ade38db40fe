package interp

import "time"

// EventKind says what an event is.
type EventKind uint8

// Event kinds.
const (
	// EventStart begins an instance: Apply's state argument is the initial state
	// and its meta the zero Meta.
	EventStart EventKind = iota + 1
	// EventResume continues runnable threads, retries steps whose backoff has
	// passed and fires due timers. Hosts send it at or after Meta.Due.
	EventResume
	// EventCallback answers one pending callback: a timer firing, a custom event
	// with its payload, or an activity's result or error.
	EventCallback
	// EventCancel tears down every pending wait and runs the cleanup section.
	EventCancel
	// EventSignal sends the custom event named Event.Name: it answers the
	// first thread, in thread-ID order, that waits for that name (as a
	// Callback would), and if none does, it goes to the instance's inbox
	// (Meta.Inbox) until a wait that takes it opens. See [Buffered].
	EventSignal
	// EventTerminate ends the instance at once, whatever its position: it runs
	// no workflow code (not even the cleanup section), tears down every
	// pending wait from the meta alone (so it works where a position no
	// longer resolves), and records Reason and By (see [Termination]).
	EventTerminate
)

var eventNames = [...]string{"", "start", "resume", "callback", "cancel", "signal", "terminate"}

// String names the event kind.
func (k EventKind) String() string {
	if int(k) < len(eventNames) && k > 0 {
		return eventNames[k]
	}
	return "event?"
}

// Event is one input to [Apply]. Time is the only clock the interpreter
// knows: timers are measured from it and retries scheduled after it.
type Event struct {
	Kind     EventKind
	Time     time.Time
	Instance string // Start: the instance ID (used in effect IDs)
	Callback uint64 // Callback: the pending callback answered
	Payload  []byte // Callback: CBOR of a custom event's payload or an activity's result
	Error    string // Callback for an activity: non-empty when the attempt failed

	// Signal: the custom event's name (the name of its On), and how many
	// events the inbox may hold (0 means DefaultInboxLimit). Payload is
	// the event's payload.
	Name       string
	InboxLimit int

	Reason string // Terminate: why the instance is ended
	By     string // Terminate: who ended it
}
