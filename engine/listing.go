package engine

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/storage"
)

// Page is one page of [Engine.Find].
type Page struct {
	Instances []Instance
	// Next is the cursor of the next page (pass it as the next query's
	// After), or empty after the last page.
	Next string
}

// Find returns a page of the instances that match q: of one workflow
// (q.Workflow), with one status (q.Status: "running", "completed",
// "failed", "canceling", "canceled", "terminated", as
// [interp.Status.String] names them), whose ID starts with q.IDPrefix, by ID or by due time (q.Order),
// at most q.Limit of them. Pass the page's Next as q.After to read on. The
// store reads them from its indexes (see [storage.Listing]), so a page
// costs about as much as it returns whatever the store holds.
//
// Like [Engine.List] it needs no registered definitions. Errors:
// storage.ErrInvalid for a bad limit, order or cursor, and codec errors
// for a record it cannot read.
func (e *Engine) Find(ctx context.Context, q storage.Query) (_ Page, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = e.recovered("", q.Workflow, "find", r)
		}
	}()
	sp, err := e.store.Find(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("engine: %w", err)
	}
	p := Page{Instances: make([]Instance, 0, len(sp.Instances)), Next: sp.Next}
	for _, si := range sp.Instances {
		l, err := decodeStored(si)
		if err != nil {
			return Page{}, err
		}
		p.Instances = append(p.Instances, l.instance())
	}
	return p, nil
}

// Count returns how many instances match f, per status ("running",
// "completed", ...); statuses with none are absent. The store counts from
// its indexes (see [storage.Listing]).
func (e *Engine) Count(ctx context.Context, f storage.Filter) (_ map[string]int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = e.recovered("", f.Workflow, "count", r)
		}
	}()
	counts, err := e.store.Count(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return counts, nil
}
