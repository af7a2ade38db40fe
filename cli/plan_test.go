package cli_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/storage/bolt"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var planStart = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// planStore writes pizza orders stopped at each wait of version 1, and
// finished instances, and returns the store's path.
func planStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.db")
	st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := engine.NewFakeClock(planStart)
	e := newEngine(t, st, engine.WithClock(clock))
	if err := e.Register(pizza.Workflow, approval.Workflow); err != nil {
		t.Fatal(err)
	}
	nop := func(context.Context, engine.EffectInfo) error { return nil }
	e.Handle("confirm-order", engine.SetupFuncs{SetupFunc: nop, TeardownFunc: nop})
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	send := func(id, event string, payload any) {
		t.Helper()
		var reply any
		must(e.Send(ctx, id, event, payload, &reply))
		must(e.Drain(ctx))
	}
	order := func(id string, items ...string) {
		t.Helper()
		must(e.Start(ctx, pizza.Workflow, id, pizza.Order{Customer: id}))
		for _, it := range items {
			send(id, "add", pizza.Add{Item: it})
		}
	}
	empty := struct{}{}
	order("lost", "calzone")
	send("lost", "submit", empty)
	send("lost", "confirm", pizza.Confirmation{OK: true})
	send("lost", "cooked", empty)
	must(e.Start(ctx, approval.Workflow, "nothing", approval.Request{ID: "nothing"}))
	must(e.Drain(ctx))
	clock.Advance(3 * time.Hour) // "lost" times out at the courier
	must(e.Drain(ctx))

	order("shopping", "funghi")
	order("at-manager", "margherita", "funghi")
	send("at-manager", "submit", empty)
	order("at-kitchen", "diavola")
	send("at-kitchen", "submit", empty)
	send("at-kitchen", "confirm", pizza.Confirmation{OK: true})
	return path
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

func TestPlanReports(t *testing.T) {
	path := planStore(t)
	const at = "--at=2026-11-25T12:00:00Z"
	for _, c := range []struct {
		golden  string
		upgrade *dsl.Definition
		args    []string
	}{
		// The README's example: the reply moves from kitchen to oven, the
		// items change type.
		{"cooked.txt", pizza.WorkflowV2, []string{"at-kitchen", "cooked", at}},
		// The run-activity effect carries the state: its data differs field
		// by field, and the setup is torn down in both.
		{"confirm.txt", pizza.WorkflowV2, []string{"at-manager", "confirm", `{"OK":true}`, at}},
		// A timer fires at its deadline, unless --at says otherwise.
		{"timer.txt", pizza.WorkflowV2, []string{"at-manager", "no answer"}},
		{"timer-early.txt", pizza.WorkflowV2, []string{"at-manager", "no answer", at}},
		// Version 2 has no shopping wait: the add event is stale there.
		{"shopping.txt", pizza.WorkflowV2, []string{"shopping", "add", `{"Item":"funghi"}`, at}},
		// Without the migration, the new side cannot decode the state.
		{"no-migration.txt", pizza.WorkflowV2NoMigration(), []string{"at-kitchen", "cooked", at}},
		// An event no thread waits for yet is buffered, as engine.Send
		// would buffer it.
		{"early.txt", pizza.WorkflowV2, []string{"at-kitchen", "delivered", at}},
		// No upgrade: both sides are today's definition.
		{"same.txt", nil, []string{"at-kitchen", "cooked", at}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			p, out, errb := tool(pizza.Workflow, approval.Workflow)
			if c.upgrade != nil {
				p.Upgrades = []*dsl.Definition{c.upgrade}
			}
			// Flags after the positional arguments, and before.
			args := append([]string{"plan"}, c.args...)
			args = append(args, "--db", path)
			if code := runTool(p, args...); code != 0 {
				t.Fatalf("exit %d\n%s", code, errb)
			}
			golden(t, filepath.Join("plan", c.golden), out.String())
		})
	}
}

func TestPlanFinishedInstance(t *testing.T) {
	path := planStore(t)
	for _, c := range []struct {
		id, want string
	}{
		{"nothing", `orders plan: instance "nothing" has finished (completed, output "nothing to approve"): it takes no more events, so there is nothing to plan` + "\n"},
		{"lost", `orders plan: instance "lost" has finished (failed at "courier/lost": delivery lost): it takes no more events, so there is nothing to plan` + "\n"},
	} {
		for _, event := range []string{"cooked", "resume", "cancel"} {
			p, out, errb := tool(pizza.Workflow, approval.Workflow)
			p.Upgrades = []*dsl.Definition{pizza.WorkflowV2}
			if code := runTool(p, "plan", c.id, event, "--db", path); code != 1 || errb.String() != c.want || out.Len() != 0 {
				t.Errorf("plan %s %s: exit %d\nstdout: %s\nstderr: %s\nwant stderr: %s", c.id, event, code, out, errb, c.want)
			}
		}
	}
	p, _, errb := tool(pizza.Workflow, approval.Workflow)
	if code := runTool(p, "plan", "--db", path, "at-kitchen", "nonsense"); code != 1 ||
		!strings.Contains(errb.String(), `waits for no event "nonsense" (it waits for: cooked)`) {
		t.Errorf("plan of a missing event: exit %d, %s", code, errb)
	}
}
