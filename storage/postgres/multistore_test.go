package postgres_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/postgres"
)

var base = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

// TestTwoStoresRaceCommits races writers on two stores opened on the same
// schema, as two processes would, over the same few instances. Every writer
// loads, increments a counter in the record and commits with the version it
// loaded, retrying on ErrConflict. The compare-and-set must hold across the
// stores: no two commits succeed from one version, no increment is lost, and
// each instance's effects are in the outbox once per version, in version
// order.
func TestTwoStoresRaceCommits(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	stores := []*postgres.Store{openSchema(t, schema), openSchema(t, schema)}
	ctx := t.Context()

	const instances, writersPerStore, increments = 4, 4, 15
	for i := range instances {
		id := "inst-" + strconv.Itoa(i)
		if _, err := stores[0].Create(ctx, storage.Instance{ID: id, Data: []byte("0")}, nil); err != nil {
			t.Fatal(err)
		}
	}

	type win struct {
		id      string
		version uint64
	}
	var (
		mu        sync.Mutex
		wins      = map[win]int{} // successful commits from each version
		conflicts int
	)
	var wg sync.WaitGroup
	for si, s := range stores {
		for w := range writersPerStore {
			wg.Go(func() {
				for n := range increments {
					id := "inst-" + strconv.Itoa((si+w+n)%instances)
					for {
						inst, err := s.Load(ctx, id)
						if err != nil {
							t.Error(err)
							return
						}
						count, _ := strconv.Atoi(string(inst.Data))
						next := strconv.Itoa(count + 1)
						v, err := s.Commit(ctx, storage.Commit{
							Instance: storage.Instance{ID: id, Due: base.Add(time.Duration(count) * time.Second), Data: []byte(next)},
							Expect:   inst.Version,
							Effects:  []storage.Effect{{ID: fmt.Sprintf("%s/%d", id, inst.Version+1), Instance: id, Data: []byte(next)}},
						})
						if errors.Is(err, storage.ErrConflict) {
							mu.Lock()
							conflicts++
							mu.Unlock()
							continue
						}
						if err != nil {
							t.Errorf("store %d: Commit(%s, expect %d): %v", si, id, inst.Version, err)
							return
						}
						if v != inst.Version+1 {
							t.Errorf("store %d: Commit(%s, expect %d) = %d", si, id, inst.Version, v)
						}
						mu.Lock()
						wins[win{id, inst.Version}]++
						mu.Unlock()
						break
					}
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d conflicts retried", conflicts)
	for w, n := range wins {
		if n != 1 {
			t.Errorf("%d commits of %s succeeded from version %d", n, w.id, w.version)
		}
	}
	total := 0
	for i := range instances {
		id := "inst-" + strconv.Itoa(i)
		a, err := stores[0].Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		b, err := stores[1].Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(a, b); d != "" {
			t.Errorf("the stores disagree on %s (-A +B):\n%s", id, d)
		}
		count, _ := strconv.Atoi(string(a.Data))
		if a.Version != uint64(count)+1 {
			t.Errorf("%s: version %d after %d increments: an increment was lost", id, a.Version, count)
		}
		total += count
	}
	if want := 2 * writersPerStore * increments; total != want {
		t.Errorf("%d increments stored, want %d", total, want)
	}

	outbox, err := stores[1].Outbox(ctx, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(outbox) != total {
		t.Errorf("outbox holds %d effects, want %d", len(outbox), total)
	}
	last := map[string]int{}
	for _, e := range outbox {
		n, _ := strconv.Atoi(string(e.Data))
		if n != last[e.Instance]+1 {
			t.Errorf("outbox: effect %s follows count %d of %s: not in version order", e.ID, last[e.Instance], e.Instance)
		}
		last[e.Instance] = n
	}
}

// TestStoresShareData checks that what one store writes, a second store on
// the same schema reads: instances, the due index and the outbox, whose
// effects either store may acknowledge.
func TestStoresShareData(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	a, b := openSchema(t, schema), openSchema(t, schema)
	ctx := t.Context()

	inst := storage.Instance{ID: "x", Workflow: "wf", Status: "running", Due: base, Data: []byte("one")}
	if _, err := a.Create(ctx, inst, []storage.Effect{{ID: "x/1", Instance: "x", Data: []byte("e1")}}); err != nil {
		t.Fatal(err)
	}
	inst.Data = []byte("two")
	if _, err := a.Commit(ctx, storage.Commit{Instance: inst, Expect: 1,
		Effects: []storage.Effect{{ID: "x/2", Instance: "x", Data: []byte("e2")}}}); err != nil {
		t.Fatal(err)
	}

	got, err := b.Outbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []storage.Effect{{ID: "x/1", Instance: "x", Data: []byte("e1")}, {ID: "x/2", Instance: "x", Data: []byte("e2")}}
	// Seq is the store's outbox position: it must grow, its values are the
	// store's to choose.
	if len(got) == 2 && (got[0].Seq == 0 || got[1].Seq <= got[0].Seq) {
		t.Errorf("B's outbox positions %d, %d do not grow", got[0].Seq, got[1].Seq)
	}
	noSeq := cmpopts.IgnoreFields(storage.Effect{}, "Seq")
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty(), noSeq); d != "" {
		t.Errorf("B's outbox after A's commits (-want +got):\n%s", d)
	}
	if due, err := b.DueBefore(ctx, base, 10); err != nil || !slices.Equal(due, []storage.Due{{ID: "x", At: base}}) {
		t.Errorf("B's DueBefore = %v, %v; want x at %v", due, err, base)
	}
	loaded, err := b.Load(ctx, "x")
	if err != nil || loaded.Version != 2 || string(loaded.Data) != "two" {
		t.Errorf("B's Load = %+v, %v; want version 2 with data two", loaded, err)
	}

	// A commit from B on A's version is refused once A moved on.
	if _, err := b.Commit(ctx, storage.Commit{Instance: inst, Expect: 1}); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("B's commit from version 1 after A's commit: %v, want ErrConflict", err)
	}
	// B acknowledges an effect A wrote; A no longer sees it.
	if err := b.Ack(ctx, "x/1"); err != nil {
		t.Fatal(err)
	}
	got, err = a.Outbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want[1:], got, cmpopts.EquateEmpty(), noSeq); d != "" {
		t.Errorf("A's outbox after B's Ack (-want +got):\n%s", d)
	}
}

// TestReopen checks that the data outlives the store: a store opened after
// the first one closed finds it all.
func TestReopen(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	ctx := t.Context()
	first := openSchema(t, schema)
	inst := storage.Instance{ID: "\x00\xffk", Workflow: "w\x00", Status: "s\xff", Due: base, Data: []byte{0, 1, 2}}
	if _, err := first.Create(ctx, inst, []storage.Effect{{ID: "\x00e", Instance: inst.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Load(ctx, inst.ID); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Load after Close: %v, want ErrClosed", err)
	}

	second := openSchema(t, schema)
	got, err := second.Load(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	inst.Version = 1
	if d := cmp.Diff(inst, got); d != "" {
		t.Errorf("Load after reopening (-want +got):\n%s", d)
	}
	effs, err := second.Outbox(ctx, 10)
	if err != nil || len(effs) != 1 || effs[0].ID != "\x00e" {
		t.Errorf("Outbox after reopening = %+v, %v", effs, err)
	}
}
