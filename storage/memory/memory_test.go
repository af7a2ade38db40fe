package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
	"github.com/weftflow/weft/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return memory.New() },
		// A second handle on the same data stands for a second process
		// on a shared database: the suite races claims across the two.
		storagetest.WithShared(func(t *testing.T, first storage.Store) storage.Store {
			return first.(*memory.Store).Share()
		}))
}

// TestLargeIndexes drives the indexes far past the sizes of the conformance
// suite, so that their internal chunks split and merge, and checks them
// against plain sorting.
func TestLargeIndexes(t *testing.T) {
	const n = 3000
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	s := memory.New()
	defer s.Close()
	base := time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC)

	insts := make(map[string]storage.Instance, n)
	var pending []string
	randomDue := func() time.Time {
		if rng.IntN(4) == 0 {
			return time.Time{}
		}
		return base.Add(time.Duration(rng.IntN(500)) * time.Second)
	}
	for _, i := range rng.Perm(n) {
		id := fmt.Sprintf("i%05d", i)
		inst := storage.Instance{ID: id, Due: randomDue()}
		eff := storage.Effect{ID: id + "@1", Instance: id}
		if _, err := s.Create(ctx, inst, []storage.Effect{eff}); err != nil {
			t.Fatal(err)
		}
		inst.Version = 1
		insts[id] = inst
		pending = append(pending, eff.ID)
	}

	check := func(when string) {
		t.Helper()
		var wantList []storage.Instance
		var wantDue []storage.Due
		for _, inst := range insts {
			wantList = append(wantList, inst)
			if !inst.Due.IsZero() {
				wantDue = append(wantDue, storage.Due{ID: inst.ID, At: inst.Due})
			}
		}
		slices.SortFunc(wantList, func(a, b storage.Instance) int { return strings.Compare(a.ID, b.ID) })
		slices.SortFunc(wantDue, func(a, b storage.Due) int {
			if c := a.At.Compare(b.At); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		var gotList []storage.Instance
		for after := ""; ; {
			page, err := s.List(ctx, after, 701)
			if err != nil {
				t.Fatal(err)
			}
			gotList = append(gotList, page...)
			if len(page) < 701 {
				break
			}
			after = page[len(page)-1].ID
		}
		if !sameInstances(wantList, gotList) {
			t.Fatalf("%s: List (-want +got):\n%s", when, cmp.Diff(wantList, gotList, cmpopts.EquateEmpty()))
		}
		gotDue, err := s.DueBefore(ctx, base.Add(time.Hour), 10*n)
		if err != nil {
			t.Fatal(err)
		}
		if !sameDues(wantDue, gotDue) {
			t.Fatalf("%s: DueBefore (-want +got):\n%s", when, cmp.Diff(wantDue, gotDue))
		}
		gotOutbox, err := s.Outbox(ctx, 10*n)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []string
		for _, e := range gotOutbox {
			gotIDs = append(gotIDs, e.ID)
		}
		if !slices.Equal(pending, gotIDs) {
			t.Fatalf("%s: Outbox (-want +got):\n%s", when, cmp.Diff(pending, gotIDs, cmpopts.EquateEmpty()))
		}
	}
	check("after creating")

	for round := range 3 {
		// Move most dues around, adding effects.
		for _, i := range rng.Perm(n)[:n*3/4] {
			id := fmt.Sprintf("i%05d", i)
			inst := insts[id]
			inst.Due = randomDue()
			eff := storage.Effect{ID: fmt.Sprintf("%s@%d", id, inst.Version+1), Instance: id}
			v, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: inst.Version, Effects: []storage.Effect{eff}})
			if err != nil {
				t.Fatal(err)
			}
			inst.Version = v
			insts[id] = inst
			pending = append(pending, eff.ID)
		}
		check(fmt.Sprintf("round %d, after committing", round))

		// Acknowledge most effects, in random order, leaving holes.
		rng.Shuffle(len(pending), func(i, j int) { pending[i], pending[j] = pending[j], pending[i] })
		keep := len(pending) / 10
		if err := s.Ack(ctx, pending[keep:]...); err != nil {
			t.Fatal(err)
		}
		kept := make(map[string]bool)
		for _, id := range pending[:keep] {
			kept[id] = true
		}
		out, err := s.Outbox(ctx, 10*n)
		if err != nil {
			t.Fatal(err)
		}
		pending = pending[:0]
		for _, e := range out {
			if kept[e.ID] {
				pending = append(pending, e.ID)
			}
		}
		if len(pending) != keep {
			t.Fatalf("round %d: %d effects left after acking, want %d", round, len(out), keep)
		}
		check(fmt.Sprintf("round %d, after acking", round))
	}
}

// sameInstances and sameDues are fast checks for the large slices of
// TestLargeIndexes; cmp.Diff explains a mismatch.
func sameInstances(want, got []storage.Instance) bool {
	return slices.EqualFunc(want, got, func(w, g storage.Instance) bool {
		return w.ID == g.ID && w.Workflow == g.Workflow && w.Version == g.Version &&
			w.Status == g.Status && w.Due.Equal(g.Due) && string(w.Data) == string(g.Data)
	})
}

func sameDues(want, got []storage.Due) bool {
	return slices.EqualFunc(want, got, func(w, g storage.Due) bool {
		return w.ID == g.ID && w.At.Equal(g.At)
	})
}

// TestCommitReusesDataPrivately commits records whose Data grows,
// shrinks, empties and goes nil (a commit copies Data into the replaced
// record's array when it fits) and checks that Load returns each, nil or
// not as written, and that changing what was committed or loaded changes
// nothing stored.
func TestCommitReusesDataPrivately(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()
	inst := storage.Instance{ID: "i", Data: []byte("first record")}
	v, err := s.Create(ctx, inst, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, data := range [][]byte{
		[]byte("second"), []byte("third record, longer than the first"), {}, []byte("x"),
		nil, []byte("after nil"), []byte(strings.Repeat("big", 100)), []byte("small again"), {},
	} {
		inst.Data = slices.Clone(data)
		if v, err = s.Commit(ctx, storage.Commit{Instance: inst, Expect: v}); err != nil {
			t.Fatal(err)
		}
		clear(inst.Data) // the caller's array is the caller's
		got, err := s.Load(ctx, "i")
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Data) != string(data) || (got.Data == nil) != (data == nil) {
			t.Fatalf("commit %d: loaded Data %q (nil: %v), want %q (nil: %v)", i, got.Data, got.Data == nil, data, data == nil)
		}
		clear(got.Data)
		if again, _ := s.Load(ctx, "i"); string(again.Data) != string(data) {
			t.Fatalf("commit %d: after changing the loaded copy, Data %q, want %q", i, again.Data, data)
		}
	}
}
