package simulate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"pgregory.net/rapid"
)

// Listing (storage.Listing, engine.Engine.Find and Count). The list action
// has a host's engine find instances by workflow and status, by status
// alone, by ID prefix or by due time, a small page at a time (so that the
// cursor carries the listing over pages), and count them per status, and
// checks the answer against the committed truth the model holds: the
// action writes nothing, and it runs between steps, when the store has
// been compared with the model already (as InvDueIndex reads the due
// index after every commit and crash, see due.go).

// InvListing is the invariant of the list action: the listing agrees
// with the instances.
const InvListing = "listing agrees with the instances"

// statusNames are the statuses instances are listed under
// ([interp.Status.String]), in order.
var statusNames = func() []string {
	var out []string
	for s := interp.StatusRunning; ; s++ {
		name := s.String()
		if name == "status?" {
			return out
		}
		out = append(out, name)
	}
}()

// listBy is what a list action finds by.
type listBy uint8

const (
	byWorkflowStatus listBy = iota // Filter.Workflow and Filter.Status, by ID
	byStatus                       // Filter.Status, by ID
	byPrefix                       // Filter.IDPrefix, by ID
	byDue                          // no filter, by due time
)

// listQuery is one listing a list action makes.
type listQuery struct {
	filter storage.Filter
	order  storage.Order
	limit  int
}

func (q listQuery) String() string {
	var parts []string
	if q.filter.Workflow != "" {
		parts = append(parts, fmt.Sprintf("workflow %q", q.filter.Workflow))
	}
	if q.filter.Status != "" {
		parts = append(parts, fmt.Sprintf("status %q", q.filter.Status))
	}
	if q.filter.IDPrefix != "" {
		parts = append(parts, fmt.Sprintf("ID prefix %q", q.filter.IDPrefix))
	}
	if len(parts) == 0 {
		parts = append(parts, "every instance")
	}
	return fmt.Sprintf("%s by %s, %d a page", strings.Join(parts, " and "), q.order, q.limit)
}

// listPrefixes are the ID prefixes a list action draws: the simulated
// instance's ID has the first four, not the last.
var listPrefixes = []string{"", "s", "si", instanceID, instanceID + "-other"}

// neighbour is an instance the list and gc actions put in the store
// beside the simulated one, so that listings have pages to turn and
// statuses to tell apart: finished, or running with no thread, nothing
// due and no effect, so that no host has work for it.
type neighbour struct {
	id, workflow string // workflow "": the simulated instance's
	status       interp.Status
}

// neighbours are the instances beside the simulated one: two of its
// workflow whose IDs share its prefix, one of another workflow that does
// too, and one that shares neither.
var neighbours = []neighbour{
	{id: instanceID + "-a", status: interp.StatusRunning},
	{id: instanceID + "-b", status: interp.StatusCompleted},
	{id: "si", workflow: "neighbour", status: interp.StatusFailed},
	{id: "other", workflow: "neighbour", status: interp.StatusCanceled},
}

// seedNeighbours creates the neighbours, once per run, as another
// process's instances would appear. They are not the model's business:
// the listing checks compare what a listing finds with the records it
// finds, and the simulated instance with the model.
func (w *world) seedNeighbours() {
	if w.ret.seeded {
		return
	}
	w.ret.seeded = true
	var made []string
	for _, n := range neighbours {
		wf := n.workflow
		if wf == "" {
			wf = w.def.Name()
		}
		data, err := codec.EncodeRecord(codec.Record{Workflow: wf, State: w.state, Meta: interp.EncodeMeta(interp.Meta{Status: n.status})})
		if err != nil {
			panic(fmt.Sprintf("simulate: a neighbour's record does not encode: %v", err))
		}
		if _, err := w.store.Create(w.ctx, storage.Instance{ID: n.id, Workflow: wf, Status: n.status.String(), Data: data}, nil); err != nil {
			w.fail(InvListing, "", "instance %q cannot be created beside the simulated one: %v", n.id, err)
			return
		}
		made = append(made, fmt.Sprintf("%s (%s, %s)", n.id, wf, n.status))
	}
	w.say("other instances appear in the store: %s", strings.Join(made, ", "))
}

// list is the list action: a host's engine finds instances and counts
// them, and the answer is checked against the model.
func (a *actions) list(rt *rapid.T) {
	w := a.w
	if w.seedNeighbours(); w.failure != nil {
		return
	}
	src := rapidSource{rt}
	host := w.pickHost(src)
	q := listQuery{limit: ints(1, 3).Draw(rt, "page size")}
	// A status other than the instance's one time in three: the instance
	// must not be listed there.
	status := w.meta.Status.String()
	if ints(0, 2).Draw(rt, "the instance's status or another") == 0 {
		status = statusNames[ints(0, len(statusNames)-1).Draw(rt, "status")]
	}
	switch listBy(ints(0, 3).Draw(rt, "find by: workflow and status, status, ID prefix, due time")) {
	case byWorkflowStatus:
		q.filter = storage.Filter{Workflow: w.def.Name(), Status: status}
		if ints(0, 3).Draw(rt, "another workflow") == 0 {
			q.filter.Workflow = w.def.Name() + "-other"
		}
	case byStatus:
		q.filter = storage.Filter{Status: status}
	case byPrefix:
		q.filter = storage.Filter{IDPrefix: listPrefixes[ints(0, len(listPrefixes)-1).Draw(rt, "ID prefix")]}
	case byDue:
		q.order = storage.ByDue
	}
	w.listAndCheck(host, q)
}

// listAndCheck has host's engine run q, page after page, and count the
// instances q's filter matches, and checks both against the model; the
// trace says what the host found.
func (w *world) listAndCheck(host int, q listQuery) {
	found, pages, counts, err := w.listing(host, q)
	w.say("list %s: host %d: %s", q, host, listOutcome{found, pages, counts, err})
	if w.failure != nil || err != nil {
		return
	}
	if found == nil {
		return
	}
	w.checkListed(q, found)
	if w.failure == nil {
		w.checkCounts(host, q, found, counts)
	}
}

// listOutcome shows what a listing found, in a trace line.
type listOutcome struct {
	found  []engine.Instance
	pages  int
	counts map[string]int
	err    error
}

func (o listOutcome) String() string {
	if o.err != nil {
		return "failed: " + o.err.Error()
	}
	ids := make([]string, len(o.found))
	for i, inst := range o.found {
		ids[i] = fmt.Sprintf("%s (%s)", inst.ID, inst.Meta.Status)
	}
	if len(ids) == 0 {
		ids = append(ids, "nothing")
	}
	return fmt.Sprintf("found %s in %d pages; counted %v", strings.Join(ids, ", "), o.pages, o.counts)
}

// maxListPages bounds a listing: a store whose cursor never ends must not
// hang the run.
const maxListPages = 64

// listing runs q through host's engine to its last page, and Count with
// q's filter. It reports a broken page (larger than the limit, a cursor
// that does not move on) as a violation; an error of the engine is one
// too, unless the host is dead.
func (w *world) listing(host int, q listQuery) (found []engine.Instance, pages int, counts map[string]int, err error) {
	e := w.hosts[host].e
	sq := storage.Query{Filter: q.filter, Order: q.order, Limit: q.limit}
	found = []engine.Instance{}
	for {
		page, err := e.Find(w.ctx, sq)
		if err != nil {
			w.fail(InvListing, "", "host %d's Find(%s) failed: %v", host, q, err)
			return nil, pages, nil, err
		}
		pages++
		if len(page.Instances) > q.limit {
			w.fail(InvListing, "", "Find(%s) returned a page of %d instances", q, len(page.Instances))
			return nil, pages, nil, nil
		}
		if len(found) == 0 && page.Next == "" && page.Instances != nil {
			// A listing of one page (the most common) keeps the page's own
			// array: the engine makes one per Find, and nothing here
			// modifies what was found.
			found = page.Instances
		} else {
			found = append(found, page.Instances...)
		}
		if page.Next == "" {
			break
		}
		if page.Next == sq.After || pages >= maxListPages {
			w.fail(InvListing, "", "Find(%s) does not end: page %d's cursor is %q after %q", q, pages, page.Next, sq.After)
			return nil, pages, nil, nil
		}
		sq.After = page.Next
	}
	counts, err = e.Count(w.ctx, q.filter)
	if err != nil {
		w.fail(InvListing, "", "host %d's Count(%s) failed: %v", host, q, err)
		return nil, pages, nil, err
	}
	return found, pages, counts, nil
}

// checkListed checks the instances a listing found: each matches the
// filter (by what its record says: its workflow, the status of its meta,
// its ID), comes once and in order, and has a due time if listed by it;
// and the simulated instance is among them exactly when the model says
// it matches (its committed meta's status, its workflow, its ID, its due
// time), at the model's version.
func (w *world) checkListed(q listQuery, found []engine.Instance) {
	seen := map[string]bool{}
	for i, inst := range found {
		switch {
		case seen[inst.ID]:
			w.fail(InvListing, "", "Find(%s) listed instance %q twice", q, inst.ID)
		case q.filter.Workflow != "" && inst.Workflow != q.filter.Workflow:
			w.fail(InvListing, "", "Find(%s) listed instance %q of workflow %q", q, inst.ID, inst.Workflow)
		case q.filter.Status != "" && inst.Meta.Status.String() != q.filter.Status:
			w.fail(InvListing, w.where(), "Find(%s) listed instance %q, which is %s: the index keeps it under a status it no longer has", q, inst.ID, inst.Meta.Status)
		case !strings.HasPrefix(inst.ID, q.filter.IDPrefix):
			w.fail(InvListing, "", "Find(%s) listed instance %q", q, inst.ID)
		case q.order == storage.ByDue && storedDue(inst.Meta).IsZero():
			w.fail(InvListing, "", "Find(%s) listed instance %q, which is not due", q, inst.ID)
		case i > 0 && !listedInOrder(q.order, found[i-1], inst):
			w.fail(InvListing, "", "Find(%s) listed instance %q after %q: out of %s order", q, inst.ID, found[i-1].ID, q.order)
		}
		if w.failure != nil {
			return
		}
		seen[inst.ID] = true
	}
	want := w.listsSim(q)
	var sim *engine.Instance
	for i := range found {
		if found[i].ID == instanceID {
			sim = &found[i]
		}
	}
	switch {
	case sim == nil && want:
		w.fail(InvListing, w.where(), "Find(%s) does not list the instance, which is %s (version %d, %s)", q, w.meta.Status, w.version, showDue(storedDue(w.meta)))
	case sim != nil && !want && w.ret.gone:
		w.fail(InvListing, "", "Find(%s) lists the instance after it was deleted", q)
	case sim != nil && !want:
		w.fail(InvListing, w.where(), "Find(%s) lists the instance, which is %s (version %d, %s)", q, w.meta.Status, w.version, showDue(storedDue(w.meta)))
	case sim != nil && sim.Version != w.version:
		w.fail(InvListing, w.where(), "Find(%s) lists the instance at version %d; the store holds version %d", q, sim.Version, w.version)
	}
}

// listedInOrder reports whether b may follow a in a listing in order o.
func listedInOrder(o storage.Order, a, b engine.Instance) bool {
	if o == storage.ByDue {
		da, db := storedDue(a.Meta), storedDue(b.Meta)
		if !da.Equal(db) {
			return da.Before(db)
		}
	}
	return a.ID < b.ID
}

// listsSim reports whether a listing by q must list the simulated
// instance, by the model's committed meta.
func (w *world) listsSim(q listQuery) bool {
	if w.ret.gone {
		return false
	}
	f := q.filter
	if f.Workflow != "" && f.Workflow != w.def.Name() {
		return false
	}
	if f.Status != "" && f.Status != w.meta.Status.String() {
		return false
	}
	if !strings.HasPrefix(instanceID, f.IDPrefix) {
		return false
	}
	return q.order != storage.ByDue || !storedDue(w.meta).IsZero()
}

// checkCounts checks Count's answer for q's filter: the simulated
// instance is counted under its status exactly when it matches the filter,
// and the counts are those of the instances a listing of the filter by ID
// finds: found, q's own listing, when q was by ID (listing it again would
// ask the same store the same again), else a listing by ID made here (a
// listing by due time leaves out what is not due).
func (w *world) checkCounts(host int, q listQuery, found []engine.Instance, counts map[string]int) {
	if counts == nil {
		w.fail(InvListing, "", "Count(%s) returned a nil map", q)
		return
	}
	byID := q
	byID.order = storage.ByID
	if q.order != storage.ByID {
		var err error
		if found, _, _, err = w.listing(host, byID); err != nil || w.failure != nil {
			return
		}
	}
	listed := map[string]int{}
	for _, inst := range found {
		listed[inst.Meta.Status.String()]++
	}
	simCounted := w.listsSim(byID)
	if simCounted && counts[w.meta.Status.String()] == 0 {
		w.fail(InvListing, w.where(), "Count(%s) = %v does not count the instance, which is %s", q, counts, w.meta.Status)
		return
	}
	var names []string
	for s := range counts {
		names = append(names, s)
	}
	for s := range listed {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		if counts[s] != listed[s] {
			w.fail(InvListing, w.where(), "Count(%s) = %v, but the instances listed by ID are %v (the instance is %s)", q, counts, listed, w.meta.Status)
			return
		}
	}
}
