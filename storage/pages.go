package storage

import (
	"context"
	"time"
)

// Pages is implemented by stores that can read the due index and the
// outbox on from a position. A host whose first page of due instances or
// effects is all in flight reads the next page instead of the first one
// again with a larger limit; without Pages it has to re-read (see
// [DueAfter] and [OutboxAfter]).
//
// The memory, bolt and postgres adapters implement it, and storagetest
// checks it for any store that does: chaining pages from the zero
// position reads what one call of [Store.DueBefore] or [Store.Outbox]
// with a large limit reads.
type Pages interface {
	// DueAfter is [Store.DueBefore] starting after the entry after: the
	// first limit instances whose Due is non-zero and not after t, and
	// that come after after in (At, ID) order. The zero Due comes before
	// every entry.
	DueAfter(ctx context.Context, t time.Time, after Due, limit int) ([]Due, error)
	// OutboxAfter is [Store.Outbox] starting after the effect whose Seq
	// is after: the oldest limit unacknowledged effects with a greater
	// Seq. Zero comes before every effect.
	OutboxAfter(ctx context.Context, after uint64, limit int) ([]Effect, error)
}

// DueAfter reads s's due index after the entry after, with s's Pages if
// it has them, else by reading the index from its start and dropping what
// comes before after.
func DueAfter(ctx context.Context, s Store, t time.Time, after Due, limit int) ([]Due, error) {
	if p, ok := s.(Pages); ok {
		return p.DueAfter(ctx, t, after, limit)
	}
	if after == (Due{}) {
		return s.DueBefore(ctx, t, limit)
	}
	for n := limit; ; n *= 2 {
		due, err := s.DueBefore(ctx, t, n)
		if err != nil {
			return nil, err
		}
		i := 0
		for i < len(due) && !dueLess(after, due[i]) {
			i++
		}
		if len(due)-i >= limit || len(due) < n || n >= 1<<30 {
			return due[i:min(len(due), i+limit)], nil
		}
	}
}

// OutboxAfter reads s's outbox after the effect whose Seq is after, with
// s's Pages if it has them, else by reading the outbox from its start and
// dropping what comes before.
func OutboxAfter(ctx context.Context, s Store, after uint64, limit int) ([]Effect, error) {
	if p, ok := s.(Pages); ok {
		return p.OutboxAfter(ctx, after, limit)
	}
	if after == 0 {
		return s.Outbox(ctx, limit)
	}
	for n := limit; ; n *= 2 {
		effects, err := s.Outbox(ctx, n)
		if err != nil {
			return nil, err
		}
		i := 0
		for i < len(effects) && effects[i].Seq <= after {
			i++
		}
		if len(effects)-i >= limit || len(effects) < n || n >= 1<<30 {
			return effects[i:min(len(effects), i+limit)], nil
		}
	}
}

// dueLess reports whether a comes before b in the due index's order: by
// At, then by ID.
func dueLess(a, b Due) bool {
	if c := a.At.Compare(b.At); c != 0 {
		return c < 0
	}
	return a.ID < b.ID
}
