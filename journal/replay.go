package journal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// Divergence is the first point where a definition, replaying recorded
// events, does something other than what the recorded version did.
type Divergence struct {
	// Seq is the entry whose event the new definition handled
	// differently.
	Seq uint64
	// Reason says how, in a few words: "rejected", "position lost",
	// "effects differ", "status differs", "no such wait", "payload not
	// kept".
	Reason string
	// Recorded and Replayed are the effects (kind, event, thread) or
	// statuses of the two versions, where they differ.
	Recorded, Replayed []string
	// Err is the interpreter's error, for a rejection or a lost position.
	Err error
}

func (d *Divergence) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "entry #%d: %s", d.Seq, d.Reason)
	if d.Err != nil {
		fmt.Fprintf(&b, ": %v", d.Err)
	}
	if d.Recorded != nil || d.Replayed != nil {
		fmt.Fprintf(&b, " (recorded %v, replayed %v)", d.Recorded, d.Replayed)
	}
	return b.String()
}

// Replay runs the events recorded in entries through def, the way the
// instance id went through them, and returns how many it replayed and the
// first divergence (nil if def did what the recorded version did at every
// entry). It compares what a deploy would change for this instance: the
// effects each event emits (by kind, event and thread: the IDs follow),
// whether an event is accepted, and the status; activity results and
// timers are taken from the journal, not re-run, so that it checks what
// def does with real traffic, not whether the code is deterministic.
//
// entries must hold every transition from where they start (one entry
// per commit: a commit of two transitions, as a signal-with-start or a new
// run over a terminated one, is one entry), starting with the instance's
// first entry
// (Seq 1, whose payload is the start input: base is nil) or at a snapshot
// (base is the entry's [storage.JournalEntry.Base], the record before
// it). A start entry on an instance that ran before is a new run of its ID
// (engine.WithIDReuse). An event whose payload the journal did not keep (too large, or
// redacted) cannot be replayed: the replay stops there with the reason
// "payload not kept". Errors are for entries that cannot be replayed at
// all (damaged, or missing transitions).
//
// An instance meets a new version after it started: give the versions
// that recorded the journal with [StartedBy], and a start entry recorded
// by another version than def is applied by that version, so that def
// meets the instance at its next event, through its migrations, as a
// deploy would have it. Without it, def starts the instance too, and a
// version that changes how instances begin differs at the first entry.
func Replay(def *dsl.Definition, id string, base []byte, entries []Entry, opts ...Option) (int, *Divergence, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if len(entries) == 0 {
		return 0, nil, nil
	}
	var state []byte
	var meta interp.Meta
	switch {
	case len(base) > 0:
		rec, err := codec.DecodeRecord(base)
		if err != nil {
			return 0, nil, fmt.Errorf("journal: replay %q: snapshot: %w", id, err)
		}
		if meta, err = interp.DecodeMeta(rec.Meta); err != nil {
			return 0, nil, fmt.Errorf("journal: replay %q: snapshot: %w", id, err)
		}
		state = rec.State
	case entries[0].Seq != 1 && entries[0].Start == nil:
		return 0, nil, fmt.Errorf("journal: replay %q: %w: the first entry kept is #%d, with no snapshot", id, ErrNoJournal, entries[0].Seq)
	}
	for i, en := range entries {
		if i > 0 && en.Seq <= entries[i-1].Seq {
			return i, nil, fmt.Errorf("journal: replay %q: entry #%d follows #%d", id, en.Seq, entries[i-1].Seq)
		}
		var started []interp.Effect // a signal-with-start's start effects
		if en.Start != nil {
			// A signal-with-start: the instance's first entry, or the
			// first after a snapshot of a finished instance (the
			// tombstone of one deleted by retention).
			if i > 0 || (len(base) > 0 && !meta.Status.Finished()) {
				return i, nil, fmt.Errorf("journal: replay %q: entry #%d starts the instance, but it has started", id, en.Seq)
			}
			st := Entry{Seq: 1, At: en.At, Event: *en.Start}
			sev, div := replayEvent(meta, id, st)
			if div != nil {
				div.Seq = en.Seq
				return i, div, nil
			}
			startEv := interp.Event{Kind: interp.EventStart, Time: sev.Time, Instance: id}
			var res interp.Result
			var err error
			if meta.Seq > 0 {
				res, err = interp.Restart(o.starter(def, en.Version), sev.Payload, meta, startEv)
			} else {
				res, err = interp.Apply(o.starter(def, en.Version), sev.Payload, meta, startEv)
			}
			if err != nil {
				return i, &Divergence{Seq: en.Seq, Reason: "rejected", Err: err}, nil
			}
			state, meta, started = res.State, res.Meta, res.Effects
		}
		// Events are looked up in the meta as def sees it: an instance
		// of an older version is migrated by its next event, and its
		// waits answer to their new names and callbacks (as the engine
		// looks them up).
		view := meta
		if meta.Seq > 0 && int(max(meta.Version, 1)) < def.Version() {
			if up, err := interp.Upgrade(def, state, meta); err == nil {
				view = up.Meta
			}
		}
		ev, div := replayEvent(view, id, en)
		if div != nil {
			return i, div, nil
		}
		var res interp.Result
		var err error
		switch {
		case en.Event.Kind == "start" && meta.Seq > 0:
			// A new run of the ID (engine.WithIDReuse), after a
			// termination of the running one when the recorded effects
			// begin with it.
			if !meta.Status.Finished() {
				reason := ""
				if len(en.Effects) > 0 {
					for _, f := range en.Effects {
						if f.Kind == interp.EffectTerminated.String() {
							reason = f.Error
						}
					}
				}
				term, terr := interp.Apply(def, state, meta, interp.Event{Kind: interp.EventTerminate, Time: ev.Time, Reason: reason})
				if terr != nil {
					return i, &Divergence{Seq: en.Seq, Reason: "rejected", Err: terr}, nil
				}
				meta, started = term.Meta, term.Effects
			}
			res, err = interp.Restart(def, ev.Payload, meta, interp.Event{Kind: interp.EventStart, Time: ev.Time, Instance: id})
		case en.Event.Kind == "start":
			state = ev.Payload
			ev.Payload = nil
			res, err = interp.Apply(o.starter(def, en.Version), state, meta, ev)
		default:
			res, err = interp.Apply(def, state, meta, ev)
		}
		if err != nil {
			reason := "rejected"
			if errors.Is(err, interp.ErrPositionLost) {
				reason = "position lost"
			}
			return i, &Divergence{Seq: en.Seq, Reason: reason, Err: err}, nil
		}
		if rec, got := effectKeys(en.Effects), replayedKeys(append(started, res.Effects...)); !slices.Equal(rec, got) {
			return i, &Divergence{Seq: en.Seq, Reason: "effects differ", Recorded: rec, Replayed: got}, nil
		}
		if res.Meta.Seq != en.Seq {
			// The journal skips transitions (it was turned on late, or
			// entries are missing): what follows cannot be replayed.
			return i, nil, fmt.Errorf("journal: replay %q: entry #%d replays as transition #%d: the journal misses transitions before it", id, en.Seq, res.Meta.Seq)
		}
		if en.Status != "" && res.Meta.Status.String() != en.Status {
			return i, &Divergence{Seq: en.Seq, Reason: "status differs", Recorded: []string{en.Status}, Replayed: []string{res.Meta.Status.String()}}, nil
		}
		state, meta = res.State, res.Meta
	}
	return len(entries), nil, nil
}

// replayEvent rebuilds the event of en for an instance now at meta.
func replayEvent(meta interp.Meta, id string, en Entry) (interp.Event, *Divergence) {
	ev := interp.Event{Time: en.At, Error: en.Event.Error}
	if ev.Time.IsZero() {
		ev.Time = time.Unix(0, 0).UTC() // stored as 0: the epoch, as an int64 At read
	}
	if en.Event.Hash != nil || en.Event.Redacted {
		return ev, &Divergence{Seq: en.Seq, Reason: "payload not kept"}
	}
	switch en.Event.Kind {
	case "start":
		ev.Kind, ev.Instance, ev.Payload = interp.EventStart, id, en.Event.Payload
	case "resume":
		ev.Kind = interp.EventResume
	case "cancel":
		ev.Kind = interp.EventCancel
	case "terminate":
		ev.Kind, ev.Reason = interp.EventTerminate, en.Event.Error
	case "signal":
		ev.Kind, ev.Name, ev.Payload = interp.EventSignal, en.Event.Name, en.Event.Payload
	case "callback":
		ev.Kind, ev.Payload = interp.EventCallback, en.Event.Payload
		cb := waitingFor(meta, en.Event)
		if cb == 0 {
			return ev, &Divergence{Seq: en.Seq, Reason: "no such wait",
				Err: fmt.Errorf("no thread waits for %s %q (recorded at %s in thread %s)", en.Event.Trigger, en.Event.Name, en.Event.Path, en.Event.Thread)}
		}
		ev.Callback = cb
	default:
		return ev, &Divergence{Seq: en.Seq, Reason: "unknown event kind " + en.Event.Kind}
	}
	return ev, nil
}

// waitingFor finds the callback that answers the recorded event in meta:
// the same thread waiting for an event of the same kind and name (paths
// may have moved in a migration), else any thread that does.
func waitingFor(meta interp.Meta, rec Event) uint64 {
	var any uint64
	for _, th := range meta.Threads {
		for _, w := range th.Waits {
			if w.Kind.String() != rec.Trigger || w.Event != rec.Name {
				continue
			}
			if th.ID == rec.Thread {
				return w.Callback
			}
			if any == 0 {
				any = w.Callback
			}
		}
	}
	return any
}

func effectKeys(es []Effect) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Kind+" "+e.Event+" @"+e.Thread)
	}
	return out
}

func replayedKeys(es []interp.Effect) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Kind.String()+" "+e.Event+" @"+e.Thread)
	}
	return out
}

// ReadAll reads instance id's whole journal from j, with the snapshot its
// first kept entry starts from (nil if it is the instance's first entry).
func ReadAll(ctx context.Context, j storage.Journal, id string) (entries []Entry, base []byte, err error) {
	const page = 1000
	for from := uint64(0); ; {
		raw, err := j.ReadJournal(ctx, id, from, page)
		if err != nil {
			return nil, nil, fmt.Errorf("journal: read %q: %w", id, err)
		}
		for _, r := range raw {
			if len(entries) == 0 {
				base = r.Base
			}
			en, err := Decode(r.Data)
			if err != nil {
				return nil, nil, fmt.Errorf("journal: read %q, entry %d: %w", id, r.Seq, err)
			}
			if en.Seq != r.Seq {
				return nil, nil, fmt.Errorf("journal: read %q: entry stored as %d says %d: %w", id, r.Seq, en.Seq, codec.ErrCorrupt)
			}
			entries = append(entries, en)
		}
		if len(raw) < page {
			return entries, base, nil
		}
		from = raw[len(raw)-1].Seq + 1
	}
}

// ReplayStored replays instance id's journal, as kept in j, through def
// (see [Replay]), from its earliest starting point: the instance's first
// entry, or the first entry that carries a snapshot (a journal turned on
// while the instance ran begins with entries it cannot replay). An
// instance with no journal, or none it can start from, gives ErrNoJournal.
func ReplayStored(ctx context.Context, j storage.Journal, def *dsl.Definition, id string, opts ...Option) (int, *Divergence, error) {
	const page = 1000
	var entries []Entry
	var base []byte
	started := false
	for from := uint64(0); ; {
		raw, err := j.ReadJournal(ctx, id, from, page)
		if err != nil {
			return 0, nil, fmt.Errorf("journal: read %q: %w", id, err)
		}
		for _, r := range raw {
			en, err := Decode(r.Data)
			if err != nil {
				return 0, nil, fmt.Errorf("journal: read %q, entry %d: %w", id, r.Seq, err)
			}
			if !started {
				if r.Seq != 1 && len(r.Base) == 0 && en.Start == nil {
					continue // no starting point yet
				}
				started, base = true, r.Base
			}
			entries = append(entries, en)
		}
		if len(raw) < page {
			break
		}
		from = raw[len(raw)-1].Seq + 1
	}
	if len(entries) == 0 {
		return 0, nil, fmt.Errorf("journal: replay %q: %w", id, ErrNoJournal)
	}
	return Replay(def, id, base, entries, opts...)
}

// Option configures a replay.
type Option func(*options)

type options struct {
	recorded []*dsl.Definition
}

// StartedBy gives the replay the versions that recorded journals (today's
// definitions, when the replay checks an upgrade): a start is applied by
// the version that recorded it, if it is among them.
func StartedBy(defs ...*dsl.Definition) Option {
	return func(o *options) { o.recorded = append(o.recorded, defs...) }
}

// starter is the definition that applies a start entry recorded by
// version: that version if it was given (and is of def's workflow), else
// def.
func (o *options) starter(def *dsl.Definition, version int) *dsl.Definition {
	if version == def.Version() {
		return def
	}
	for _, d := range o.recorded {
		if d != nil && d.Name() == def.Name() && d.Version() == version {
			return d
		}
	}
	return def
}
