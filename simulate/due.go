package simulate

import (
	"time"

	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// The engine finds work that is due (timers, step retries, threads that ran
// out of budget) only through the store's due index: Store.DueBefore lists
// the instances whose Instance.Due has passed. The simulator resumes the
// instance the same way, and checks after every commit and every crash
// that the index says what the committed meta says, so a store that loses
// or never writes due entries is named for what it is instead of showing
// up later as a workflow stuck for no visible reason.

// dueEpoch is the earliest Due a store keeps; the engine clamps earlier
// due times to it.
var dueEpoch = time.Unix(0, 0).UTC()

// dueHorizon is later than any Due a store accepts (the year 10000).
var dueHorizon = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// storedDue is the Due the engine writes for m: its due time clamped to the
// epoch, at the stores' precision.
func storedDue(m interp.Meta) time.Time {
	t := m.Due
	if !t.IsZero() && t.Before(dueEpoch) {
		t = dueEpoch
	}
	return storage.NormalizeDue(t)
}

// checkDue checks that the stored instance si and, with index, the due
// index agree with the committed meta m; when names the moment, for the
// report. The index is read after every commit and every crash: nothing
// else writes it.
func (w *world) checkDue(si storage.Instance, m interp.Meta, index bool, when string) {
	if w.failure != nil {
		return
	}
	want := storedDue(m)
	if !si.Due.Equal(want) {
		w.fail(InvDueIndex, w.where(), "%s the stored instance's Due is %s, but its meta says %s", when, showDue(si.Due), showDue(want))
		return
	}
	if !index {
		return
	}
	listed, ok := w.dueEntry(dueHorizon)
	switch {
	case !ok && !want.IsZero():
		w.fail(InvDueIndex, w.where(), "%s the due index does not list the instance, which is due at %s: an engine would never resume it", when, showDue(want))
	case ok && want.IsZero():
		w.fail(InvDueIndex, w.where(), "%s the due index lists the instance at %s, but nothing is due", when, showDue(listed))
	case ok && !listed.Equal(want):
		w.fail(InvDueIndex, w.where(), "%s the due index lists the instance at %s, but it is due at %s", when, showDue(listed), showDue(want))
	}
}

// dueEntry asks the due index whether the instance is due by t, and when.
func (w *world) dueEntry(t time.Time) (time.Time, bool) {
	due, err := w.store.DueBefore(w.ctx, t, 1)
	if err != nil {
		w.fail(InvDueIndex, "", "the due index cannot be read: %v", err)
		return time.Time{}, false
	}
	for _, d := range due {
		if d.ID == instanceID {
			return d.At, true
		}
	}
	return time.Time{}, false
}

// nextDue moves the clock to the earliest due time in the due index, as a
// sleeping engine wakes up for it, and reports whether there was one. The
// index keeps microseconds, so the clock moves to the end of that
// microsecond: never before the exact due time.
func (w *world) nextDue() bool {
	at, ok := w.dueEntry(dueHorizon)
	if !ok {
		return false
	}
	w.moveClock(at.Add(storage.DuePrecision - time.Nanosecond))
	return true
}

// dueTime shows a due time when formatted.
type dueTime time.Time

func (t dueTime) String() string { return showDue(time.Time(t)) }

// dateTime shows a time to the second when formatted.
type dateTime time.Time

func (t dateTime) String() string { return time.Time(t).Format(time.DateTime) }

func showDue(t time.Time) string {
	if t.IsZero() {
		return "not due"
	}
	return t.Format("2006-01-02 15:04:05.999999")
}
