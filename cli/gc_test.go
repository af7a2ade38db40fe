package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
)

// done finishes in its start transition.
var done = dsl.MustCompile[struct{}]("done", dsl.S(dsl.Return("ok")))

// waits runs for a day.
var waits = dsl.MustCompile[struct{}]("waits", dsl.S(
	dsl.Wait("day", dsl.On("later", dsl.After(24*time.Hour), dsl.Return("late")))))

// TestInspectFilteredAndGC: inspect --workflow/--status lists from the
// listing indexes with counts per status, and gc deletes what finished
// longer ago than --keep and nothing else.
func TestInspectFilteredAndGC(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		st := b.open(t)
		e := newEngine(t, st, engine.WithClock(engine.NewFakeClock(t0)))
		if err := e.Register(waits, done); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"d-1", "d-2"} {
			if err := e.Start(ctx, done, id, struct{}{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Start(ctx, waits, "req-1", struct{}{}); err != nil {
			t.Fatal(err)
		}
		if err := e.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		st.Close()
		cmd := func(wantCode int, args ...string) string {
			t.Helper()
			p, out, errb := tool(pizza.Workflow, approval.Workflow)
			args = append(args, b.flags...)
			if code := runTool(p, args...); code != wantCode {
				t.Fatalf("%q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, wantCode, out, errb)
			}
			return out.String()
		}
		out := cmd(0, "inspect", "--status", "completed")
		if !strings.Contains(out, "d-1 ") || !strings.Contains(out, "d-2 ") || strings.Contains(out, "req-1") ||
			!strings.HasSuffix(out, "\n3 instances of all workflows, 2 completed, 1 running\n") {
			t.Errorf("inspect --status completed:\n%s", out)
		}
		if out := cmd(0, "inspect", "--by-due"); !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "\nreq-1 ") ||
			strings.Contains(out, "d-1") || !strings.HasSuffix(out, "\n3 instances of all workflows, 2 completed, 1 running\n") {
			t.Errorf("inspect --by-due:\n%s", out)
		}
		if out := cmd(0, "inspect", "--workflow", "waits", "--counts"); out != "1 instance of workflow \"waits\", 1 running\n" {
			t.Errorf("inspect --workflow waits --counts:\n%s", out)
		}
		cmd(2, "gc")
		cmd(2, "gc", "--keep", "-1h")
		if out := cmd(0, "gc", "--keep-workflow", "done=forever"); out != "deleted 0 instances\n" {
			t.Errorf("gc keeping done forever: %q", out)
		}
		if out := cmd(0, "gc", "--keep", "1h"); out != "deleted 2 instances\n" { // t0 is long past
			t.Errorf("gc --keep 1h: %q", out)
		}
		if out := cmd(0, "inspect", "--counts"); out != "1 instance of all workflows, 1 running\n" {
			t.Errorf("inspect --counts after gc:\n%s", out)
		}
	})
}
