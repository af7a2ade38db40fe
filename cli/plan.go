package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage/bolt"
)

var planCommand = Command{
	Name:    "plan",
	Summary: "show what the new definition would do with an event, next to what today's does",
	Usage:   "--db FILE ID EVENT [PAYLOAD-JSON]",
	Help: `EVENT is the name of a custom event or timer the instance waits for,
"resume" or "cancel". PAYLOAD-JSON is the custom event's payload as JSON
(field names as in Go). Nothing is written.

Flags:
  --db FILE   the bbolt store (opened read-only)
  --at TIME   the event's time, RFC 3339 (default: the timer's deadline for a
              timer, else now)
  --json      the plan as JSON
`,
	Run: runPlan,
}

func runPlan(ctx context.Context, p *Program, args []string) error {
	fs := newFlags("plan")
	db := fs.String("db", "", "")
	at := fs.String("at", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *db == "" || fs.NArg() < 2 || fs.NArg() > 3 {
		return &UsageError{Msg: "want --db FILE ID EVENT [PAYLOAD-JSON]"}
	}
	id, event := fs.Arg(0), fs.Arg(1)
	st, err := bolt.Open(*db, bolt.WithReadOnly(), bolt.WithTimeout(time.Second))
	if err != nil {
		return err
	}
	defer st.Close()
	inst, err := engine.New(st).Get(ctx, id)
	if err != nil {
		return err
	}
	old, next := p.definition(inst.Workflow), p.upgrade(inst.Workflow)
	if old == nil || next == nil {
		return fmt.Errorf("no definition of workflow %q in this program", inst.Workflow)
	}
	ev, err := planEvent(inst.Meta, event, fs.Arg(2))
	if err != nil {
		return err
	}
	switch {
	case *at != "":
		if ev.Time, err = time.Parse(time.RFC3339, *at); err != nil {
			return &UsageError{Msg: "--at: " + err.Error()}
		}
	case ev.Time.IsZero():
		ev.Time = time.Now().UTC()
	}
	plan := simulate.Plan(old, next, inst.State, inst.Meta, ev)
	if *asJSON {
		return writeJSON(p.Stdout, plan)
	}
	_, err = io.WriteString(p.Stdout, plan.String())
	return err
}

// planEvent builds the event: the pending callback for a named event, or
// resume or cancel. A timer's time defaults to its deadline.
func planEvent(m interp.Meta, event, payload string) (interp.Event, error) {
	switch event {
	case "resume":
		return interp.Event{Kind: interp.Resume, Time: m.DueTime()}, nil
	case "cancel":
		return interp.Event{Kind: interp.Cancel}, nil
	}
	var names []string
	for _, th := range m.Threads {
		for _, w := range th.Waits {
			names = append(names, w.Event)
			if w.Event != event {
				continue
			}
			ev := interp.Event{Kind: interp.Callback, Callback: w.Callback}
			if w.Kind == interp.Timer {
				ev.Time = time.Unix(0, w.At).UTC()
				return ev, nil
			}
			var v any
			if payload != "" {
				if err := json.Unmarshal([]byte(payload), &v); err != nil {
					return ev, &UsageError{Msg: "payload: " + err.Error()}
				}
			}
			b, err := codec.Marshal(v)
			if err != nil {
				return ev, err
			}
			ev.Payload = b
			return ev, nil
		}
	}
	return interp.Event{}, fmt.Errorf("instance %q waits for no event %q (it waits for: %s)", m.Instance, event, strings.Join(names, ", "))
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
