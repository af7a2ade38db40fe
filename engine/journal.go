package engine

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/journal"
	"github.com/weftflow/weft/storage"
)

// WithJournal keeps a journal (package journal) for the instances of
// workflow under policy, or, with workflow "", for every workflow that
// has no policy of its own. Without it an engine keeps no journal. Each
// entry is written in the same atomic commit as the transition it
// records.
func WithJournal(workflow string, policy journal.Policy) Option {
	return func(e *Engine) error {
		if err := policy.Validate(); err != nil {
			return invalid("WithJournal", policy, err.Error())
		}
		if workflow == "" {
			e.journalAll, e.hasJournalAll = policy, true
			return nil
		}
		if e.journals == nil {
			e.journals = map[string]journal.Policy{}
		}
		e.journals[workflow] = policy
		return nil
	}
}

// journalPolicy returns the journal policy of workflow, if it keeps one.
func (e *Engine) journalPolicy(workflow string) (journal.Policy, bool) {
	if p, ok := e.journals[workflow]; ok {
		return p, true
	}
	return e.journalAll, e.hasJournalAll
}

// journalWrite returns what a transition appends to the journal of
// instance id, or nil if its workflow keeps none. before is the meta the
// event was applied to (the zero Meta for a start) and base the stored
// record it was applied to (nil for a start), kept as a snapshot when
// the policy wants one at this entry. start, if not nil, is the start
// of a commit that started the instance and then applied ev
// (signal-with-start); res is then both transitions'.
func (e *Engine) journalWrite(id string, def *dsl.Definition, before *interp.Meta, base []byte, ev *interp.Event, res *interp.Result, start *journalStart) (*storage.JournalWrite, error) {
	p, ok := e.journalPolicy(def.Name())
	if !ok {
		return nil, nil
	}
	waits := before // what ev answered: the waits before it
	if start != nil {
		waits = &start.meta // the waits the start opened
	}
	t := journal.Transition{
		Seq:       res.Meta.Seq,
		At:        ev.Time,
		Version:   def.Version(),
		Event:     journalEvent(*waits, *ev),
		Effects:   res.Effects,
		Before:    before.Threads,
		After:     res.Meta.Threads,
		StateSize: len(res.State),
		Status:    res.Meta.Status.String(),
	}
	if n := len(res.Meta.Migrated) - len(before.Migrated); n > 0 {
		for _, v := range res.Meta.Migrated[len(before.Migrated):] {
			t.Migrated = append(t.Migrated, int(max(v, 1)))
		}
	}
	payloadName := t.Event.Name
	if ev.Kind == interp.EventStart {
		payloadName = "start"
	}
	if err := p.Payload(&t.Event, payloadName, ev.Payload); err != nil {
		return nil, opErr("", "", id, err)
	}
	if start != nil {
		t.Start = &journal.Event{Kind: start.event.Kind.String()}
		if err := p.Payload(t.Start, "start", start.event.Payload); err != nil {
			return nil, opErr("", "", id, err)
		}
	}
	data := t.Append(make([]byte, 0, journalSize(&t)))
	w := &storage.JournalWrite{Entry: storage.JournalEntry{Seq: t.Seq, Time: ev.Time, Data: data}}
	if every := p.SnapshotEvery(); every > 0 && t.Seq > 1 && (t.Seq-1)%every == 0 {
		// A starting point: the record before this entry, so that the
		// entries before it can go.
		w.Entry.Base = base
		w.Keep = &storage.JournalKeep{Last: p.Keep}
		if p.For > 0 {
			w.Keep.Since = ev.Time.Add(-p.For)
		}
	}
	return w, nil
}

// journalSize is room enough for the entry of t in practice (numbers
// below 2^32, effect kinds and statuses of a dozen bytes), so that
// Transition.Append allocates its buffer once: the strings it writes,
// with a few bytes for each head and key, and each thread that may move
// written with its path twice (from and to).
func journalSize(t *journal.Transition) int {
	ev := &t.Event
	n := 96 + len(ev.Kind) + len(ev.Name) + len(ev.Trigger) + len(ev.Path) + len(ev.Thread) +
		len(ev.Payload) + len(ev.Hash) + len(ev.Error) + len(t.Status) + 10*len(t.Migrated)
	if s := t.Start; s != nil {
		n += 32 + len(s.Kind) + len(s.Payload) + len(s.Hash)
	}
	for i := range t.Effects {
		f := &t.Effects[i]
		n += 56 + len(f.ID.Instance) + len(f.Thread) + len(f.Path) + len(f.Event) + len(f.Error)
	}
	for i := range t.After {
		th := &t.After[i]
		n += 12 + len(th.ID) + 2*len(th.Path)
	}
	return n
}

// journalStart is the start of a signal-with-start's commit: the start
// event (its Payload the input) and the meta it gave, whose waits the
// signal's event may answer.
type journalStart struct {
	event interp.Event
	meta  interp.Meta
}

// journalEvent describes ev as the instance with meta before received it.
func journalEvent(before interp.Meta, ev interp.Event) journal.Event {
	je := journal.Event{Kind: ev.Kind.String(), Callback: ev.Callback, Error: ev.Error}
	switch ev.Kind {
	case interp.EventSignal:
		je.Name = ev.Name
	case interp.EventTerminate:
		je.Error = ev.Reason
	}
	if ev.Kind != interp.EventCallback {
		return je
	}
	for _, th := range before.Threads {
		for _, w := range th.Waits {
			if w.Callback == ev.Callback {
				je.Name, je.Path, je.Thread = w.Event, th.Path, th.ID
				je.Trigger = w.Kind.String()
				return je
			}
		}
	}
	return je
}

// History returns up to limit entries (all if limit < 1) of instance id's
// journal with Seq at least from, oldest first, decoded. An instance
// whose workflow keeps no journal has none: the result is empty.
func (e *Engine) History(ctx context.Context, id string, from uint64, limit int) ([]journal.Entry, error) {
	raw, err := e.store.ReadJournal(ctx, id, from, limit)
	if err != nil {
		return nil, opErr("history", "of", id, err)
	}
	out := make([]journal.Entry, 0, len(raw))
	for _, r := range raw {
		en, err := journal.Decode(r.Data)
		if err != nil {
			return nil, fmt.Errorf("engine: history of %q, entry %d: %w", id, r.Seq, err)
		}
		out = append(out, en)
	}
	return out, nil
}
