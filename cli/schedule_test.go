package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/schedule"
)

// weft inspect lists schedules with the other instances, and shows one
// schedule's state (spec, next fire, runs) typed when the program lists
// schedule.Workflow.
func TestInspectSchedules(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		st := b.open(t)
		clock := engine.NewFakeClock(t0)
		e := newEngine(t, st, engine.WithClock(clock))
		if err := e.Register(approval.Workflow); err != nil {
			t.Fatal(err)
		}
		s, err := schedule.New(e, []*dsl.Definition{approval.Workflow}, schedule.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Create(ctx, schedule.Spec{Name: "weekly", Cron: "0 9 * * 1", TimeZone: "Europe/Paris",
			Workflow: approval.Workflow, Input: approval.Request{User: "ada", Amount: 10}}); err != nil {
			t.Fatal(err)
		}
		if err := e.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		st.Close()
		p, out, errb := tool(approval.Workflow, schedule.Workflow)
		if code := runTool(p, append([]string{"inspect"}, b.flags...)...); code != 0 {
			t.Fatalf("inspect: exit %d: %s", code, errb)
		}
		if !strings.Contains(out.String(), "schedule/weekly") || !strings.Contains(out.String(), schedule.WorkflowName) {
			t.Errorf("inspect does not list the schedule:\n%s", out)
		}
		p, out, errb = tool(approval.Workflow, schedule.Workflow)
		if code := runTool(p, append([]string{"inspect", "schedule/weekly"}, b.flags...)...); code != 0 {
			t.Fatalf("inspect schedule/weekly: exit %d: %s", code, errb)
		}
		var v struct {
			State struct {
				Spec struct{ Name, Cron, TimeZone, Workflow string }
				Next time.Time
			}
		}
		if err := json.Unmarshal(out.Bytes(), &v); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if v.State.Spec.Name != "weekly" || v.State.Spec.Cron != "0 9 * * 1" || v.State.Spec.Workflow != "approval" ||
			!v.State.Next.Equal(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)) {
			t.Errorf("inspect schedule/weekly:\n%s", out)
		}
	})
}
