package simulate

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/internal/fielddiff"
	"github.com/weftflow/weft/interp"
)

// PlanResult compares what two definitions make of one event on one
// stored instance: the definition running today and the one about to be
// deployed (with its migrations). Its fields are plain data (it encodes
// as JSON whole); [PlanResult.String] is the report a person reads.
type PlanResult struct {
	Instance string
	Event    string // "cooked (callback 11) with payload null at 2026-11-25T12:00:00Z"
	Old, New Outcome
}

// Outcome is what one definition does with the event.
type Outcome struct {
	Definition string       `json:"definition"` // name and version
	Error      string       `json:"error,omitempty"`
	Status     string       `json:"status,omitempty"`
	Threads    []PlanThread `json:"threads,omitempty"`
	Effects    []PlanEffect `json:"effects,omitempty"`
	State      any          `json:"state,omitempty"` // as JSON values, so states of different types compare field by field

	Inbox []string `json:"inbox,omitempty"` // the buffered events' names, oldest first (interp.Buffered)
}

// PlanThread is a thread after the event, as a plan shows it.
type PlanThread struct {
	ID      string
	Path    string
	Phase   string
	Attempt uint32   `json:",omitempty"`
	Waits   []string `json:",omitempty"` // "custom cooked (callback 11)", "activity (callback 12)"
}

// String is the thread on one line: `main at "courier" (waiting)`.
func (th PlanThread) String() string {
	return fmt.Sprintf("%s at %q (%s)", th.ID, th.Path, th.Phase)
}

// PlanEffect is an effect of the event, as a plan shows it: the fields of
// [interp.Effect] as text and JSON values. Its ID is left out, since the
// index moves whenever an effect is added before it.
type PlanEffect struct {
	Kind     string
	Thread   string `json:",omitempty"`
	Path     string `json:",omitempty"`
	Event    string `json:",omitempty"`
	Type     string `json:",omitempty"`
	Callback uint64 `json:",omitempty"`
	At       string `json:",omitempty"` // RFC 3339, UTC
	Attempt  uint32 `json:",omitempty"`
	Timeout  string `json:",omitempty"`
	Error    string `json:",omitempty"`
	Data     any    `json:",omitempty"` // the CBOR data decoded, or why it does not decode
}

// String is the effect on one line: its kind, where, and the data of a
// reply, output or setup.
func (e PlanEffect) String() string {
	s := e.Kind
	if e.Path != "" {
		s += fmt.Sprintf(" %q", e.Path)
	}
	if e.Event != "" {
		s += " event " + e.Event
	}
	if e.Callback != 0 {
		s += fmt.Sprintf(" callback %d", e.Callback)
	}
	if e.At != "" {
		s += " at " + e.At
	}
	if e.Attempt != 0 {
		s += fmt.Sprintf(" attempt %d", e.Attempt)
	}
	if e.Error != "" {
		s += ": " + e.Error
	}
	if e.Data != nil && (e.Kind == interp.EffectReply.String() || e.Kind == interp.EffectCompleted.String() || e.Kind == interp.EffectSetup.String()) {
		s += " " + fielddiff.Render(e.Data)
	}
	return s
}

// Plan applies ev to the stored instance (state, meta) under old and under
// new, without writing anything, and returns both outcomes. Under new, the
// instance is first upgraded with new's migrations, as the engine would.
// A side that cannot take the event, or whose resulting state does not
// decode into its state type, has its Error set.
func Plan(old, new *dsl.Definition, state []byte, meta interp.Meta, ev interp.Event) PlanResult {
	return PlanResult{
		Instance: meta.Instance,
		Event:    planEvent(meta, ev),
		Old:      outcome(old, state, meta, ev),
		New:      outcome(new, state, meta, ev),
	}
}

func outcome(def *dsl.Definition, state []byte, meta interp.Meta, ev interp.Event) Outcome {
	o := Outcome{Definition: fmt.Sprintf("%s v%d", def.Name(), def.Version())}
	res, err := interp.Apply(def, state, meta, ev)
	if err != nil {
		o.Error = err.Error()
		return o
	}
	o.Status = res.Meta.Status.String()
	for _, th := range res.Meta.Threads {
		t := PlanThread{ID: th.ID, Path: th.Path, Phase: th.Phase.String(), Attempt: th.Attempt}
		for _, w := range th.Waits {
			what := w.Kind.String()
			if w.Event != "" {
				what += " " + w.Event
			}
			t.Waits = append(t.Waits, fmt.Sprintf("%s (callback %d)", what, w.Callback))
		}
		o.Threads = append(o.Threads, t)
	}
	for _, e := range res.Effects {
		o.Effects = append(o.Effects, planEffect(e))
	}
	for _, e := range res.Meta.Inbox {
		o.Inbox = append(o.Inbox, e.Event)
	}
	s := reflect.New(def.StateType())
	if err := decode.Into("state", res.State, s.Interface()); err != nil {
		o.Error = err.Error()
		return o
	}
	if o.State, err = fielddiff.JSONValue(s.Interface()); err != nil {
		o.Error = "state: " + err.Error()
	}
	return o
}

func planEffect(e interp.Effect) PlanEffect {
	p := PlanEffect{Kind: e.Kind.String(), Thread: e.Thread, Path: e.Path, Event: e.Event, Type: e.Type,
		Callback: e.Callback, Attempt: e.Attempt, Error: e.Error}
	if !e.At.IsZero() {
		p.At = e.At.UTC().Format(time.RFC3339Nano)
	}
	if e.Timeout != 0 {
		p.Timeout = e.Timeout.String()
	}
	if len(e.Data) > 0 {
		d, err := decodeData(e.Data)
		if err != nil {
			d = fmt.Sprintf("(%d bytes that do not decode: %v)", len(e.Data), err)
		}
		p.Data = d
	}
	return p
}

// decodeData decodes CBOR into JSON values: maps keyed by anything are
// keyed by its text, numbers are kept exact.
func decodeData(b []byte) (any, error) {
	var v any
	if err := codec.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return fielddiff.JSONValue(stringKeys(v))
}

func stringKeys(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = stringKeys(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stringKeys(e)
		}
		return out
	}
	return v
}

// planEvent names the event: a callback by the On name it answers (found
// in meta), with its payload or error, and the event's time.
func planEvent(meta interp.Meta, ev interp.Event) string {
	s := ev.Kind.String()
	if ev.Kind == interp.EventCallback || ev.Kind == interp.EventSignal {
		if ev.Kind == interp.EventSignal {
			s = fmt.Sprintf("%s (no thread waits for it: to the inbox)", ev.Name)
		} else {
			s = fmt.Sprintf("callback %d", ev.Callback)
		}
		for _, th := range meta.Threads {
			for _, w := range th.Waits {
				if ev.Kind == interp.EventCallback && w.Callback == ev.Callback && w.Event != "" {
					s = fmt.Sprintf("%s (callback %d)", w.Event, ev.Callback)
				}
			}
		}
		switch {
		case ev.Error != "":
			s += " failing with " + ev.Error
		case len(ev.Payload) > 0:
			if v, err := decodeData(ev.Payload); err == nil {
				s += " with payload " + fielddiff.Render(v)
			} else {
				s += fmt.Sprintf(" with %d bytes of payload that do not decode: %v", len(ev.Payload), err)
			}
		}
	}
	if !ev.Time.IsZero() {
		s += " at " + ev.Time.UTC().Format(time.RFC3339Nano)
	}
	return s
}

// String renders the plan as a report a person reads in one glance: the
// event, then the status, the threads, the effects and the state under
// both definitions, field by field where they differ (-old +new).
//
// Threads and effects are lists compared element by element: "  " for
// one both sides have, "- " for one only the old side has, "+ " for one
// only the new side has, and "~ " for one both have that differs,
// followed by a line per changed field. The state is one line per changed
// field path ("  .Items[0].Qty: 1 -> 3", "+ .Stamped: false"); list
// elements that moved read [old->new].
func (p PlanResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "instance %s, event %s\n", p.Instance, p.Event)
	fmt.Fprintf(&b, "old: %s\nnew: %s\n", p.Old.Definition, p.New.Definition)
	old, new := p.Old, p.New
	if old.Error != "" || new.Error != "" {
		fmt.Fprintf(&b, "\nerrors:\n  old: %s\n  new: %s\n", orText(old.Error, "(accepted)"), orText(new.Error, "(accepted)"))
	}
	if old.Error != "" && new.Error != "" {
		b.WriteString("\nNeither definition applies the event: nothing to compare.\n")
		return b.String()
	}

	if old.Status == new.Status {
		fmt.Fprintf(&b, "\nstatus: %s under both\n", orText(old.Status, "(none)"))
	} else {
		fmt.Fprintf(&b, "\nstatus: %s -> %s\n", orText(old.Status, "(none)"), orText(new.Status, "(none)"))
	}
	list := func(name string, old, new []fielddiff.Item) {
		lines := fielddiff.Lists(old, new)
		switch {
		case len(lines) == 0:
			fmt.Fprintf(&b, "\n%s: none under either\n", name)
			return
		case fielddiff.Same(old, new):
			fmt.Fprintf(&b, "\n%s, the same under both:\n", name)
		default:
			fmt.Fprintf(&b, "\n%s (-old +new):\n", name)
		}
		for _, l := range lines {
			fmt.Fprintf(&b, "%s\n", l)
		}
	}
	list("threads", threadItems(old.Threads), threadItems(new.Threads))
	list("effects", effectItems(old.Effects), effectItems(new.Effects))
	if len(old.Inbox)+len(new.Inbox) > 0 {
		list("inbox (buffered events)", inboxItems(old.Inbox), inboxItems(new.Inbox))
	}

	// A side that did not apply the event has no state: its fields are
	// listed as only on the other side.
	if old.Error != "" {
		old.State = map[string]any{}
	}
	if new.Error != "" {
		new.State = map[string]any{}
	}
	changes := fielddiff.Diff(stateValue(old.State), stateValue(new.State))
	if len(changes) == 0 {
		b.WriteString("\nstate: the same under both\n")
	} else {
		b.WriteString("\nstate (-old +new):\n")
		for _, c := range changes {
			fmt.Fprintf(&b, "%s\n", c)
		}
	}
	return b.String()
}

// Buffered events pair by name.
func inboxItems(names []string) []fielddiff.Item {
	out := make([]fielddiff.Item, len(names))
	for i, n := range names {
		out[i] = fielddiff.NewItem(n, n, n)
	}
	return out
}

// Threads pair by ID: a thread that changed shows its changed fields.
func threadItems(ths []PlanThread) []fielddiff.Item {
	out := make([]fielddiff.Item, len(ths))
	for i, th := range ths {
		out[i] = fielddiff.NewItem(th.String(), th.ID, th)
	}
	return out
}

// Effects pair by kind: a reply that moved shows its changed Path.
func effectItems(es []PlanEffect) []fielddiff.Item {
	out := make([]fielddiff.Item, len(es))
	for i, e := range es {
		out[i] = fielddiff.NewItem(e.String(), e.Kind, e)
	}
	return out
}

// stateValue brings a state set by hand (or decoded with float64 numbers)
// to the form Plan stores, so that equal states compare equal; a state
// JSON cannot encode is compared as its text.
func stateValue(v any) any {
	jv, err := fielddiff.JSONValue(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return jv
}

func orText(s, empty string) string {
	if s == "" {
		return empty
	}
	return s
}
