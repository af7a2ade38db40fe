package simulate

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/journal"
	"github.com/weftflow/weft/storage"
)

// InvJournal: the instance's journal (package journal; the simulator's
// hosts keep one) holds exactly one entry per committed transition, in
// order, with the event applied and the effects emitted, across crashes:
// no entry of a commit that did not land, none missing of one that did.
const InvJournal = "journal matches the committed transitions"

// journalWant is what the journal must say of one committed transition.
type journalWant struct {
	seq      uint64
	kind     string
	callback uint64
	effects  []interp.Effect
}

// effectLabels are the effects as "id kind", for reports.
func (jw journalWant) effectLabels() []string {
	out := make([]string, len(jw.effects))
	for i, e := range jw.effects {
		out[i] = e.ID.String() + " " + e.Kind.String()
	}
	return out
}

// sameEffect reports whether a journal entry's effect names e.
func sameEffect(id, kind string, e *interp.Effect) bool {
	var buf [64]byte
	return string(e.ID.Append(buf[:0])) == id && kind == e.Kind.String()
}

// journalChecked is a stored journal entry that InvJournal found to say
// what the transition at its index committed.
type journalChecked struct {
	seq  uint64
	data []byte
}

// logTransition records a transition the model folded.
func (w *world) logTransition(ev interp.Event, res interp.Result) {
	// (res.Effects is a fresh slice from interp.Apply, which nothing changes.)
	w.journalLog = append(w.journalLog, journalWant{seq: res.Meta.Seq, kind: ev.Kind.String(), callback: ev.Callback, effects: res.Effects})
}

// journalView is the part of a journal entry InvJournal compares,
// decoded without the rest (the same keys as journal.Entry). The keys it
// does not compare are fields of type skipped, which reads nothing: the
// decoder checks them as it checks keys no field matches (well-formed,
// within the limits, not repeated), without the set of unmatched keys it
// builds for each map, which made the journal check the costliest of the
// simulator's own.
type journalView struct {
	Seq   uint64  `cbor:"1,keyasint"`
	At    skipped `cbor:"2,keyasint"`
	Ver   skipped `cbor:"3,keyasint"`
	Event struct {
		Kind     string  `cbor:"1,keyasint"`
		Name     skipped `cbor:"2,keyasint"`
		Trigger  skipped `cbor:"3,keyasint"`
		Path     string  `cbor:"4,keyasint,omitempty"`
		Thread   skipped `cbor:"5,keyasint"`
		Callback uint64  `cbor:"6,keyasint,omitempty"`
		Payload  skipped `cbor:"7,keyasint"`
		Hash     skipped `cbor:"8,keyasint"`
		Size     skipped `cbor:"9,keyasint"`
		Redacted skipped `cbor:"10,keyasint"`
		Error    skipped `cbor:"11,keyasint"`
	} `cbor:"4,keyasint"`
	Effects []struct {
		ID       string  `cbor:"1,keyasint"`
		Kind     string  `cbor:"2,keyasint"`
		Thread   skipped `cbor:"3,keyasint"`
		Path     skipped `cbor:"4,keyasint"`
		Event    skipped `cbor:"5,keyasint"`
		Callback skipped `cbor:"6,keyasint"`
		Error    skipped `cbor:"7,keyasint"`
	} `cbor:"5,keyasint,omitempty"`
	Moves     skipped `cbor:"6,keyasint"`
	StateSize skipped `cbor:"7,keyasint"`
	Status    skipped `cbor:"8,keyasint"`
	Migrated  skipped `cbor:"9,keyasint"`
	Start     skipped `cbor:"10,keyasint"`
}

// skipped is a field of journalView that InvJournal does not compare: any
// well-formed value decodes into it, as into no field at all.
type skipped struct{}

// UnmarshalCBOR ignores data (the decoder has checked it is well-formed).
func (*skipped) UnmarshalCBOR([]byte) error { return nil }

// checkJournal compares the stored journal with the transitions the
// model folded.
func (w *world) checkJournal() {
	raw, err := w.store.ReadJournal(w.ctx, instanceID, 0, 0)
	if err != nil {
		w.fail(InvJournal, "", "the journal cannot be read: %v", err)
		return
	}
	if len(raw) != len(w.journalLog) {
		w.fail(InvJournal, "", "the journal holds %d entries for %d committed transitions:\n%s", len(raw), len(w.journalLog), journalText(raw))
		return
	}
	for i, r := range raw {
		if i < len(w.journalOK) && r.Seq == w.journalOK[i].seq && bytes.Equal(r.Data, w.journalOK[i].data) {
			continue // these bytes passed at this index already, against the same transition
		}
		en, err := w.opts.journalViews.decode(r.Data)
		if err != nil {
			w.fail(InvJournal, "", "journal entry %d does not decode: %v", i+1, err)
			return
		}
		want := w.journalLog[i]
		same := en.Seq == want.seq && r.Seq == want.seq && en.Event.Kind == want.kind && en.Event.Callback == want.callback && len(en.Effects) == len(want.effects)
		for j := 0; same && j < len(en.Effects); j++ {
			same = sameEffect(en.Effects[j].ID, en.Effects[j].Kind, &want.effects[j])
		}
		if !same {
			var got []string
			for _, e := range en.Effects {
				got = append(got, e.ID+" "+e.Kind)
			}
			w.fail(InvJournal, en.Event.Path, "journal entry %d says %s (seq %d, callback %d, effects %v); the transition committed was %s (seq %d, callback %d, effects %v)",
				i+1, en.Event.Kind, en.Seq, en.Event.Callback, got, want.kind, want.seq, want.callback, want.effectLabels())
			return
		}
		if ok := (journalChecked{seq: r.Seq, data: r.Data}); i == len(w.journalOK) {
			w.journalOK = append(w.journalOK, ok)
		} else if i < len(w.journalOK) {
			w.journalOK[i] = ok
		}
	}
}

func journalText(raw []storage.JournalEntry) string {
	s := ""
	for _, r := range raw {
		if en, err := journal.Decode(r.Data); err == nil {
			s += "  " + en.String() + "\n"
		} else {
			s += fmt.Sprintf("  #%d: %v\n", r.Seq, err)
		}
	}
	return s
}

// journalViews remembers the journal entries a Check's runs decoded, by
// their bytes: runs start alike and often commit the same first
// transitions at the same simulated times, so their entries are byte for
// byte the same, and decoding is a function of the bytes. It holds at most
// maxJournalViews entries (it starts over when full); only entries that
// decoded are kept.
type journalViews struct {
	mu sync.Mutex
	m  map[string]*journalView
}

// maxJournalViews bounds a journalViews.
const maxJournalViews = 4096

// decode decodes a journal entry, or returns the view decoded from the
// same bytes before. The caller must not modify the view.
func (c *journalViews) decode(data []byte) (*journalView, error) {
	c.mu.Lock()
	en, ok := c.m[string(data)]
	c.mu.Unlock()
	if ok {
		return en, nil
	}
	en = new(journalView)
	if err := decode.Into("journal entry", data, en); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxJournalViews {
		c.m = make(map[string]*journalView)
	}
	c.m[string(data)] = en
	c.mu.Unlock()
	return en, nil
}
