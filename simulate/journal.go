package simulate

import (
	"fmt"

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
	effects  []string // "id kind"
}

// logTransition records a transition the model folded.
func (w *world) logTransition(ev interp.Event, res interp.Result) {
	jw := journalWant{seq: res.Meta.Seq, kind: ev.Kind.String(), callback: ev.Callback}
	for _, e := range res.Effects {
		jw.effects = append(jw.effects, e.ID.String()+" "+e.Kind.String())
	}
	w.journalLog = append(w.journalLog, jw)
}

// journalView is the part of a journal entry InvJournal compares,
// decoded without the rest (the same keys as journal.Entry).
type journalView struct {
	Seq   uint64 `cbor:"1,keyasint"`
	Event struct {
		Kind     string `cbor:"1,keyasint"`
		Path     string `cbor:"4,keyasint,omitempty"`
		Callback uint64 `cbor:"6,keyasint,omitempty"`
	} `cbor:"4,keyasint"`
	Effects []struct {
		ID   string `cbor:"1,keyasint"`
		Kind string `cbor:"2,keyasint"`
	} `cbor:"5,keyasint,omitempty"`
}

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
		var en journalView
		if err := decode.Into("journal entry", r.Data, &en); err != nil {
			w.fail(InvJournal, "", "journal entry %d does not decode: %v", i+1, err)
			return
		}
		want := w.journalLog[i]
		same := en.Seq == want.seq && r.Seq == want.seq && en.Event.Kind == want.kind && en.Event.Callback == want.callback && len(en.Effects) == len(want.effects)
		for j := 0; same && j < len(en.Effects); j++ {
			same = en.Effects[j].ID+" "+en.Effects[j].Kind == want.effects[j]
		}
		if !same {
			var got []string
			for _, e := range en.Effects {
				got = append(got, e.ID+" "+e.Kind)
			}
			w.fail(InvJournal, en.Event.Path, "journal entry %d says %s (seq %d, callback %d, effects %v); the transition committed was %s (seq %d, callback %d, effects %v)",
				i+1, en.Event.Kind, en.Seq, en.Event.Callback, got, want.kind, want.seq, want.callback, want.effects)
			return
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
