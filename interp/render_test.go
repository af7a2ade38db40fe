package interp_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/internal/golden"
	"github.com/weftflow/weft/interp"
)

// The renderings below are the plain-text form of an instance that the
// golden files and the transition scripts (testdata/transitions) compare.
// They name every field of Meta, Thread, Pending, Failure and Effect, and
// leave out zero values, so a reader sees at a glance what is set.

// clock renders a time: absolute in golden files, relative to the
// script's start in transition scripts.
type clock func(t time.Time) string

func absolute(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func relativeTo(base time.Time) clock {
	return func(t time.Time) string {
		d := t.Sub(base)
		if d >= 0 {
			return "+" + d.String()
		}
		return d.String()
	}
}

// renderMeta renders m, one line for the instance and one per thread and
// pending callback.
func renderMeta(m interp.Meta, ts clock) string {
	var b strings.Builder
	fmt.Fprintf(&b, "status=%s seq=%d", m.Status, m.Seq)
	if m.Instance != "" {
		fmt.Fprintf(&b, " instance=%s", m.Instance)
	}
	if m.Version != 0 {
		fmt.Fprintf(&b, " version=%d", m.Version)
	}
	if !m.Started.IsZero() {
		fmt.Fprintf(&b, " started=%s", ts(m.Started))
	}
	if !m.Due.IsZero() {
		fmt.Fprintf(&b, " due=%s", ts(m.Due))
	}
	if m.NextCallback != 0 {
		fmt.Fprintf(&b, " next-callback=%d", m.NextCallback)
	}
	if m.Yielded != "" {
		fmt.Fprintf(&b, " yielded=%s", m.Yielded)
	}
	b.WriteByte('\n')
	if len(m.Recent) > 0 {
		fmt.Fprintf(&b, "recent=%v\n", m.Recent)
	}
	if len(m.Migrated) > 0 {
		fmt.Fprintf(&b, "migrated=%v\n", m.Migrated)
	}
	if len(m.Output) > 0 {
		fmt.Fprintf(&b, "output=%s", golden.Diag(m.Output))
	}
	if f := m.Failure; f != nil {
		fmt.Fprintf(&b, "failure thread=%s path=%q message=%q", f.Thread, f.Path, f.Message)
		if f.Panic {
			b.WriteString(" panic")
		}
		b.WriteByte('\n')
	}
	for _, th := range m.Threads {
		fmt.Fprintf(&b, "thread %s @%q %s", th.ID, th.Path, th.Phase)
		if th.Attempt != 0 {
			fmt.Fprintf(&b, " attempt=%d", th.Attempt)
		}
		if !th.At.IsZero() {
			fmt.Fprintf(&b, " at=%s", ts(th.At))
		}
		b.WriteByte('\n')
		for _, p := range th.Waits {
			fmt.Fprintf(&b, "  cb%d %s", p.Callback, p.Kind)
			if p.Event != "" {
				fmt.Fprintf(&b, " event=%q", p.Event)
			}
			if !p.At.IsZero() {
				fmt.Fprintf(&b, " at=%s", ts(p.At))
			}
			if p.Attempt != 0 {
				fmt.Fprintf(&b, " attempt=%d", p.Attempt)
			}
			if p.Setup {
				b.WriteString(" setup")
			}
			if p.Type != "" {
				fmt.Fprintf(&b, " type=%q", p.Type)
			}
			if p.Child != "" {
				fmt.Fprintf(&b, " child=%q", p.Child)
			}
			if p.OnEnd != 0 {
				fmt.Fprintf(&b, " on-parent-end=%s", dsl.ParentEndPolicy(p.OnEnd))
			}
			b.WriteByte('\n')
		}
	}
	for _, e := range m.Inbox {
		fmt.Fprintf(&b, "inbox event=%q at=%s", e.Event, ts(e.At))
		if len(e.Payload) > 0 {
			fmt.Fprintf(&b, " payload=%s", golden.Diag(e.Payload)) // (Diag ends the line)
		} else {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// renderEffects renders one effect a line, numbered by its ID's index.
func renderEffects(es []interp.Effect, ts clock) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%d %s", e.ID.Index, e.Kind)
		if e.Thread != "" {
			fmt.Fprintf(&b, " thread=%s", e.Thread)
		}
		if e.Path != "" {
			fmt.Fprintf(&b, " path=%q", e.Path)
		}
		if e.Event != "" {
			fmt.Fprintf(&b, " event=%q", e.Event)
		}
		if e.Type != "" {
			fmt.Fprintf(&b, " type=%q", e.Type)
		}
		if e.Callback != 0 {
			fmt.Fprintf(&b, " cb%d", e.Callback)
		}
		if !e.At.IsZero() {
			fmt.Fprintf(&b, " at=%s", ts(e.At))
		}
		if e.Attempt != 0 {
			fmt.Fprintf(&b, " attempt=%d", e.Attempt)
		}
		if e.Timeout != 0 {
			fmt.Fprintf(&b, " timeout=%s", e.Timeout)
		}
		if e.Error != "" {
			fmt.Fprintf(&b, " error=%q", e.Error)
		}
		if e.Child != "" {
			fmt.Fprintf(&b, " child=%q", e.Child)
		}
		if e.OnEnd != 0 {
			fmt.Fprintf(&b, " on-parent-end=%s", dsl.ParentEndPolicy(e.OnEnd))
		}
		if len(e.Data) > 0 {
			fmt.Fprintf(&b, " data=%s", strings.TrimSuffix(golden.Diag(e.Data), "\n"))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// renderState decodes state into a value of the definition's state type
// (newState returns a pointer to a zero one) and renders it as JSON.
func renderState(state []byte, newState func() any) (string, error) {
	v := newState()
	if err := decode.Into("state", state, v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b) + "\n", nil
}
