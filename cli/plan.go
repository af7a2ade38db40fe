package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/fielddiff"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
)

var planCommand = Command{
	Name:    "plan",
	Summary: "show what the new definition would do with an event, next to what today's does",
	Usage:   "--db FILE|--postgres DSN ID EVENT [PAYLOAD-JSON]",
	Help: `EVENT is the name of a custom event or timer the instance waits for,
"resume" or "cancel". PAYLOAD-JSON is the custom event's payload as JSON
(field names as in Go). Nothing is written.

An instance that has finished takes no event: plan says how it finished
(its status, and its output or failure) and exits with status 1.

The report compares the two outcomes field by field (-old +new): the
status; the threads and the effects as lists, where "  " marks one both
emit, "-" one only today's emits, "+" one only the new one emits, and "~" one
both emit that differs, followed by a line per changed field; and the state,
one line per changed field path ("  .Items[0].Qty: 1 -> 3", "+ .Stamped:
false" for a field only the new state has). List elements that moved read
[old->new].

The store is opened read-only (a bbolt file that a running service has
open cannot be: plan on a copy).

Flags:
` + StoreUsage + `  --at TIME         the event's time, RFC 3339 (default: the timer's deadline
                   for a timer, else now)
  --json           the plan as JSON
`,
	Run: runPlan,
}

func runPlan(ctx context.Context, p *Program, args []string) error {
	fs := newFlags("plan")
	var sf StoreFlags
	sf.Register(fs)
	at := fs.String("at", "", "")
	asJSON := fs.Bool("json", false, "")
	pos, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := sf.Check(); err != nil {
		return err
	}
	if len(pos) < 2 || len(pos) > 3 {
		return &UsageError{Msg: "want ID EVENT [PAYLOAD-JSON]"}
	}
	id, event, payload := pos[0], pos[1], ""
	if len(pos) == 3 {
		payload = pos[2]
	}
	var when time.Time
	if *at != "" {
		if when, err = time.Parse(time.RFC3339, *at); err != nil {
			return &UsageError{Msg: "--at: " + err.Error()}
		}
	}
	st, closeStore, err := sf.Open(ctx, true)
	if err != nil {
		return err
	}
	defer closeStore()
	e, err := engine.New(st)
	if err != nil {
		return err
	}
	inst, err := e.Get(ctx, id)
	if err != nil {
		return err
	}
	if inst.Meta.Status.Finished() {
		return finishedError(inst)
	}
	old, next := p.definition(inst.Workflow), p.upgrade(inst.Workflow)
	if old == nil || next == nil {
		return fmt.Errorf("no definition of workflow %q in this program", inst.Workflow)
	}
	ev, err := planEvent(inst.Meta, event, payload)
	if errors.Is(err, errNotWaited) {
		// As engine.Send would: buffer the event, if the definition takes
		// it somewhere.
		if ev, err = planSignal(old, inst, event, payload); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	switch {
	case !when.IsZero():
		ev.Time = when
	case ev.Time.IsZero():
		ev.Time = time.Now().UTC().Truncate(time.Second) // a plan needs no finer time, and reads better
	}
	plan := simulate.Plan(old, next, inst.State, inst.Meta, ev)
	if *asJSON {
		return writeJSON(p.Stdout, plan)
	}
	_, err = io.WriteString(p.Stdout, plan.String())
	return err
}

// finishedError says that a finished instance takes no event, with how it
// finished.
func finishedError(inst engine.Instance) error {
	m := inst.Meta
	how := m.Status.String()
	switch {
	case m.Failure != nil && m.Failure.Path != "":
		how += fmt.Sprintf(" at %q: %s", m.Failure.Path, m.Failure.Message)
	case m.Failure != nil:
		how += ": " + m.Failure.Message
	case len(m.Output) > 0:
		out, err := decodeAny(m.Output)
		if err != nil {
			return fmt.Errorf("instance %q has finished (%s); its output does not decode: %w", inst.ID, how, err)
		}
		how += ", output " + fielddiff.Render(out)
	}
	return fmt.Errorf("instance %q has finished (%s): %w", inst.ID, how, errFinished)
}

// errFinished is why plan has nothing to show for a finished instance.
var errFinished = errors.New("it takes no more events, so there is nothing to plan")

// planEvent builds the event: the pending callback for a named event, or
// resume or cancel. A timer's time defaults to its deadline.
func planEvent(m interp.Meta, event, payload string) (interp.Event, error) {
	switch event {
	case "resume":
		return interp.Event{Kind: interp.EventResume, Time: m.Due}, nil
	case "cancel":
		return interp.Event{Kind: interp.EventCancel}, nil
	}
	var names []string
	for _, th := range m.Threads {
		for _, w := range th.Waits {
			names = append(names, w.Event)
			if w.Event != event {
				continue
			}
			ev := interp.Event{Kind: interp.EventCallback, Callback: w.Callback}
			if w.Kind == interp.Timer {
				ev.Time = w.At
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
	return interp.Event{}, fmt.Errorf("instance %q waits for no event %q (it waits for: %s): %w", m.Instance, event, strings.Join(names, ", "), errNotWaited)
}

// errNotWaited is why planEvent found no callback for the event.
var errNotWaited = errors.New("no thread waits for it")

// planSignal is the Signal event engine.Send would apply for an event no
// thread waits for: it buffers the event in the inbox. An event no wait
// of the instance's definition takes is refused as planEvent refused it.
func planSignal(def *dsl.Definition, inst engine.Instance, event, payload string) (interp.Event, error) {
	var v any
	if payload != "" {
		if err := json.Unmarshal([]byte(payload), &v); err != nil {
			return interp.Event{}, &UsageError{Msg: "payload: " + err.Error()}
		}
	}
	b, err := codec.Marshal(v)
	if err != nil {
		return interp.Event{}, err
	}
	ev := interp.Event{Kind: interp.EventSignal, Name: event, Payload: b}
	probe := ev
	probe.Time = inst.Meta.Started
	if probe.Time.IsZero() {
		probe.Time = time.Unix(0, 1).UTC()
	}
	if _, err := interp.Apply(def, inst.State, inst.Meta, probe); errors.Is(err, interp.ErrUnknownEvent) {
		_, werr := planEvent(inst.Meta, event, payload)
		return interp.Event{}, werr
	}
	return ev, nil
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
