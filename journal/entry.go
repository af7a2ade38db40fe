package journal

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/internal/unixns"
)

// Entry is one journal entry: what one committed transition did. Encoded
// (see [Encode]) it is a CBOR map with integer keys, so that renaming a Go
// field never changes what is stored.
type Entry struct {
	// Seq is the instance's transition count after this transition (1
	// for the start): entries of one instance have increasing Seq.
	Seq uint64 `cbor:"1,keyasint"`
	// At is when the transition was committed, by the engine's clock, in
	// UTC. It is stored as the integer of its Unix nanoseconds (0 for the
	// zero time), as when this field was an int64.
	At time.Time `cbor:"2,keyasint"`
	// Version is the definition version that applied the event.
	Version int `cbor:"3,keyasint,omitempty"`
	// Event is the event as received.
	Event Event `cbor:"4,keyasint"`
	// Effects are the effects the transition emitted, in order.
	Effects []Effect `cbor:"5,keyasint,omitempty"`
	// Moves say where each thread was before and after the transition.
	Moves []Move `cbor:"6,keyasint,omitempty"`
	// StateSize is the size in bytes of the encoded state after it.
	StateSize int `cbor:"7,keyasint,omitempty"`
	// Status is the instance's status after it ("running", "completed",
	// ...).
	Status string `cbor:"8,keyasint,omitempty"`
	// Migrated lists the definition versions the instance was migrated
	// from before the event was handled, if this transition migrated it.
	Migrated []int `cbor:"9,keyasint,omitempty"`
	// Start is the start event when one commit started the instance and
	// then handled Event (signal-with-start): Seq is then 2, and Effects
	// holds both transitions' effects.
	Start *Event `cbor:"10,keyasint,omitempty"`
}

// Event is an event as the journal keeps it.
type Event struct {
	// Kind is "start", "resume", "callback", "signal" (a custom event
	// sent by name, answered at once or buffered) or "cancel".
	Kind string `cbor:"1,keyasint"`
	// Name is the event answered by a callback or sent by a signal (the
	// On name; empty for an activity result, whose Call is Path).
	Name string `cbor:"2,keyasint,omitempty"`
	// Trigger is what the callback was: "timer", "custom" or "activity".
	Trigger string `cbor:"3,keyasint,omitempty"`
	// Path and Thread are the statement and thread that waited for it.
	Path   string `cbor:"4,keyasint,omitempty"`
	Thread string `cbor:"5,keyasint,omitempty"`
	// Callback is the callback answered.
	Callback uint64 `cbor:"6,keyasint,omitempty"`
	// Payload is the CBOR payload (a start event's input, a custom
	// event's payload, an activity's result) after redaction, if it was
	// not larger than the policy's MaxPayload.
	Payload []byte `cbor:"7,keyasint,omitempty"`
	// Hash is the SHA-256 of a payload too large to keep (after
	// redaction), and Size its size in bytes; Size is set for every
	// payload.
	Hash []byte `cbor:"8,keyasint,omitempty"`
	Size int    `cbor:"9,keyasint,omitempty"`
	// Redacted says the policy's redaction function changed the payload.
	Redacted bool `cbor:"10,keyasint,omitempty"`
	// Error is a failed activity attempt's error.
	Error string `cbor:"11,keyasint,omitempty"`
}

// Effect is an effect as the journal keeps it: enough to name it (its ID,
// which receivers de-duplicate on) and say what it was for, not its data.
type Effect struct {
	ID       string `cbor:"1,keyasint"`
	Kind     string `cbor:"2,keyasint"` // "setup", "teardown", "run-activity", "completed", ...
	Thread   string `cbor:"3,keyasint,omitempty"`
	Path     string `cbor:"4,keyasint,omitempty"`
	Event    string `cbor:"5,keyasint,omitempty"`
	Callback uint64 `cbor:"6,keyasint,omitempty"`
	Error    string `cbor:"7,keyasint,omitempty"` // a failure's message
}

// Move is one thread's position before and after a transition.
type Move struct {
	Thread string `cbor:"1,keyasint"`
	From   string `cbor:"2,keyasint,omitempty"` // the statement path before
	To     string `cbor:"3,keyasint,omitempty"` // the statement path after
	// Started and Ended say the thread did not exist before, or does not
	// after.
	Started bool `cbor:"4,keyasint,omitempty"`
	Ended   bool `cbor:"5,keyasint,omitempty"`
}

// Encode returns the CBOR of e.
func Encode(e Entry) ([]byte, error) {
	b := appendEntry(make([]byte, 0, 128+len(e.Event.Payload)+48*len(e.Effects)), e)
	if err := checkSize(b, e); err != nil {
		return nil, err
	}
	return b, nil
}

// Decode decodes an entry that Encode wrote. Damaged bytes give an error
// matching codec.ErrCorrupt.
func Decode(b []byte) (Entry, error) {
	var w entryWire
	if err := decode.Into("journal entry", b, &w); err != nil {
		return Entry{}, fmt.Errorf("journal: %w", err)
	}
	return w.entry(), nil
}

// entryWire is the stored form of an Entry for the generic codec: the
// same fields and keys, At as int64 Unix nanoseconds (TestEncodeMatchesCodec
// holds Encode to it).
type entryWire struct {
	Seq       uint64   `cbor:"1,keyasint"`
	At        int64    `cbor:"2,keyasint"`
	Version   int      `cbor:"3,keyasint,omitempty"`
	Event     Event    `cbor:"4,keyasint"`
	Effects   []Effect `cbor:"5,keyasint,omitempty"`
	Moves     []Move   `cbor:"6,keyasint,omitempty"`
	StateSize int      `cbor:"7,keyasint,omitempty"`
	Status    string   `cbor:"8,keyasint,omitempty"`
	Migrated  []int    `cbor:"9,keyasint,omitempty"`
	Start     *Event   `cbor:"10,keyasint,omitempty"`
}

func (e Entry) wire() entryWire {
	return entryWire{Seq: e.Seq, At: unixNano(e.At), Version: e.Version, Event: e.Event, Effects: e.Effects, Moves: e.Moves,
		StateSize: e.StateSize, Status: e.Status, Migrated: e.Migrated, Start: e.Start}
}

func (w entryWire) entry() Entry {
	return Entry{Seq: w.Seq, At: unixTime(w.At), Version: w.Version, Event: w.Event, Effects: w.Effects, Moves: w.Moves,
		StateSize: w.StateSize, Status: w.Status, Migrated: w.Migrated, Start: w.Start}
}

// MarshalCBOR returns [Encode] of e, so that codec.Marshal of an Entry
// writes At as stored, not as codec's RFC 3339 text.
func (e Entry) MarshalCBOR() ([]byte, error) { return Encode(e) }

// UnmarshalCBOR decodes what [Entry.MarshalCBOR] wrote, as [Decode] does,
// replacing all of *e.
func (e *Entry) UnmarshalCBOR(data []byte) error {
	var w entryWire
	if err := decode.Into("journal entry", data, &w); err != nil {
		var de *codec.DecodeError
		if errors.As(err, &de) && de.Err != nil {
			return de.Err // the codec call that invoked this method wraps it
		}
		return err
	}
	*e = w.entry()
	return nil
}

// unixTime and unixNano convert between Entry.At and the Unix nanoseconds
// it is stored as (internal/unixns).
func unixTime(ns int64) time.Time { return unixns.Time(ns) }
func unixNano(t time.Time) int64  { return unixns.Nano(t) }

// String says in plain words what the entry records, on one line.
func (e Entry) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s ", e.Seq, e.At.UTC().Format(time.RFC3339Nano))
	if e.Start != nil {
		fmt.Fprintf(&b, "%s, and in the same commit ", e.Start.describe())
	}
	b.WriteString(e.Event.describe())
	if len(e.Migrated) > 0 {
		fmt.Fprintf(&b, " (migrated from version %v to %d)", e.Migrated, e.Version)
	}
	for _, m := range e.Moves {
		switch {
		case m.Started:
			fmt.Fprintf(&b, "; thread %s starts at %s", m.Thread, pathName(m.To))
		case m.Ended:
			fmt.Fprintf(&b, "; thread %s ends (was at %s)", m.Thread, pathName(m.From))
		case m.From != m.To:
			fmt.Fprintf(&b, "; thread %s moves %s -> %s", m.Thread, pathName(m.From), pathName(m.To))
		}
	}
	for _, f := range e.Effects {
		fmt.Fprintf(&b, "; emits %s", f.Kind)
		if f.Event != "" {
			fmt.Fprintf(&b, " %q", f.Event)
		}
		if f.Path != "" {
			fmt.Fprintf(&b, " at %s", f.Path)
		}
		if f.Error != "" {
			fmt.Fprintf(&b, " (%s)", f.Error)
		}
		fmt.Fprintf(&b, " [%s]", f.ID)
	}
	if e.Status != "" && e.Status != "running" {
		fmt.Fprintf(&b, "; now %s", e.Status)
	}
	return b.String()
}

func (ev Event) describe() string {
	var b strings.Builder
	switch ev.Kind {
	case "callback":
		switch ev.Trigger {
		case "timer":
			fmt.Fprintf(&b, "timer %q fired", ev.Name)
		case "activity":
			if ev.Error != "" {
				fmt.Fprintf(&b, "activity %q failed: %s", ev.Path, ev.Error)
			} else {
				fmt.Fprintf(&b, "activity %q returned", ev.Path)
			}
			return b.String() + ev.payloadText()
		default:
			fmt.Fprintf(&b, "event %q received", ev.Name)
		}
		if ev.Path != "" {
			fmt.Fprintf(&b, " at %s", ev.Path)
		}
	case "signal":
		fmt.Fprintf(&b, "event %q sent", ev.Name)
	case "start":
		b.WriteString("started")
	case "resume":
		b.WriteString("resumed")
	case "cancel":
		b.WriteString("cancel requested")
	default:
		b.WriteString(ev.Kind)
	}
	return b.String() + ev.payloadText()
}

// payloadText says what payload came with the event.
func (ev Event) payloadText() string {
	var s string
	switch {
	case len(ev.Hash) >= 6:
		s = fmt.Sprintf(" with a %d-byte payload (sha256 %x...)", ev.Size, ev.Hash[:6])
	case ev.Payload != nil:
		s = " with " + payloadText(ev.Payload)
	}
	if ev.Redacted {
		s += " (redacted)"
	}
	return s
}

// payloadText renders CBOR for people, short.
func payloadText(p []byte) string {
	var v any
	if err := decode.Into("payload", p, &v); err != nil {
		return fmt.Sprintf("%d bytes", len(p))
	}
	s := fmt.Sprint(v)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func pathName(p string) string {
	if p == "" {
		return "the start"
	}
	return p
}
