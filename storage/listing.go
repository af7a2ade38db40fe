package storage

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Listing finds instances by what a store indexes besides their ID: the
// workflow, the status and the due time, a page at a time, and counts them
// per status. Every [Store] implements it; storagetest checks it.
//
// Stores index instances by (workflow, status, ID), in the write that
// changes them, so that a page costs about as much as the instances it
// returns whatever the store holds, and counting reads counters or index
// entries, never the records; see each adapter's documentation for its
// exact costs.
type Listing interface {
	// Find returns the first q.Limit instances (all of them if there are
	// fewer) that match q.Filter and come after q.After in q.Order, and
	// the cursor of the next page: Page.Next is empty exactly when no
	// matching instance followed the page when it was read. Pass
	// Page.Next as the next query's After, with the same Filter and Order,
	// to read on; an instance whose status, workflow or due time changes
	// while a caller pages moves in the order, so it may be seen twice or
	// not at all, but an instance that matches and does not change during
	// the whole listing is seen exactly once. It fails with ErrInvalid if
	// q does not pass [Query.Validate].
	Find(ctx context.Context, q Query) (Page, error)

	// Count returns how many instances match f, per status: a status no
	// matching instance has is absent from the map, so an empty map (never
	// nil) means none.
	Count(ctx context.Context, f Filter) (map[string]int, error)
}

// Retention deletes instances that have ended, for hosts that keep
// finished instances for a bounded time. Every [Store] implements it;
// storagetest checks it.
type Retention interface {
	// Delete removes instance id if its stored version equals expect and
	// it has no effect left, neither in the outbox nor in the dead
	// letters: the caller loaded it at that version and decided it may go
	// (a host deletes only instances it saw finished). It removes the
	// record, its due entry and its journal, and leaves a tombstone in
	// their place: the deleted instance's version and the bytes
	// tombstone, which the host chooses (weft's engine keeps there the
	// numbering that a new instance with the ID continues, so that its
	// effect IDs are not the deleted one's). A later [Store.Create] of the
	// ID must name that version, so that the host reads the tombstone
	// first (see [DeletedError]); the new instance's versions follow the
	// deleted one's, so that a write based on the deleted instance never
	// applies to it. The instance's last fence token stays too, so that
	// the new instance's leases get greater tokens than any lease of the
	// deleted one (see [Claims]). A store keeps a tombstone for as long as
	// it keeps its data: one small entry per deleted ID, like a lease's.
	//
	// It fails with ErrNotFound if the instance does not exist,
	// ErrConflict if its version differs from expect and [ErrHasEffects]
	// if it still has effects, in that order of precedence, and writes
	// nothing then.
	Delete(ctx context.Context, id string, expect uint64, tombstone []byte) error
}

// Filter selects instances by what stores index. Empty fields match every
// instance.
type Filter struct {
	Workflow string // only instances of this workflow (Instance.Workflow)
	Status   string // only instances with this status (Instance.Status)
	IDPrefix string // only instances whose ID starts with these bytes
}

// Matches reports whether inst passes f.
func (f Filter) Matches(inst Instance) bool {
	return (f.Workflow == "" || inst.Workflow == f.Workflow) &&
		(f.Status == "" || inst.Status == f.Status) &&
		strings.HasPrefix(inst.ID, f.IDPrefix)
}

// Order is the order in which [Listing.Find] returns instances.
type Order uint8

// Orders of [Listing.Find].
const (
	// ByID orders instances by ID, byte-wise, as [Store.List] does.
	ByID Order = iota
	// ByDue orders instances that have a Due by (Due, ID), earliest
	// first, as [Store.DueBefore] does; instances without a Due are left
	// out.
	ByDue
)

// String names the order ("id" or "due").
func (o Order) String() string {
	switch o {
	case ByID:
		return "id"
	case ByDue:
		return "due"
	}
	return fmt.Sprintf("order(%d)", uint8(o))
}

// Query is one page request of [Listing.Find].
type Query struct {
	Filter
	Order Order  // ByID (the zero value) or ByDue
	After string // the Next of the previous page; empty for the first page
	Limit int    // at most this many instances; must be positive
}

// Page is one page of [Listing.Find].
type Page struct {
	Instances []Instance // in the query's order
	// Next is the cursor of the next page, or empty if no matching
	// instance followed this page. It is opaque: pass it back as
	// Query.After, with the same Order.
	Next string
}

// Cursor is a decoded [Query.After]: a page starts after the instance with
// this Due and ID in the query's order (Due is zero for [ByID]). The zero
// Cursor, Set false, starts at the beginning.
type Cursor struct {
	Set bool
	Due time.Time
	ID  string
}

// Before reports whether the instance with Due due and ID id comes after c
// in order o, that is, whether c is before it.
func (c Cursor) Before(o Order, due time.Time, id string) bool {
	if !c.Set {
		return true
	}
	if o == ByDue {
		if cmp := due.Compare(c.Due); cmp != 0 {
			return cmp > 0
		}
	}
	return id > c.ID
}

// Cursor prefixes, so that a cursor of one order is refused by the other.
const (
	cursorByID  = 'i'
	cursorByDue = 'd'
)

// NextCursor returns the cursor of the page that follows inst, the last
// instance of a page, in order o. Adapters use it to fill [Page.Next].
func NextCursor(o Order, inst Instance) string {
	if o == ByDue {
		b := make([]byte, 0, 9+len(inst.ID))
		b = append(b, cursorByDue)
		b = binary.BigEndian.AppendUint64(b, uint64(NormalizeDue(inst.Due).UnixMicro()))
		return string(append(b, inst.ID...))
	}
	return string(cursorByID) + inst.ID
}

// Validate reports whether q is usable by [Listing.Find] and decodes its
// After: the Order must be ByID or ByDue, the Limit positive, and After
// empty or a cursor of the same order. Errors wrap [ErrInvalid].
func (q Query) Validate() (Cursor, error) {
	if q.Order != ByID && q.Order != ByDue {
		return Cursor{}, fmt.Errorf("storage: find: unknown %v: %w", q.Order, ErrInvalid)
	}
	if err := ValidateLimit(q.Limit); err != nil {
		return Cursor{}, err
	}
	if q.After == "" {
		return Cursor{}, nil
	}
	bad := func(why string) (Cursor, error) {
		return Cursor{}, fmt.Errorf("storage: find: cursor %.40q: %s: %w", q.After, why, ErrInvalid)
	}
	switch {
	case q.Order == ByID && q.After[0] == cursorByID:
		id := q.After[1:]
		if checkID(id) != "" {
			return bad("not an instance ID")
		}
		return Cursor{Set: true, ID: id}, nil
	case q.Order == ByDue && q.After[0] == cursorByDue:
		if len(q.After) < 10 {
			return bad("too short")
		}
		micros := binary.BigEndian.Uint64([]byte(q.After[1:9]))
		due := time.UnixMicro(int64(micros)).UTC()
		id := q.After[9:]
		if micros > uint64(maxDue.UnixMicro()) || !inDueRange(due) || checkID(id) != "" {
			return bad("not a due time and an instance ID")
		}
		return Cursor{Set: true, Due: due, ID: id}, nil
	}
	return bad("not a cursor of order " + q.Order.String())
}
