package interp

import (
	"fmt"
	"time"

	"github.com/weftflow/weft/internal/cborhead"
)

// StatusTerminated is the status of an instance ended by a [EventTerminate]
// event; no workflow code ran for it.
const StatusTerminated = StatusCanceled + 1

// Termination records who ended an instance with a [EventTerminate] event, why,
// and when. It is kept in [Meta.Terminated].
type Termination struct {
	Reason string    `cbor:"1,keyasint,omitempty"` // the event's Reason
	By     string    `cbor:"2,keyasint,omitempty"` // the event's By
	At     time.Time `cbor:"3,keyasint,omitempty"` // the time of the event
}

// terminate ends the instance for a Terminate event. It reads the meta
// only: no position is resolved, no state decoded, no migration applied,
// so it works for an instance whose positions the current definition no
// longer has, and even for a state that no longer decodes. Every pending
// wait is torn down as finishing would (a teardown for each setup, timers
// and activities canceled), then a Terminated effect closes the stream.
// The state is kept as it was.
func (m *machine) terminate(state []byte, ev Event) Result {
	for _, th := range m.meta.Threads {
		for _, p := range th.Waits {
			m.teardownAt(th.ID, th.Path, p)
		}
	}
	if len(m.meta.Inbox) > 0 {
		m.dropInbox("the instance was terminated before a wait took the event")
	}
	m.emit(Effect{Kind: EffectTerminated, Error: ev.Reason})
	m.meta.Seq++
	m.meta.Status = StatusTerminated
	m.meta.Threads = nil
	m.meta.Due = time.Time{}
	m.meta.Yielded = ""
	m.meta.Terminated = &Termination{Reason: ev.Reason, By: ev.By, At: unixTime(m.now)}
	for i := range m.effects {
		m.effects[i].ID = EffectID{Instance: m.meta.Instance, Seq: m.meta.Seq, Index: uint32(i)}
	}
	return Result{State: state, Meta: m.meta, Effects: m.effects}
}

// encodeTermination appends the CBOR of t, as codec.Marshal writes it.
func encodeTermination(b []byte, t *Termination) []byte {
	n := 0
	at := unixNano(t.At)
	for _, ok := range []bool{t.Reason != "", t.By != "", at != 0} {
		if ok {
			n++
		}
	}
	b = cborhead.Append(b, 5, uint64(n))
	if t.Reason != "" {
		b = cborhead.Text(cborhead.Append(b, 0, 1), t.Reason)
	}
	if t.By != "" {
		b = cborhead.Text(cborhead.Append(b, 0, 2), t.By)
	}
	if at != 0 {
		b = cborhead.Int(cborhead.Append(b, 0, 3), at)
	}
	return b
}

// finishedError is why a finished instance refuses an event: [ErrFinished],
// and for a terminated one [ErrTerminated] too, with who and why. The
// message says "terminated" once: `interp: instance finished: instance
// "x" is terminated (by "ops": "fraud")`.
func finishedError(meta Meta) error {
	e := &finishedErr{instance: meta.Instance, status: meta.Status}
	if meta.Status == StatusTerminated && meta.Terminated != nil {
		e.by, e.reason, e.why = meta.Terminated.By, meta.Terminated.Reason, true
	}
	return e
}

// finishedErr is the error of an event for a finished instance. Its text
// is built when read: hosts that resume instances to find out whether
// anything is due meet it often and rarely print it.
type finishedErr struct {
	instance   string
	status     Status
	by, reason string
	why        bool // a terminated instance's Termination was recorded
}

func (e *finishedErr) Error() string {
	s := fmt.Sprintf("%v: instance %q is %s", ErrFinished, e.instance, e.status)
	switch {
	case e.why && e.by != "":
		s += fmt.Sprintf(" (by %q: %q)", e.by, e.reason)
	case e.why:
		s += fmt.Sprintf(" (%q)", e.reason)
	}
	return s
}

// Unwrap returns ErrFinished, and ErrTerminated too for a terminated
// instance.
func (e *finishedErr) Unwrap() []error {
	if e.status == StatusTerminated {
		return finishedTerminated
	}
	return finishedOnly
}

// The errors a finishedErr wraps (shared: errors.Is and errors.As only
// read them).
var (
	finishedOnly       = []error{ErrFinished}
	finishedTerminated = []error{ErrFinished, ErrTerminated}
)
