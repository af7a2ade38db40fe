package storagetest

import (
	"context"
	"slices"

	"pgregory.net/rapid"

	"github.com/weftflow/weft/storage"
)

// The listing operations of the state-machine test: Find and Count
// against the model's instances, and Delete against its verdict.

var (
	genWorkflowFilter = rapid.SampledFrom([]string{"", "", "w1", "w2", "w3"})
	genStatusFilter   = rapid.SampledFrom([]string{"", "", "running", "waiting", "completed", "gone"})
	genPrefix         = rapid.SampledFrom([]string{"", "", "", "a", "a\x00", "b", "\xc3", "z"})
)

// find returns the page Find must return for q, whose After is c.
func (m *model) find(q storage.Query, c storage.Cursor) storage.Page {
	var match []storage.Instance
	for _, inst := range m.list("", all) {
		if q.Filter.Matches(inst) && (q.Order == storage.ByID || !inst.Due.IsZero()) && c.Before(q.Order, inst.Due, inst.ID) {
			match = append(match, inst)
		}
	}
	if q.Order == storage.ByDue {
		slices.SortStableFunc(match, func(a, b storage.Instance) int { return a.Due.Compare(b.Due) })
	}
	var p storage.Page
	if len(match) > q.Limit {
		match = match[:q.Limit]
		p.Next = storage.NextCursor(q.Order, match[q.Limit-1])
	}
	p.Instances = match
	return p
}

// remove returns the error Delete(id, expect, tomb) must fail with (nil if
// it must succeed) and applies it to the model if it succeeds.
func (m *model) remove(id string, expect uint64, tomb []byte) error {
	inst, ok := m.instances[id]
	switch {
	case !ok:
		return storage.ErrNotFound
	case inst.Version != expect:
		return storage.ErrConflict
	case slices.ContainsFunc(m.outbox, func(e storage.Effect) bool { return e.Instance == id }),
		slices.ContainsFunc(m.dead, func(e storage.Effect) bool { return e.Instance == id }):
		return storage.ErrHasEffects
	}
	delete(m.instances, id)
	m.tombs[id] = modelTomb{version: inst.Version, data: tomb}
	if r := m.leases[id]; r != nil {
		r.held = false // the token stays
	}
	return nil
}

// addListingActions adds Find, Count and Delete to the state-machine test.
func addListingActions(actions map[string]func(*rapid.T), sp *storage.Store, m *model, checkErr func(*rapid.T, string, error, error)) {
	ctx := context.Background()
	actions["find"] = func(rt *rapid.T) {
		q := storage.Query{
			Filter: storage.Filter{Workflow: genWorkflowFilter.Draw(rt, "workflow"), Status: genStatusFilter.Draw(rt, "status"), IDPrefix: genPrefix.Draw(rt, "prefix")},
			Order:  storage.Order(rapid.IntRange(0, 1).Draw(rt, "order")),
			Limit:  genLimit.Draw(rt, "limit"),
		}
		if rapid.Bool().Draw(rt, "cursor") {
			// A cursor at an instance's place, present or not.
			at := storage.Instance{ID: genAfter.Draw(rt, "after"), Due: genTime.Draw(rt, "after due")}
			if at.ID == "" {
				at.ID = "a"
			}
			q.After = storage.NextCursor(q.Order, at)
		}
		c, err := q.Validate()
		if err != nil {
			rt.Fatalf("the test made an invalid query %+v: %v", q, err)
		}
		got, err := (*sp).Find(ctx, q)
		checkErr(rt, "Find", err, nil)
		if d := diff(m.find(q, c), got); d != "" {
			rt.Fatalf("Find(%+v) (-want +got):\n%s", q, d)
		}
	}
	actions["count"] = func(rt *rapid.T) {
		f := storage.Filter{Workflow: genWorkflowFilter.Draw(rt, "workflow"), Status: genStatusFilter.Draw(rt, "status"), IDPrefix: genPrefix.Draw(rt, "prefix")}
		got, err := (*sp).Count(ctx, f)
		checkErr(rt, "Count", err, nil)
		if d := diff(wantCount(m.list("", all), f), got); d != "" {
			rt.Fatalf("Count(%+v) (-want +got):\n%s", f, d)
		}
	}
	actions["delete"] = func(rt *rapid.T) {
		id := genInstanceID.Draw(rt, "id")
		expect := rapid.Uint64Range(0, 4).Draw(rt, "expect")
		if cur, ok := m.instances[id]; ok && rapid.IntRange(0, 3).Draw(rt, "fresh") > 0 {
			expect = cur.Version
		}
		tomb := genData.Draw(rt, "tombstone")
		want := m.remove(id, expect, tomb)
		checkErr(rt, "Delete", (*sp).Delete(ctx, id, expect, tomb), want)
	}
}
