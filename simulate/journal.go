package simulate

import (
	"fmt"

	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/journal"
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

// checkJournal compares the stored journal with the transitions the
// model folded.
func (w *world) checkJournal() {
	entries, _, err := journal.ReadAll(w.ctx, w.store, instanceID)
	if err != nil {
		w.fail(InvJournal, "", "the journal cannot be read: %v", err)
		return
	}
	if len(entries) != len(w.journalLog) {
		w.fail(InvJournal, "", "the journal holds %d entries for %d committed transitions:\n%s", len(entries), len(w.journalLog), journalText(entries))
		return
	}
	for i, en := range entries {
		want := w.journalLog[i]
		var got []string
		for _, e := range en.Effects {
			got = append(got, e.ID+" "+e.Kind)
		}
		callback := en.Event.Callback
		if en.Seq != want.seq || en.Event.Kind != want.kind || callback != want.callback || fmt.Sprint(got) != fmt.Sprint(want.effects) {
			w.fail(InvJournal, en.Event.Path, "journal entry %d says %s (seq %d, callback %d, effects %v); the transition committed was %s (seq %d, callback %d, effects %v)",
				i+1, en.Event.Kind, en.Seq, callback, got, want.kind, want.seq, want.callback, want.effects)
			return
		}
	}
}

func journalText(entries []journal.Entry) string {
	s := ""
	for _, en := range entries {
		s += "  " + en.String() + "\n"
	}
	return s
}
