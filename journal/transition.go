package journal

import (
	"strconv"
	"time"

	"github.com/weftflow/weft/internal/cborhead"
	"github.com/weftflow/weft/interp"
)

// Transition is a committed transition as the engine knows it: what an
// entry is made from. [Transition.Entry] makes the entry;
// [Transition.Append] writes its encoding without making it, which is how
// the engine journals every commit cheaply (the two agree byte for byte:
// TestTransitionEncoding).
type Transition struct {
	Seq       uint64
	At        time.Time // when it was committed
	Version   int
	Event     Event
	Effects   []interp.Effect
	Before    []interp.Thread // the threads before, sorted by ID
	After     []interp.Thread // and after
	StateSize int
	Status    string
	Migrated  []int
	Start     *Event // see Entry.Start
}

// Entry makes the entry of t.
func (t Transition) Entry() Entry {
	e := Entry{Seq: t.Seq, At: unixTime(unixNano(t.At)), Version: t.Version, Event: t.Event, StateSize: t.StateSize, Status: t.Status, Migrated: t.Migrated, Start: t.Start}
	for _, ef := range t.Effects {
		e.Effects = append(e.Effects, Effect{ID: ef.ID.String(), Kind: ef.Kind.String(), Thread: ef.Thread, Path: ef.Path,
			Event: ef.Event, Callback: ef.Callback, Error: ef.Error})
	}
	moves(t.Before, t.After, func(m Move) { e.Moves = append(e.Moves, m) })
	return e
}

// Append appends the encoding of t.Entry() to b.
func (t Transition) Append(b []byte) []byte {
	nm := 0
	moves(t.Before, t.After, func(Move) { nm++ })
	e := Entry{Seq: t.Seq, At: t.At, Version: t.Version, Event: t.Event, StateSize: t.StateSize, Status: t.Status, Migrated: t.Migrated, Start: t.Start}
	return appendEntryMap(b, &e, len(t.Effects), nm, func(b []byte) []byte {
		for _, ef := range t.Effects {
			b = appendInterpEffect(b, ef)
		}
		return b
	}, func(b []byte) []byte {
		moves(t.Before, t.After, func(m Move) { b = appendMove(b, m) })
		return b
	})
}

// appendInterpEffect is appendEffect of the Effect an interp.Effect
// becomes, with its ID written in place.
func appendInterpEffect(b []byte, ef interp.Effect) []byte {
	n := 2
	for _, ok := range []bool{ef.Thread != "", ef.Path != "", ef.Event != "", ef.Callback != 0, ef.Error != ""} {
		if ok {
			n++
		}
	}
	b = cborhead.Append(b, 5, uint64(n))
	// The ID, "instance/seq/index", as interp.EffectID.String writes it.
	idLen := len(ef.ID.Instance) + 2 + digits(ef.ID.Seq) + digits(uint64(ef.ID.Index))
	b = cborhead.Append(cborhead.Append(b, 0, 1), 3, uint64(idLen))
	b = append(b, ef.ID.Instance...)
	b = strconv.AppendUint(append(b, '/'), ef.ID.Seq, 10)
	b = strconv.AppendUint(append(b, '/'), uint64(ef.ID.Index), 10)
	b = cborhead.Text(cborhead.Append(b, 0, 2), ef.Kind.String())
	b = optText(b, 3, ef.Thread)
	b = optText(b, 4, ef.Path)
	b = optText(b, 5, ef.Event)
	if ef.Callback != 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 6), 0, ef.Callback)
	}
	return optText(b, 7, ef.Error)
}

// moves calls f with each thread's move, pairing the threads before and
// after by ID (both are sorted by ID); threads that did not move are left
// out.
func moves(before, after []interp.Thread, f func(Move)) {
	i, j := 0, 0
	for i < len(before) || j < len(after) {
		switch {
		case j == len(after) || i < len(before) && before[i].ID < after[j].ID:
			f(Move{Thread: before[i].ID, From: before[i].Path, Ended: true})
			i++
		case i == len(before) || after[j].ID < before[i].ID:
			f(Move{Thread: after[j].ID, To: after[j].Path, Started: true})
			j++
		default:
			if before[i].Path != after[j].Path {
				f(Move{Thread: after[j].ID, From: before[i].Path, To: after[j].Path})
			}
			i++
			j++
		}
	}
}

// digits is the number of decimal digits of u.
func digits(u uint64) int {
	n := 1
	for u >= 10 {
		u /= 10
		n++
	}
	return n
}
