package simulate_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage/bolt"
)

// runPizzaV1 runs n pizza orders under version 1 on a bbolt file, each
// driven a random number of steps along the order's life, so they sit at
// every position: shopping (with and without items), the manager, the
// kitchen, the courier, and finished.
func runPizzaV1(t *testing.T, path string, n int) {
	t.Helper()
	ctx := context.Background()
	st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := engine.NewFakeClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	e := newEngine(t, st, engine.WithClock(clock))
	if err := e.Register(pizza.Workflow); err != nil {
		t.Fatal(err)
	}
	e.Handle("confirm-order", engine.SetupFuncs{})
	r := rand.New(rand.NewPCG(1, 2))
	life := []struct {
		event   string
		payload any
	}{
		{"add", pizza.Add{Item: "margherita"}}, {"add", pizza.Add{Item: "funghi"}}, {"submit", struct{}{}},
		{"confirm", pizza.Confirmation{OK: true}}, {"cooked", struct{}{}}, {"delivered", struct{}{}},
	}
	for i := range n {
		id := fmt.Sprintf("order-%03d", i)
		if err := e.Start(ctx, pizza.Workflow, id, pizza.Order{Customer: fmt.Sprint("c", i)}); err != nil {
			t.Fatal(err)
		}
		for _, step := range life[:r.IntN(len(life)+1)] {
			if err := e.Send(ctx, id, step.event, step.payload, nil); err != nil {
				t.Fatalf("%s %s: %v", id, step.event, err)
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// expectation says, from what v1 stored, what verifying v2 without
// migrations must find for each instance.
func expectation(t *testing.T, st *bolt.Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	e := newEngine(t, st)
	want := map[string]string{}
	insts, err := e.List(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	reader := newEngine(t, st)
	if err := reader.Register(pizza.Workflow); err != nil {
		t.Fatal(err)
	}
	for _, inst := range insts {
		path := ""
		for _, th := range inst.Meta.Threads {
			if th.ID == "main" {
				path = th.Path
			}
		}
		state, err := engine.Query[pizza.Order](ctx, reader, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !inst.Meta.Status.Finished() && (path == "cart/shopping" || path == "kitchen"):
			want[inst.ID] = simulate.CausePosition + " at " + path
		case len(state.Items) > 0: // []string does not decode into []Item
			want[inst.ID] = simulate.CauseState
		default:
			want[inst.ID] = "ok"
		}
	}
	return want
}

func verdicts(t *testing.T, st *bolt.Store, def *dsl.Definition, schedules int) (map[string]string, simulate.VerifySummary) {
	t.Helper()
	got := map[string]string{}
	sum, err := simulate.Verify(context.Background(), st, def, simulate.VerifyOptions{Schedules: schedules, Seed: 7},
		func(r simulate.InstanceReport) error {
			switch {
			case r.OK:
				got[r.ID] = "ok"
			case r.Cause == simulate.CausePosition:
				got[r.ID] = r.Cause + " at " + r.Path
			default:
				got[r.ID] = r.Cause
				if r.Cause != simulate.CauseState {
					t.Logf("%s: %s", r.ID, r.Detail)
				}
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return got, sum
}

// The acceptance test of upgrades: a few hundred v1 instances at every
// position, verified against v2 without and with migrations, then run to
// completion under v2.
func TestUpgradePizzaV1ToV2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pizza.db")
	n := 300
	if testing.Short() {
		n = 60
	}
	runPizzaV1(t, path, n)

	ro, err := bolt.Open(path, bolt.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	want := expectation(t, ro)
	positions := map[string]int{}
	for _, v := range want {
		positions[v]++
	}
	t.Logf("instances by expected verdict: %v", positions)
	for _, v := range []string{simulate.CauseState, simulate.CausePosition + " at cart/shopping", simulate.CausePosition + " at kitchen"} {
		if positions[v] == 0 {
			t.Fatalf("the v1 run left no instance with verdict %q; the test needs all kinds", v)
		}
	}

	// Without migrations: exactly the instances parked at the renamed or
	// removed waits, and those whose state cannot decode.
	bare := dsl.MustCompile[pizza.OrderV2]("pizza", pizza.BodyV2(), dsl.Version(2))
	got, sum := verdicts(t, ro, bare, 0)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("verdicts without migrations (-want +got):\n%s", diff)
	}
	if sum.Instances != n || sum.OK != positions["ok"] || sum.Broken != n-positions["ok"] {
		t.Fatalf("summary %+v", sum)
	}

	// With the migrations every instance verifies, simulated forward too.
	got, sum = verdicts(t, ro, pizza.WorkflowV2, 2)
	if sum.Broken != 0 || sum.OK != n {
		var broken []string
		for id, v := range got {
			if v != "ok" {
				broken = append(broken, id+": "+v)
			}
		}
		sort.Strings(broken)
		t.Fatalf("with migrations, %d broken:\n%s", sum.Broken, strings.Join(broken, "\n"))
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}

	// And all of them run to completion under v2.
	ctx := context.Background()
	st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := newEngine(t, st, engine.WithClock(engine.NewFakeClock(time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC))))
	if err := e.Register(pizza.WorkflowV2); err != nil {
		t.Fatal(err)
	}
	e.Handle("confirm-order", engine.SetupFuncs{})
	insts, err := e.List(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range insts {
		if err := e.Resume(ctx, inst.ID); err != nil && !errors.Is(err, interp.ErrFinished) {
			t.Fatalf("%s: resume under v2: %v", inst.ID, err)
		}
		for _, ev := range []struct {
			name    string
			payload any
		}{{"confirm", pizza.Confirmation{OK: true}}, {"cooked", struct{}{}}, {"delivered", struct{}{}}} {
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			err := e.Send(ctx, inst.ID, ev.name, ev.payload, nil)
			if err != nil && !errors.Is(err, interp.ErrFinished) && !errors.Is(err, engine.ErrNoSuchWait) {
				t.Fatalf("%s: %s under v2: %v", inst.ID, ev.name, err)
			}
		}
		if err := e.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := e.Get(ctx, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Meta.Status != interp.StatusCompleted {
			t.Fatalf("%s is %s under v2 at %+v (failure %+v)", inst.ID, got.Meta.Status, got.Meta.Threads, got.Meta.Failure)
		}
	}
}

// An instance stored while its activity is in flight verifies, simulated
// forward: the simulator runs the activity the production outbox holds.
func TestVerifyInstanceWaitingOnAnActivity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "activity.db")
	ctx := context.Background()
	st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, st, engine.WithClock(engine.NewFakeClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))))
	if err := e.Register(pizza.Workflow); err != nil {
		t.Fatal(err)
	}
	e.Handle("confirm-order", engine.SetupFuncs{})
	if err := e.Start(ctx, pizza.Workflow, "o", pizza.Order{Customer: "bo"}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		event   string
		payload any
	}{{"add", pizza.Add{Item: "funghi"}}, {"submit", struct{}{}}, {"confirm", pizza.Confirmation{OK: true}}} {
		if err := e.Send(ctx, "o", step.event, step.payload, nil); err != nil {
			t.Fatal(err)
		}
	}
	// No Drain: the charge is still in the outbox.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := bolt.Open(path, bolt.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var reports []simulate.InstanceReport
	if _, err := simulate.Verify(ctx, ro, pizza.WorkflowV2, simulate.VerifyOptions{Schedules: 5},
		func(r simulate.InstanceReport) error { reports = append(reports, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || !reports[0].OK {
		t.Fatalf("reports %+v", reports)
	}
}
