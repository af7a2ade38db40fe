package cli

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

// planSide is what one definition makes of the event, in the forms the
// report compares: threads and effects as list items, the state as JSON
// values (so an old and a new state type compare field by field by name).
type planSide struct {
	definition string // "pizza v2"
	err        string // the event was not applied
	status     string
	threads    []listItem
	effects    []listItem
	state      any
}

// applySide applies ev under def, as the engine would (migrating the
// instance first when def is newer), and writes nothing.
func applySide(def *dsl.Definition, state []byte, meta interp.Meta, ev interp.Event) planSide {
	s := planSide{definition: fmt.Sprintf("%s v%d", def.Name(), def.Version())}
	res, err := interp.Apply(def, state, meta, ev)
	if err != nil {
		s.err = err.Error()
		return s
	}
	s.status = res.Meta.Status.String()
	for _, th := range res.Meta.Threads {
		s.threads = append(s.threads, threadItem(th))
	}
	for _, e := range res.Effects {
		s.effects = append(s.effects, effectItem(e))
	}
	ptr := reflect.New(def.StateType())
	if err := codec.UnmarshalWhat("state", res.State, ptr.Interface()); err != nil {
		s.err = err.Error()
		return s
	}
	if s.state, err = jsonValue(ptr.Interface()); err != nil {
		s.err = "state: " + err.Error()
	}
	return s
}

// threadFields are the fields of a thread a changed thread is diffed by.
type threadFields struct {
	Path    string
	Phase   string
	Attempt uint32   `json:",omitempty"`
	Waits   []string `json:",omitempty"`
}

func threadItem(th interp.Thread) listItem {
	f := threadFields{Path: th.Path, Phase: th.Phase.String(), Attempt: th.Attempt}
	for _, w := range th.Waits {
		f.Waits = append(f.Waits, fmt.Sprintf("%s %s (callback %d)", w.Kind, w.Event, w.Callback))
	}
	line := fmt.Sprintf("%s at %q (%s)", th.ID, th.Path, th.Phase)
	v, err := jsonValue(f)
	if err != nil {
		v = line
	}
	key, _ := marshalCompact(v)
	return listItem{line: line, key: th.ID + " " + string(key), class: th.ID, value: v}
}

// effectFields are the fields of an effect a changed effect is diffed by;
// its ID is left out, since the index moves whenever an effect is added
// before it.
type effectFields struct {
	Kind     string
	Thread   string `json:",omitempty"`
	Path     string `json:",omitempty"`
	Event    string `json:",omitempty"`
	Type     string `json:",omitempty"`
	Callback uint64 `json:",omitempty"`
	At       string `json:",omitempty"`
	Attempt  uint32 `json:",omitempty"`
	Timeout  string `json:",omitempty"`
	Error    string `json:",omitempty"`
	Data     any    `json:",omitempty"`
}

func effectItem(e interp.Effect) listItem {
	f := effectFields{Kind: e.Kind.String(), Thread: e.Thread, Path: e.Path, Event: e.Event, Type: e.Type,
		Callback: e.Callback, Attempt: e.Attempt, Error: e.Error}
	if !e.At.IsZero() {
		f.At = e.At.UTC().Format(time.RFC3339Nano)
	}
	if e.Timeout != 0 {
		f.Timeout = e.Timeout.String()
	}
	if len(e.Data) > 0 {
		d, err := decodeAny(e.Data)
		if err != nil {
			d = fmt.Sprintf("(%d bytes that do not decode: %v)", len(e.Data), err)
		}
		f.Data = d
	}
	v, err := jsonValue(f)
	if err != nil {
		v = map[string]any{"Kind": f.Kind, "Error": "(does not render: " + err.Error() + ")"}
	}
	key, _ := marshalCompact(v)
	return listItem{line: describeEffect(f), key: string(key), class: f.Kind, value: v}
}

// describeEffect is an effect on one line: its kind, where, and its data.
func describeEffect(f effectFields) string {
	s := f.Kind
	if f.Path != "" {
		s += fmt.Sprintf(" %q", f.Path)
	}
	if f.Event != "" {
		s += " event " + f.Event
	}
	if f.Callback != 0 {
		s += fmt.Sprintf(" callback %d", f.Callback)
	}
	if f.At != "" {
		s += " at " + f.At
	}
	if f.Attempt != 0 {
		s += fmt.Sprintf(" attempt %d", f.Attempt)
	}
	if f.Error != "" {
		s += ": " + f.Error
	}
	if f.Data != nil && (f.Kind == interp.Reply.String() || f.Kind == interp.Completed.String() || f.Kind == interp.Setup.String()) {
		s += " " + renderValue(f.Data)
	}
	return s
}

// renderPlan is plan's report: the event, then each section under both
// definitions, field by field where they differ (-old +new).
func renderPlan(instance, event string, old, new planSide) string {
	var b strings.Builder
	fmt.Fprintf(&b, "instance %s, event %s\n", instance, event)
	fmt.Fprintf(&b, "old: %s\nnew: %s\n", old.definition, new.definition)
	if old.err != "" || new.err != "" {
		fmt.Fprintf(&b, "\nerrors:\n  old: %s\n  new: %s\n", orAccepted(old.err), orAccepted(new.err))
	}
	if old.err != "" && new.err != "" {
		b.WriteString("\nNeither definition applies the event: nothing to compare.\n")
		return b.String()
	}

	switch {
	case old.status == new.status:
		fmt.Fprintf(&b, "\nstatus: %s under both\n", orNone(old.status))
	default:
		fmt.Fprintf(&b, "\nstatus: %s -> %s\n", orNone(old.status), orNone(new.status))
	}
	list := func(name string, old, new []listItem) {
		lines := listDiff(old, new)
		switch {
		case len(lines) == 0:
			fmt.Fprintf(&b, "\n%s: none under either\n", name)
			return
		case sameItems(old, new):
			fmt.Fprintf(&b, "\n%s, the same under both:\n", name)
		default:
			fmt.Fprintf(&b, "\n%s (-old +new):\n", name)
		}
		for _, l := range lines {
			fmt.Fprintf(&b, "%s\n", l)
		}
	}
	list("threads", old.threads, new.threads)
	list("effects", old.effects, new.effects)

	// A side that did not apply the event has no state: its fields are
	// listed as only on the other side.
	if old.err != "" {
		old.state = map[string]any{}
	}
	if new.err != "" {
		new.state = map[string]any{}
	}
	changes := fieldDiff(old.state, new.state)
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

func sameItems(a, b []listItem) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].key != b[i].key {
			return false
		}
	}
	return true
}

func orAccepted(s string) string {
	if s == "" {
		return "(accepted)"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
