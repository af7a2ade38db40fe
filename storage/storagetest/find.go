package storagetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
)

// Tests of storage.Listing (Find, Count) and storage.Retention (Delete).
// The expected results are computed from List, which the List test checks
// on its own: a filter selects from what List returns, in its order.

func mustFind(t tb, s storage.Store, q storage.Query) storage.Page {
	t.Helper()
	p, err := s.Find(context.Background(), q)
	if err != nil {
		t.Fatalf("Find(%+v): %v", q, err)
	}
	if len(p.Instances) > q.Limit {
		t.Fatalf("Find(%+v) returned %d instances", q, len(p.Instances))
	}
	return p
}

// findAll pages through q's matches, q.Limit at a time, with at most
// limitPages pages.
func findAll(t tb, s storage.Store, q storage.Query, limitPages int) []storage.Instance {
	t.Helper()
	var out []storage.Instance
	for pages := 0; ; pages++ {
		if pages > limitPages {
			t.Fatalf("paging %+v does not end after %d pages", q, pages)
		}
		p := mustFind(t, s, q)
		out = append(out, p.Instances...)
		if p.Next == "" {
			return out
		}
		if len(p.Instances) != q.Limit {
			t.Fatalf("Find(%+v) returned %d instances and a next cursor: only a full page may have one", q, len(p.Instances))
		}
		q.After = p.Next
	}
}

func mustCount(t tb, s storage.Store, f storage.Filter) map[string]int {
	t.Helper()
	got, err := s.Count(context.Background(), f)
	if err != nil {
		t.Fatalf("Count(%+v): %v", f, err)
	}
	if got == nil {
		t.Fatalf("Count(%+v) returned a nil map", f)
	}
	return got
}

// wantFind is what Find must return for q over all (every instance, by ID).
func wantFind(all []storage.Instance, q storage.Query) []storage.Instance {
	var out []storage.Instance
	for _, inst := range all {
		if q.Filter.Matches(inst) && (q.Order == storage.ByID || !inst.Due.IsZero()) {
			out = append(out, inst)
		}
	}
	if q.Order == storage.ByDue {
		slices.SortStableFunc(out, func(a, b storage.Instance) int { return a.Due.Compare(b.Due) }) // stable: ties stay by ID
	}
	return out
}

// wantCount is what Count must return for f over all.
func wantCount(all []storage.Instance, f storage.Filter) map[string]int {
	out := map[string]int{}
	for _, inst := range all {
		if f.Matches(inst) {
			out[inst.Status]++
		}
	}
	return out
}

// checkFinds compares Find (both orders, several page sizes) and Count
// with what List shows, for every filter.
func checkFinds(t tb, s storage.Store, filters []storage.Filter, sizes []int) {
	t.Helper()
	all := mustList(t, s, "", all)
	for _, f := range filters {
		for _, order := range []storage.Order{storage.ByID, storage.ByDue} {
			for _, size := range sizes {
				q := storage.Query{Filter: f, Order: order, Limit: size}
				want := wantFind(all, q)
				if d := diff(want, findAll(t, s, q, len(all)+1)); d != "" {
					t.Fatalf("Find %+v by %v, %d per page (-want +got):\n%s", f, order, size, d)
				}
			}
		}
		if d := diff(wantCount(all, f), mustCount(t, s, f)); d != "" {
			t.Fatalf("Count(%+v) (-want +got):\n%s", f, d)
		}
	}
}

// filtersOver returns every filter that names one of workflows (or none),
// one of statuses (or none), and one of prefixes (or none).
func filtersOver(workflows, statuses, prefixes []string) []storage.Filter {
	var out []storage.Filter
	for _, w := range append([]string{""}, workflows...) {
		for _, st := range append([]string{""}, statuses...) {
			for _, p := range append([]string{""}, prefixes...) {
				out = append(out, storage.Filter{Workflow: w, Status: st, IDPrefix: p})
			}
		}
	}
	return out
}

func testFind(t *testing.T, open opener) {
	s := open.fresh(t)
	filters := filtersOver([]string{"order", "ship", "none"}, []string{"running", "completed", "failed", "gone"}, []string{"o-1", "s-", "x"})
	checkFinds(t, s, filters, []int{1, 3, 100})

	workflows := []string{"order", "ship"}
	statuses := []string{"running", "completed", "failed"}
	for i := range 40 {
		w := workflows[i%2]
		inst := storage.Instance{ID: fmt.Sprintf("%c-%02d", w[0], (i*7)%40), Workflow: w, Status: statuses[i%3], Data: counter(i)}
		if i%4 != 0 {
			inst.Due = at(time.Duration(i%5) * time.Second) // ties in due time, broken by ID
		}
		mustCreate(t, s, inst)
	}
	checkFinds(t, s, filters, []int{1, 3, 7, 40, 100})

	// Commits move instances between statuses, workflows and due times.
	for i, id := range []string{"o-00", "s-07", "o-14"} {
		inst := mustLoad(t, s, id)
		inst.Status, inst.Workflow, inst.Due = "completed", "ship", at(time.Duration(-i)*time.Hour)
		mustCommit(t, s, inst.Version, inst)
	}
	inst := mustLoad(t, s, "s-21")
	inst.Due = time.Time{}
	mustCommit(t, s, inst.Version, inst)
	checkFinds(t, s, filters, []int{1, 4, 100})

	s = open.again(t, s)
	checkFinds(t, s, filters, []int{5})
}

func testFindBytes(t *testing.T, open opener) {
	s := open.fresh(t)
	// IDs, workflows and statuses are any bytes: the store must not cut
	// them at a NUL, trim them, fold them or read them as text.
	ids := []string{"\x00", "\x00\x00", "a", "a\x00", "a\x00b", "a\xff", "a\xff\xff", "\xff", "\xff\x00", "é", "e\u0301", "A", "a b"}
	workflows := []string{"w", "w\x00", "w\x00x", "\xff", "W", "w "}
	statuses := []string{"s", "s\x00", "\xff\xfe", "S"}
	for i, id := range ids {
		inst := storage.Instance{ID: id, Workflow: workflows[i%len(workflows)], Status: statuses[i%len(statuses)], Data: []byte(id)}
		if i%3 != 0 {
			inst.Due = at(time.Duration(i%2) * time.Millisecond)
		}
		mustCreate(t, s, inst)
	}
	filters := filtersOver(workflows, statuses, []string{"\x00", "a", "a\x00", "a\xff", "\xff", "e"})
	checkFinds(t, s, filters, []int{1, 2, 100})
}

func testFindMany(t *testing.T, open opener) {
	s := open.fresh(t)
	const n = 1200
	for i := range n {
		inst := storage.Instance{
			ID:       fmt.Sprintf("m%05d", (i*7919)%n),
			Workflow: []string{"a", "b", "c"}[i%3],
			Status:   []string{"running", "completed", "failed", "canceled"}[i%4],
		}
		if i%2 == 0 {
			inst.Due = at(time.Duration(i%17) * time.Minute)
		}
		mustCreate(t, s, inst)
	}
	filters := []storage.Filter{{}, {Workflow: "b"}, {Status: "failed"}, {Workflow: "c", Status: "canceled"}, {IDPrefix: "m001"}, {Workflow: "a", IDPrefix: "m00"}}
	checkFinds(t, s, filters, []int{1000, 97})
	counts := mustCount(t, s, storage.Filter{})
	if d := diff(map[string]int{"running": n / 4, "completed": n / 4, "failed": n / 4, "canceled": n / 4}, counts); d != "" {
		t.Errorf("Count of everything (-want +got):\n%s", d)
	}
}

// testFindWhileChanging pages while every page changes instances' status:
// an instance that matches and does not change is seen exactly once, none
// is seen twice while it does not move, and paging ends.
func testFindWhileChanging(t *testing.T, open opener) {
	s := open.fresh(t)
	const n = 60
	for i := range n {
		mustCreate(t, s, storage.Instance{ID: fmt.Sprintf("c%02d", i), Workflow: "w", Status: "running", Due: at(time.Duration(i%7) * time.Second)})
	}
	for _, order := range []storage.Order{storage.ByID, storage.ByDue} {
		for _, f := range []storage.Filter{{Workflow: "w"}, {Status: "running"}, {Workflow: "w", Status: "running"}} {
			q := storage.Query{Filter: f, Order: order, Limit: 5}
			seen := map[string]int{}
			changed := map[string]bool{}
			for pages := 0; ; pages++ {
				if pages > n {
					t.Fatalf("paging %+v by %v while changing does not end", f, order)
				}
				p := mustFind(t, s, q)
				for _, inst := range p.Instances {
					seen[inst.ID]++
				}
				// Finish one instance ahead of the cursor and one behind
				// it, and start one ahead again.
				for _, id := range []string{fmt.Sprintf("c%02d", (pages*11+3)%n), fmt.Sprintf("c%02d", (pages*5)%n)} {
					inst := mustLoad(t, s, id)
					if inst.Status == "running" {
						inst.Status = "completed"
					} else {
						inst.Status = "running"
					}
					mustCommit(t, s, inst.Version, inst)
					changed[id] = true
				}
				if p.Next == "" {
					break
				}
				q.After = p.Next
			}
			for i := range n {
				id := fmt.Sprintf("c%02d", i)
				if !changed[id] && seen[id] != 1 {
					t.Errorf("paging %+v by %v: unchanged instance %q seen %d times, want once", f, order, id, seen[id])
				}
			}
			// Put every instance back to running for the next round.
			for i := range n {
				inst := mustLoad(t, s, fmt.Sprintf("c%02d", i))
				if inst.Status != "running" {
					inst.Status = "running"
					mustCommit(t, s, inst.Version, inst)
				}
			}
		}
	}
	checkFinds(t, s, []storage.Filter{{}, {Status: "running"}, {Status: "completed"}}, []int{7})
}

func testFindInvalid(t *testing.T, open opener) {
	s := open.fresh(t)
	mustCreate(t, s, storage.Instance{ID: "a", Workflow: "w", Status: "running", Due: at(0)})
	byID := mustFind(t, s, storage.Query{Limit: 1})
	byDue := mustFind(t, s, storage.Query{Order: storage.ByDue, Limit: 1})
	if byID.Next != "" || byDue.Next != "" {
		t.Fatalf("a page holding the only instance has a next cursor: %q, %q", byID.Next, byDue.Next)
	}
	mustCreate(t, s, storage.Instance{ID: "b", Workflow: "w", Status: "running", Due: at(time.Second)})
	byID = mustFind(t, s, storage.Query{Limit: 1})
	byDue = mustFind(t, s, storage.Query{Order: storage.ByDue, Limit: 1})
	if byID.Next == "" || byDue.Next == "" {
		t.Fatalf("a full page with more to come has no next cursor: %q, %q", byID.Next, byDue.Next)
	}
	before := snapshot(t, s)
	for _, q := range []storage.Query{
		{Limit: 0},
		{Limit: -1},
		{Order: 7, Limit: 1},
		{Order: storage.ByDue, After: byID.Next, Limit: 1}, // a cursor of the other order
		{Order: storage.ByID, After: byDue.Next, Limit: 1},
		{After: "garbage", Limit: 1},
		{After: "i", Limit: 1}, // an empty ID
		{Order: storage.ByDue, After: "d\x00", Limit: 1},
	} {
		_, err := s.Find(context.Background(), q)
		wantErr(t, fmt.Sprintf("Find(%+v)", q), err, storage.ErrInvalid, "")
	}
	unchanged(t, s, before, "invalid Finds")
}

func mustDelete(t tb, s storage.Store, id string, expect uint64, tombstone []byte) {
	t.Helper()
	if err := s.Delete(context.Background(), id, expect, tombstone); err != nil {
		t.Fatalf("Delete(%q, %d): %v", id, expect, err)
	}
}

func testDelete(t *testing.T, open opener) {
	s := open.fresh(t)
	ctx := context.Background()
	mustCreate(t, s, storage.Instance{ID: "done", Workflow: "w", Status: "completed", Due: at(time.Second)}, effects("done", "done/1")...)
	mustCreate(t, s, storage.Instance{ID: "keep", Workflow: "w", Status: "running", Due: at(2 * time.Second)})
	mustCreate(t, s, storage.Instance{ID: "dead", Workflow: "w", Status: "failed"}, effects("dead", "dead/1")...)

	before := snapshot(t, s)
	wantErr(t, "Delete of a missing instance", s.Delete(ctx, "nope", 1, nil), storage.ErrNotFound, "nope")
	wantErr(t, "Delete with a stale version", s.Delete(ctx, "keep", 2, nil), storage.ErrConflict, "keep")
	wantErr(t, "Delete with an effect in the outbox", s.Delete(ctx, "done", 1, nil), storage.ErrHasEffects, "done")
	wantErr(t, "Delete with a stale version and an effect", s.Delete(ctx, "done", 3, nil), storage.ErrConflict, "done")
	wantErr(t, "Delete of an empty ID", s.Delete(ctx, "", 1, nil), storage.ErrInvalid, "")
	unchanged(t, s, before, "refused Deletes")

	// A dead letter holds the instance too, until it is requeued and acknowledged.
	l := mustAcquire(t, s, "dead", claimReq("p", now(), time.Minute, 1))
	if err := s.DeadLetter(ctx, l, "dead/1", storage.RetryState{Attempts: 3, LastError: "boom"}); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	wantErr(t, "Delete with a dead letter", s.Delete(ctx, "dead", 1, nil), storage.ErrHasEffects, "dead")
	if n, err := s.Requeue(ctx, "dead/1"); err != nil || n != 1 {
		t.Fatalf("Requeue = %d, %v", n, err)
	}
	wantErr(t, "Delete with a requeued effect", s.Delete(ctx, "dead", 1, nil), storage.ErrHasEffects, "dead")
	mustAck(t, s, "dead/1", "done/1")

	mustDelete(t, s, "done", 1, nil)
	mustDelete(t, s, "dead", 1, []byte("dead"))
	wantErr(t, "a second Delete", s.Delete(ctx, "done", 1, nil), storage.ErrNotFound, "done")
	_, aerr := s.Acquire(ctx, "dead", claimReq("p", now(), time.Minute, 1)) // its lease was live when it was deleted
	wantErr(t, "Acquire of a deleted instance", aerr, storage.ErrNotFound, "dead")
	if _, err := s.Load(ctx, "done"); err == nil {
		t.Errorf("Load of a deleted instance succeeded")
	} else {
		wantErr(t, "Load of a deleted instance", err, storage.ErrNotFound, "done")
	}
	keep := mustLoad(t, s, "keep")
	want := state{Instances: []storage.Instance{keep}, Due: []storage.Due{{ID: "keep", At: at(2 * time.Second)}}}
	if d := diff(want, snapshot(t, s)); d != "" {
		t.Errorf("after Deletes (-want +got):\n%s", d)
	}
	checkFinds(t, s, filtersOver([]string{"w"}, []string{"completed", "running", "failed"}, nil), []int{1, 10})
	if d := diff(map[string]int{"running": 1}, mustCount(t, s, storage.Filter{Workflow: "w"})); d != "" {
		t.Errorf("Count after Deletes (-want +got):\n%s", d)
	}
	if got := mustClaim(t, s, claimReq("p", farFuture, time.Minute, 10)); len(got) != 1 || got[0].Instance != "keep" {
		t.Errorf("Claim after Deletes = %+v, want only keep", got)
	}

	// The ID can be used again, naming the deleted instance's version,
	// and its leases fence those of the deleted instance.
	if v, err := s.Create(ctx, storage.Instance{ID: "dead", Workflow: "w2", Status: "running", Version: 1}, nil); err != nil || v != 2 {
		t.Fatalf("Create of a deleted ID naming its version = %d, %v; want version 2", v, err)
	}
	l2 := mustAcquire(t, s, "dead", claimReq("p", now(), time.Minute, 1))
	if l2.Token <= l.Token {
		t.Errorf("a lease of a re-created instance has token %d, not more than %d of the deleted one's", l2.Token, l.Token)
	}
	_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "dead", Workflow: "w2", Status: "x"}, Expect: 2, Lease: &l})
	wantErr(t, "Commit with a lease of the deleted instance", err, storage.ErrFenced, "dead")

	s = open.again(t, s)
	checkFinds(t, s, filtersOver([]string{"w", "w2"}, []string{"running"}, nil), []int{1, 10})
	if got := mustLoad(t, s, "dead"); got.Version != 2 || got.Workflow != "w2" {
		t.Errorf("re-created instance after reopening = %+v", got)
	}
}

// testTombstone checks what Delete leaves of an instance: a Create of its
// ID must name its version, learned from the DeletedError that carries the
// host's tombstone, and the new instance's versions follow the deleted
// one's, across reopening.
func testTombstone(t *testing.T, open opener) {
	s := open.fresh(t)
	ctx := context.Background()
	mustCreate(t, s, storage.Instance{ID: "t", Workflow: "w", Status: "running"})
	mustCommit(t, s, 1, storage.Instance{ID: "t", Workflow: "w", Status: "running"})
	mustCommit(t, s, 2, storage.Instance{ID: "t", Workflow: "w", Status: "completed"})
	mustCreate(t, s, storage.Instance{ID: "other", Workflow: "w", Status: "running"}, effects("other", "taken")...)
	mustDelete(t, s, "t", 3, []byte("numbering 1"))

	wantDeleted := func(what string, err error, version uint64, tomb string) {
		t.Helper()
		var de *storage.DeletedError
		switch {
		case !errors.Is(err, storage.ErrDeleted):
			t.Fatalf("%s: error %v, want one wrapping storage.ErrDeleted: the tombstone Delete left is lost", what, err)
		case !errors.As(err, &de):
			t.Fatalf("%s: error %v is not a *storage.DeletedError", what, err)
		case de.ID != "t" || de.Version != version || string(de.Tombstone) != tomb:
			t.Fatalf("%s: %+v, want ID %q, version %d, tombstone %q", what, *de, "t", version, tomb)
		}
	}
	before := snapshot(t, s)
	for _, v := range []uint64{0, 1, 2, 4} {
		_, err := s.Create(ctx, storage.Instance{ID: "t", Workflow: "w", Status: "running", Version: v}, effects("t", "t/1"))
		wantDeleted(fmt.Sprintf("Create of a deleted ID with Version %d", v), err, 3, "numbering 1")
	}
	_, err := s.Create(ctx, storage.Instance{ID: "t", Workflow: "w", Status: "running"}, effects("t", "taken"))
	wantDeleted("Create of a deleted ID, not naming it, with a taken effect ID", err, 3, "numbering 1")
	_, err = s.Create(ctx, storage.Instance{ID: "t", Workflow: "w", Status: "running", Version: 3}, effects("t", "taken"))
	wantErr(t, "Create naming the tombstone, with a taken effect ID", err, storage.ErrExists, "t")
	_, err = s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "t", Workflow: "w", Status: "x"}, Expect: 3})
	wantErr(t, "Commit of a deleted instance", err, storage.ErrNotFound, "t")
	wantErr(t, "Delete of a deleted instance", s.Delete(ctx, "t", 3, nil), storage.ErrNotFound, "t")
	unchanged(t, s, before, "Creates over a tombstone that did not name it")

	v, err := s.Create(ctx, storage.Instance{ID: "t", Workflow: "w2", Status: "running", Version: 3}, effects("t", "t/1"))
	if err != nil || v != 4 {
		t.Fatalf("Create naming the tombstone = %d, %v; want version 4", v, err)
	}
	if got := mustLoad(t, s, "t"); got.Version != 4 || got.Workflow != "w2" {
		t.Fatalf("the re-created instance = %+v, want version 4 of w2", got)
	}
	_, err = s.Create(ctx, storage.Instance{ID: "t", Workflow: "w", Status: "running", Version: 3}, nil)
	wantErr(t, "Create of a live ID naming its old tombstone", err, storage.ErrExists, "t")
	_, err = s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "t", Workflow: "w2", Status: "x"}, Expect: 3})
	wantErr(t, "Commit based on the deleted instance", err, storage.ErrConflict, "t")
	wantErr(t, "Delete based on the deleted instance", s.Delete(ctx, "t", 3, nil), storage.ErrConflict, "t")
	mustAck(t, s, "t/1")
	mustCommit(t, s, 4, storage.Instance{ID: "t", Workflow: "w2", Status: "completed"})

	// A second deletion replaces the tombstone; an empty one is kept as
	// empty; both survive reopening.
	mustDelete(t, s, "t", 5, []byte("numbering 2"))
	mustCreate(t, s, storage.Instance{ID: "e", Workflow: "w", Status: "done"})
	mustDelete(t, s, "e", 1, nil)
	s = open.again(t, s)
	_, err = s.Create(ctx, storage.Instance{ID: "t", Workflow: "w", Status: "running", Version: 3}, nil)
	wantDeleted("Create naming the first tombstone, after reopening", err, 5, "numbering 2")
	_, err = s.Create(ctx, storage.Instance{ID: "e", Workflow: "w", Status: "running"}, nil)
	var de *storage.DeletedError
	if !errors.As(err, &de) || de.Version != 1 || len(de.Tombstone) != 0 {
		t.Fatalf("Create over an empty tombstone after reopening: %v (%+v), want a DeletedError at version 1 with no bytes", err, de)
	}
	if v, err := s.Create(ctx, storage.Instance{ID: "t", Workflow: "w", Status: "running", Version: 5}, nil); err != nil || v != 6 {
		t.Fatalf("Create naming the second tombstone after reopening = %d, %v; want version 6", v, err)
	}
	checkFinds(t, s, filtersOver([]string{"w", "w2"}, []string{"running", "completed"}, nil), []int{1, 10})
}

// testTombstoneRace races Create with the Delete of the same ID: a Create
// that does not name a tombstone either finds the instance (ErrExists) or
// the tombstone (ErrDeleted), never creates it at version 1; one that
// names it finds the instance or creates the next version. Then three
// parties: two Creates naming the same tombstone, one of them followed by
// a Delete of what it made. The other Create may win (and the first then
// finds its instance), or find the first's instance, or the new
// tombstone; both never succeed, which a store that reads the tombstone
// only once, before another Create and Delete both commit, would allow.
func testTombstoneRace(t *testing.T, open opener) {
	s := open.fresh(t)
	ctx := context.Background()
	for i := range 80 {
		id := fmt.Sprintf("r%02d", i)
		mustCreate(t, s, storage.Instance{ID: id, Workflow: "w", Status: "completed"})
		named := uint64(0)
		if i%2 == 1 {
			named = 1
		}
		var (
			v          uint64
			derr, cerr error
			wg         sync.WaitGroup
		)
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			derr = s.Delete(ctx, id, 1, []byte(id))
		})
		wg.Go(func() {
			<-start
			if i%4 >= 2 {
				runtime.Gosched() // (so that either may go first)
			}
			v, cerr = s.Create(ctx, storage.Instance{ID: id, Workflow: "w", Status: "running", Version: named}, nil)
		})
		close(start)
		wg.Wait()
		if derr != nil {
			t.Fatalf("%s: Delete: %v", id, derr)
		}
		switch {
		case errors.Is(cerr, storage.ErrExists):
		case named == 0 && errors.Is(cerr, storage.ErrDeleted):
		case named == 1 && cerr == nil && v == 2:
		default:
			t.Fatalf("%s: Create (naming version %d) racing Delete = version %d, %v: it saw neither the instance nor its tombstone", id, named, v, cerr)
		}
	}

	for i := range 80 {
		id := fmt.Sprintf("t%02d", i)
		mustCreate(t, s, storage.Instance{ID: id, Workflow: "w", Status: "completed"})
		mustDelete(t, s, id, 1, nil)
		var (
			va, vb     uint64
			aerr, berr error
			derr       error
			wg         sync.WaitGroup
		)
		start := make(chan struct{})
		wg.Go(func() { // a Create, then a Delete of what it made
			<-start
			if vb, berr = s.Create(ctx, storage.Instance{ID: id, Workflow: "w", Status: "completed", Version: 1}, nil); berr == nil {
				derr = s.Delete(ctx, id, vb, []byte("b"))
			}
		})
		wg.Go(func() {
			<-start
			if i%2 == 1 {
				runtime.Gosched()
			}
			va, aerr = s.Create(ctx, storage.Instance{ID: id, Workflow: "w", Status: "running", Version: 1}, nil)
		})
		close(start)
		wg.Wait()
		if derr != nil {
			t.Fatalf("%s: Delete of the racing Create's instance: %v", id, derr)
		}
		var de *storage.DeletedError
		switch {
		case aerr == nil && berr == nil:
			t.Fatalf("%s: two Creates naming the same tombstone both succeeded (versions %d and %d): one passed over the other's instance or its tombstone", id, va, vb)
		case aerr == nil:
			if !errors.Is(berr, storage.ErrExists) {
				t.Fatalf("%s: the other Create, racing the one that won, = %v; want ErrExists", id, berr)
			}
			if inst, err := s.Load(ctx, id); err != nil || inst.Version != 2 || inst.Status != "running" || va != 2 {
				t.Fatalf("%s: the Create that won = version %d; Load = %+v, %v; want it stored at version 2", id, va, inst, err)
			}
		case errors.Is(aerr, storage.ErrExists):
		case errors.As(aerr, &de) && de.Version == 2 && string(de.Tombstone) == "b":
		default:
			t.Fatalf("%s: Create racing another Create and its Delete = %v, want success, ErrExists or the new tombstone (version 2, %q)", id, aerr, "b")
		}
	}
}

func testDeleteRace(t *testing.T, open opener) {
	s := open.fresh(t)
	ctx := context.Background()
	// A writer and a deleter race from the same version: exactly one wins.
	for i := range 20 {
		id := fmt.Sprintf("r%02d", i)
		mustCreate(t, s, storage.Instance{ID: id, Workflow: "w", Status: "completed"})
		errs := make(chan error, 2)
		go func() { errs <- s.Delete(ctx, id, 1, nil) }()
		go func() {
			_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: id, Workflow: "w", Status: "running"}, Expect: 1, Effects: effects(id, id+"/1")})
			errs <- err
		}()
		e1, e2 := <-errs, <-errs
		if (e1 == nil) == (e2 == nil) {
			t.Fatalf("%s: Delete and Commit from version 1 returned %v and %v: want exactly one to succeed", id, e1, e2)
		}
		inst, err := s.Load(ctx, id)
		switch {
		case err == nil && (inst.Status != "running" || inst.Version != 2):
			t.Fatalf("%s: the commit won but the store holds %+v", id, inst)
		case err == nil:
			mustAck(t, s, id+"/1")
		case len(mustOutbox(t, s, all)) != 0:
			t.Fatalf("%s: the delete won but the commit's effect is in the outbox", id)
		}
	}
	checkFinds(t, s, []storage.Filter{{}, {Status: "running"}, {Status: "completed"}}, []int{3})
}

// listingCalls returns one call of every method of storage.Listing and
// storage.Retention.
func listingCalls(s storage.Store) []opCase {
	return []opCase{
		{"Find", func(ctx context.Context) error {
			_, err := s.Find(ctx, storage.Query{Filter: storage.Filter{Workflow: "w"}, Limit: 10})
			return err
		}},
		{"Count", func(ctx context.Context) error {
			_, err := s.Count(ctx, storage.Filter{})
			return err
		}},
		{"Delete", func(ctx context.Context) error { return s.Delete(ctx, "a", 1, nil) }},
	}
}
