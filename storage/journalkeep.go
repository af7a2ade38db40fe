package storage

import (
	"fmt"
	"math"
	"time"
)

// MaxJournalSeq is the largest [JournalEntry.Seq] a store accepts, so that
// SQL adapters can keep it in a signed 64-bit column.
const MaxJournalSeq = math.MaxInt64

// Validate reports whether w can be appended to the journal of the
// instance id, whatever the journal holds: Entry.Seq must be between 1 and
// [MaxJournalSeq], Entry.Time zero or in the range of a Due (see
// [Instance.Validate]), and Keep, if set, must pass [JournalKeep.Validate].
// Whether Seq is greater than the journal's last entry is the store's
// check. [Instance.Validate] calls it for [Instance.Journal]. Errors wrap
// [ErrInvalid].
func (w JournalWrite) Validate(id string) error {
	e := w.Entry
	if e.Seq == 0 || e.Seq > MaxJournalSeq {
		return fmt.Errorf("storage: instance %q: journal entry seq %d outside [1, %d]: %w",
			id, e.Seq, uint64(MaxJournalSeq), ErrInvalid)
	}
	if !inDueRange(e.Time) {
		return fmt.Errorf("storage: instance %q: journal entry %d: time %v outside [%v, %v): %w",
			id, e.Seq, e.Time, minDue, maxDue, ErrInvalid)
	}
	if w.Keep != nil {
		if err := w.Keep.Validate(); err != nil {
			return fmt.Errorf("storage: instance %q: journal entry %d: %w", id, e.Seq, err)
		}
	}
	return nil
}

// Validate reports whether k is usable: Last must not be negative, and
// Since must be zero or in the range of a Due. Errors wrap [ErrInvalid].
func (k JournalKeep) Validate() error {
	if k.Last < 0 {
		return fmt.Errorf("storage: journal keep: last %d is negative: %w", k.Last, ErrInvalid)
	}
	if !inDueRange(k.Since) {
		return fmt.Errorf("storage: journal keep: since %v outside [%v, %v): %w", k.Since, minDue, maxDue, ErrInvalid)
	}
	return nil
}

// Start reports whether e is a starting point for replay: it carries a
// Base, or it is an instance's first entry (Seq 1).
func (e JournalEntry) Start() bool { return e.Seq == 1 || len(e.Base) > 0 }

// Cut returns how many of the oldest entries k removes from a journal of n
// entries, by the rule of [JournalKeep]. entry(i) describes the i-th
// entry, oldest first (0 <= i < n): its stored Time and whether it is a
// starting point ([JournalEntry.Start]). It is the rule every adapter
// applies; adapters that keep entries in Go call it, SQL adapters restate
// it in their query.
func (k JournalKeep) Cut(n int, entry func(i int) (t time.Time, start bool)) int {
	// The first wanted entry: the oldest of the last Last (the newest at
	// least), or an older one whose Time is not before Since.
	first := n - max(k.Last, 1)
	if first <= 0 {
		return 0
	}
	if !k.Since.IsZero() {
		for i := range first {
			if t, _ := entry(i); !t.Before(k.Since) {
				first = i
				break
			}
		}
	}
	// The latest starting point at or before it.
	for i := first; i > 0; i-- {
		if _, start := entry(i); start {
			return i
		}
	}
	return 0
}
