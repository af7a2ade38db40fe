package memory_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// TestListingMatchesModel holds List, Find by ID (every filter, paged) and
// Count to a plain map of the instances under random creates, commits that
// move instances between workflows and statuses, deletes and creates of
// deleted IDs again, with reads between the writes or only now and then,
// so that the ID indexes merge both on reads and on writes.
func TestListingMatchesModel(t *testing.T) {
	ctx := context.Background()
	workflows := []string{"a", "b"}
	statuses := []string{"running", "waiting", "finished"}
	rapid.Check(t, func(t *rapid.T) {
		s := memory.New()
		defer s.Close()
		model := map[string]storage.Instance{}
		deleted := map[string]uint64{} // the version of each ID's tombstone
		universe := rapid.SampledFrom([]int{10, 2000}).Draw(t, "universe")
		idGen := rapid.Custom(func(t *rapid.T) string {
			return fmt.Sprintf("id-%d", rapid.IntRange(0, universe-1).Draw(t, "i"))
		})
		kindGen := func(t *rapid.T) (string, string) {
			return rapid.SampledFrom(workflows).Draw(t, "workflow"), rapid.SampledFrom(statuses).Draw(t, "status")
		}
		create := func(id, w, st string) {
			if _, ok := model[id]; ok {
				return
			}
			inst := storage.Instance{ID: id, Workflow: w, Status: st, Version: deleted[id]}
			v, err := s.Create(ctx, inst, nil)
			if err != nil {
				t.Fatal(err)
			}
			inst.Version = v
			model[id] = inst
		}
		commit := func(id, w, st string) {
			inst, ok := model[id]
			if !ok {
				return
			}
			inst.Workflow, inst.Status = w, st
			v, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: inst.Version})
			if err != nil {
				t.Fatal(err)
			}
			inst.Version = v
			model[id] = inst
		}
		del := func(id string) {
			inst, ok := model[id]
			if !ok {
				return
			}
			if err := s.Delete(ctx, id, inst.Version, nil); err != nil {
				t.Fatal(err)
			}
			delete(model, id)
			deleted[id] = inst.Version
		}
		t.Repeat(map[string]func(*rapid.T){
			"create": func(t *rapid.T) {
				w, st := kindGen(t)
				create(idGen.Draw(t, "id"), w, st)
			},
			"commit": func(t *rapid.T) {
				w, st := kindGen(t)
				commit(idGen.Draw(t, "id"), w, st)
			},
			"delete": func(t *rapid.T) { del(idGen.Draw(t, "id")) },
			"many writes": func(t *rapid.T) {
				ids := slices.Sorted(maps.Keys(model))
				for range rapid.IntRange(1, 3*universe).Draw(t, "n") {
					id := fmt.Sprintf("id-%d", rapid.IntRange(0, universe-1).Draw(t, "i"))
					w, st := kindGen(t)
					switch rapid.IntRange(0, 3).Draw(t, "op") {
					case 0, 1:
						if _, ok := model[id]; ok {
							commit(id, w, st)
						} else {
							create(id, w, st)
						}
					case 2:
						del(id)
					case 3:
						if len(ids) > 0 { // move an existing one back and forth
							id := ids[rapid.IntRange(0, len(ids)-1).Draw(t, "j")]
							commit(id, w, st)
							commit(id, workflows[0], statuses[0])
						}
					}
				}
			},
			"list": func(t *rapid.T) {
				after := ""
				if rapid.Bool().Draw(t, "from middle") {
					after = idGen.Draw(t, "after")
				}
				limit := rapid.IntRange(1, 50).Draw(t, "limit")
				got, err := s.List(ctx, after, limit)
				if err != nil {
					t.Fatal(err)
				}
				want := modelFind(model, storage.Filter{}, after)
				if !sameIDs(got, want[:min(len(want), limit)]) {
					t.Fatalf("List(%q, %d): got %v, want %v", after, limit, ids(got), ids(want[:min(len(want), limit)]))
				}
			},
			"find": func(t *rapid.T) {
				var f storage.Filter
				if rapid.Bool().Draw(t, "by workflow") {
					f.Workflow = rapid.SampledFrom(workflows).Draw(t, "workflow")
				}
				if rapid.Bool().Draw(t, "by status") {
					f.Status = rapid.SampledFrom(statuses).Draw(t, "status")
				}
				if rapid.Bool().Draw(t, "by prefix") {
					f.IDPrefix = fmt.Sprintf("id-%d", rapid.IntRange(1, 9).Draw(t, "prefix"))
				}
				limit := rapid.IntRange(1, 3*universe).Draw(t, "limit")
				var got []storage.Instance
				q := storage.Query{Filter: f, Limit: limit}
				for {
					page, err := s.Find(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, page.Instances...)
					if page.Next == "" {
						break
					}
					q.After = page.Next
				}
				if want := modelFind(model, f, ""); !sameIDs(got, want) {
					t.Fatalf("Find(%+v), pages of %d: got %v, want %v", f, limit, ids(got), ids(want))
				}
				counts, err := s.Count(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]int{}
				for _, inst := range modelFind(model, f, "") {
					want[inst.Status]++
				}
				if !maps.Equal(counts, want) {
					t.Fatalf("Count(%+v): got %v, want %v", f, counts, want)
				}
			},
		})
	})
}

// modelFind returns the instances of model that f admits and whose IDs
// come after after, by ID.
func modelFind(model map[string]storage.Instance, f storage.Filter, after string) []storage.Instance {
	var out []storage.Instance
	for _, inst := range model {
		if f.Matches(inst) && inst.ID > after {
			out = append(out, inst)
		}
	}
	slices.SortFunc(out, func(a, b storage.Instance) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func sameIDs(got, want []storage.Instance) bool {
	return slices.EqualFunc(got, want, func(g, w storage.Instance) bool {
		return g.ID == w.ID && g.Workflow == w.Workflow && g.Status == w.Status && g.Version == w.Version
	})
}

func ids(insts []storage.Instance) []string {
	var out []string
	for _, inst := range insts {
		out = append(out, inst.ID)
	}
	return out
}

// TestConcurrentReadsAfterWrites has readers, which share the store's
// lock and merge the ID indexes' pending additions and removals, race one
// another and a writer; run it with -race.
func TestConcurrentReadsAfterWrites(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				var err error
				switch (r + i) % 3 {
				case 0:
					_, err = s.List(ctx, "", 10)
				case 1:
					_, err = s.Find(ctx, storage.Query{Filter: storage.Filter{Status: "waiting"}, Limit: 10})
				case 2:
					_, err = s.Count(ctx, storage.Filter{IDPrefix: "i1"})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	deleted := map[string]uint64{} // the version of each ID's tombstone
	for i := range 2000 {
		id := fmt.Sprintf("i%d", i%500)
		inst := storage.Instance{ID: id, Workflow: "w", Status: "waiting", Version: deleted[id]}
		v, err := s.Create(ctx, inst, nil)
		if err != nil {
			continue // created before and not yet deleted
		}
		if i%2 == 0 {
			inst.Status = "finished"
			if v, err = s.Commit(ctx, storage.Commit{Instance: inst, Expect: v}); err != nil {
				t.Fatal(err)
			}
		}
		if i%3 == 0 {
			if err := s.Delete(ctx, id, v, nil); err != nil {
				t.Fatal(err)
			}
			deleted[id] = v
		}
	}
	wg.Wait()
}
