package storage

import (
	"context"
	"time"
)

// Journal keeps, per instance, an optional record of what happened: one
// entry per committed transition, appended in the same atomic write as the
// record it describes ([Instance.Journal]), so that journal and state
// never disagree. The store treats entries as opaque; the host encodes
// them. Nothing that drives an instance reads the journal: it is for
// people and tools (timelines, audits, replaying recorded traffic against
// a new definition), so an instance's cost to resume does not grow with it.
//
// A journal can be bounded ([JournalKeep]). Trimming keeps replay
// possible: the kept window always begins at a starting point, an entry
// that carries the record as it was before it ([JournalEntry.Base]) or
// the instance's first entry (Seq 1, which starts from nothing).
//
// The journal of an instance goes with the instance: deleting an instance
// deletes its journal.
type Journal interface {
	// ReadJournal returns up to limit entries of instance id with Seq at
	// least from, in ascending Seq order (all of them if limit < 1). An
	// instance without a journal, or one that does not exist, has no
	// entries: the result is empty, with no error.
	ReadJournal(ctx context.Context, id string, from uint64, limit int) ([]JournalEntry, error)

	// TrimJournal applies keep to instance id's journal outside a commit
	// (a background sweep of time-bounded journals) and returns how many
	// entries it removed. An instance without a journal, or one that does
	// not exist, has nothing to trim.
	TrimJournal(ctx context.Context, id string, keep JournalKeep) (removed int, err error)
}

// JournalEntry is one entry of an instance's journal.
type JournalEntry struct {
	// Seq orders an instance's entries: every entry appended must have a
	// Seq greater than the entry appended before it (gaps are allowed: a
	// journal may be turned on while the instance runs). Hosts use the
	// instance's transition count.
	Seq uint64
	// Time is when the transition was committed, by the host's clock.
	// Stores keep it at microsecond precision in UTC (see [NormalizeDue]).
	Time time.Time
	// Data is the entry, opaque to the store. Nil and empty are equivalent.
	Data []byte
	// Base, if not empty, is the instance's encoded record as it was
	// before this entry: a starting point for replay that lets the store
	// trim the entries before it. Nil and empty are equivalent.
	Base []byte
}

// JournalWrite is what a Create or Commit appends to the instance's
// journal, atomically with the write.
type JournalWrite struct {
	// Entry is appended. Its Seq must be greater than the Seq of every
	// entry of the instance's journal, else the write fails with
	// ErrInvalid and nothing is written (after the checks that fail with
	// ErrNotFound, ErrFenced or ErrConflict, before those that fail with
	// ErrExists). [JournalWrite.Validate] says what else it must be.
	Entry JournalEntry
	// Keep, if set, is applied after Entry is appended, in the same write.
	Keep *JournalKeep
}

// JournalKeep bounds a journal. An entry is wanted if it is among the
// last Last entries or its Time is not before Since (a zero Since wants
// none by time); the newest entry is always wanted. Trimming removes the
// entries before the latest starting point (an entry with a Base, or Seq
// 1) that has only unwanted entries before it, so the kept window starts
// at a starting point and holds every wanted entry.
type JournalKeep struct {
	Last  int
	Since time.Time
}
