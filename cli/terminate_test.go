package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
)

// weft terminate ends a running instance on both stores, recording why and
// who; the teardown of its open setup waits in the outbox for a service.
func TestTerminateCommand(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		st := b.open(t)
		e := newEngine(t, st, engine.WithClock(engine.NewFakeClock(t0)))
		if err := e.Register(approval.Workflow, pizza.Workflow); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx, approval.Workflow, "req-1", approval.Request{ID: "req-1", User: "ada", Amount: 300}); err != nil {
			t.Fatal(err)
		}
		st.Close()
		cmd := func(wantCode int, args ...string) (string, string) {
			t.Helper()
			p, out, errb := tool(pizza.Workflow, approval.Workflow)
			args = append(args, b.flags...)
			if code := runTool(p, args...); code != wantCode {
				t.Fatalf("%q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, wantCode, out, errb)
			}
			return out.String(), errb.String()
		}
		_, errs := cmd(2, "terminate", "req-1")
		if !strings.Contains(errs, "--reason is required") {
			t.Errorf("terminate without a reason: %q", errs)
		}
		cmd(2, "terminate", "--reason", "x")
		out, _ := cmd(0, "terminate", "req-1", "--reason", "customer left", "--by", "ada@ops")
		if out != "terminated req-1\n" {
			t.Errorf("terminate: %q", out)
		}
		_, errs = cmd(1, "terminate", "req-1", "--reason", "again")
		if !strings.Contains(errs, `is terminated (by "ada@ops": "customer left")`) {
			t.Errorf("terminate twice: %q", errs)
		}
		_, errs = cmd(1, "terminate", "nobody", "--reason", "x")
		if !strings.Contains(errs, "not found") {
			t.Errorf("terminate of a missing instance: %q", errs)
		}
		out, _ = cmd(0, "inspect", "req-1")
		if !strings.Contains(out, "terminated") || !strings.Contains(out, "customer left") {
			t.Errorf("inspect after terminate:\n%s", out)
		}

		st = b.open(t)
		defer st.Close()
		e = newEngine(t, st)
		inst, err := e.Get(ctx, "req-1")
		if err != nil {
			t.Fatal(err)
		}
		if inst.Meta.Status != interp.StatusTerminated || inst.Meta.Terminated == nil ||
			inst.Meta.Terminated.Reason != "customer left" || inst.Meta.Terminated.By != "ada@ops" {
			t.Errorf("record after terminate: %v %+v", inst.Meta.Status, inst.Meta.Terminated)
		}
		var kinds []string
		effs, err := st.Outbox(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, se := range effs {
			info, err := outbox.Decode(se)
			if err != nil {
				t.Fatal(err)
			}
			kinds = append(kinds, info.Kind.String())
		}
		if got := strings.Join(kinds, " "); got != "setup teardown terminated" {
			t.Errorf("outbox after terminate: %s, want the setup, its teardown and the end", got)
		}
	})
}
