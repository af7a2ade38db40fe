package crashtest

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/interp"
)

// verifyFinal checks the end state after everything was driven to
// completion: every command applied exactly once and in order, every
// instance completed with the output its inputs determine, the outbox
// empty, and every effect the workflows must have emitted handled by the
// receiver exactly once, in the order the engine promises.
func verifyFinal(p *plan, sn *snapshot) []string {
	problems := p.reconcile(sn)
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	for _, s := range p.scripts {
		for _, c := range s.cmds {
			if !c.status.done() {
				bad("%s: never applied (status %d)", c.what, c.status)
			}
		}
	}
	if len(sn.outbox) > 0 {
		ids := make([]string, 0, len(sn.outbox))
		for _, ef := range sn.outbox {
			ids = append(ids, ef.ID)
		}
		bad("the outbox is not empty: %s", strings.Join(ids, ", "))
	}

	handled := handledByInstance(sn.log)
	for id := range handled {
		if p.byID[id] == nil {
			bad("the receiver handled effects of unknown instance %q", id)
		}
	}
	for _, s := range p.scripts {
		v := sn.view(s.id)
		if !v.exists {
			bad("%s: missing at the end", s.id)
			continue
		}
		want := interp.StatusCompleted
		if s.cancel {
			want = interp.StatusCanceled
		}
		if v.inst.Meta.Status != want {
			bad("%s: %s, want %s (failure %+v)", s.id, v.inst.Meta.Status, want, v.inst.Meta.Failure)
			continue
		}
		var setupType string
		switch {
		case s.cancel:
			setupType = "ask-manager"
			if v.request.Notified != "" || v.request.Approved {
				bad("%s: canceled, yet approved %v, notified %q", s.id, v.request.Approved, v.request.Notified)
			}
		case s.workflow == CounterName:
			setupType = IncType
			var out int
			if err := v.inst.DecodeOutput(&out); err != nil || out != len(s.tokens) {
				bad("%s: output %d (%v), want %d", s.id, out, err, len(s.tokens))
			}
			if v.counter.Tallied != len(s.tokens) {
				bad("%s: tallied %d, want %d", s.id, v.counter.Tallied, len(s.tokens))
			}
			if !slices.Equal(v.counter.Tokens, s.tokens) {
				bad("%s: the tokens are not all the sent tokens: %s", s.id, diffList(v.counter.Tokens, s.tokens))
			}
			if want := reportOf(s.id, len(s.tokens)); v.counter.Report != want {
				bad("%s: report %q, want %q", s.id, v.counter.Report, want)
			}
		case s.workflow == pizza.Workflow.Name():
			setupType = "confirm-order"
			total := pizza.Price * len(s.items)
			want := fmt.Sprintf("delivered %d items to %s, receipt rcpt-%s-%d", len(s.items), s.who, s.who, total)
			var out string
			if err := v.inst.DecodeOutput(&out); err != nil || out != want {
				bad("%s: output %q (%v), want %q", s.id, out, err, want)
			}
			if !slices.Equal(v.order.Items, s.items) || !v.order.Cooked || !v.order.Delivered {
				bad("%s: final order %+v", s.id, v.order)
			}
		case s.workflow == approval.Workflow.Name():
			setupType = "ask-manager"
			var out string
			if err := v.inst.DecodeOutput(&out); err != nil || out != "approved" {
				bad("%s: output %q (%v), want %q", s.id, out, err, "approved")
			}
			if want := fmt.Sprintf("to %s: your request %s is approved", s.who, s.id); v.request.Notified != want {
				bad("%s: notified %q, want %q", s.id, v.request.Notified, want)
			}
		}
		waits := 1 // pizza's confirm, approval's decide (also when canceled)
		if s.workflow == CounterName {
			waits = len(s.tokens) // one wait per increment
		}
		for _, msg := range checkEffects(s, v, setupType, waits, handled[s.id]) {
			bad("%s: %s", s.id, msg)
		}
	}
	problems = append(problems, checkLog(sn.log)...)
	sort.Strings(problems)
	return slices.Compact(problems)
}

// indexed is a handled log entry and its line.
type indexed struct {
	Entry
	line int
}

// handledByInstance returns the first delivery of every effect, by instance.
func handledByInstance(log []Entry) map[string][]indexed {
	out := map[string][]indexed{}
	for i, e := range log {
		if e.Op == OpHandled {
			out[e.Instance] = append(out[e.Instance], indexed{e, i + 1})
		}
	}
	return out
}

// checkEffects checks the effects the receiver handled for one finished
// instance: one setup per wait for its custom event, each with a distinct
// callback; one teardown per setup, handled after it; exactly one
// finishing effect (completed, or canceled), handled after all of them,
// from the instance's last transition and carrying its output; and, for
// the counter, one report activity.
func checkEffects(s *script, v *view, setupType string, waits int, handled []indexed) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	setups := map[uint64]indexed{}
	teardowns := map[uint64]indexed{}
	var completed, activities []indexed
	for _, e := range handled {
		if !strings.HasPrefix(e.ID, s.id+"/") {
			bad("effect ID %s does not name its instance", e.ID)
		}
		switch e.Kind {
		case interp.EffectSetup.String(), interp.EffectTeardown.String():
			if e.Type != setupType {
				bad("%s %s has type %q, want %q", e.Kind, e.ID, e.Type, setupType)
			}
			m := setups
			if e.Kind == interp.EffectTeardown.String() {
				m = teardowns
			}
			if prev, dup := m[e.Callback]; dup {
				bad("two %ss for callback %d: %s and %s", e.Kind, e.Callback, prev.ID, e.ID)
			}
			m[e.Callback] = e
		case interp.EffectCompleted.String(), interp.EffectCanceled.String(), interp.EffectFailed.String():
			completed = append(completed, e)
		case KindActivity:
			activities = append(activities, e)
		default:
			bad("unexpected effect %s of kind %s", e.ID, e.Kind)
		}
	}
	if len(setups) != waits || len(teardowns) != waits {
		bad("%d setups and %d teardowns handled, want %d of each", len(setups), len(teardowns), waits)
	}
	last := 0
	for cb, su := range setups {
		td, ok := teardowns[cb]
		switch {
		case !ok:
			bad("setup %s (callback %d) was never torn down", su.ID, cb)
		case td.line < su.line:
			bad("teardown %s handled (log line %d) before its setup %s (line %d)", td.ID, td.line, su.ID, su.line)
		}
		last = max(last, su.line, td.line)
	}
	for cb, td := range teardowns {
		if _, ok := setups[cb]; !ok {
			bad("teardown %s of callback %d has no setup", td.ID, cb)
		}
	}
	finish := interp.EffectCompleted.String()
	if s.cancel {
		finish = interp.EffectCanceled.String()
	}
	if len(completed) != 1 || completed[0].Kind != finish {
		bad("%d finishing effects handled (%v), want 1 %s", len(completed), completed, finish)
	} else {
		c := completed[0]
		if seq := effectSeq(c.ID); seq != v.inst.Meta.Seq {
			bad("completion %s is not from the last transition (seq %d)", c.ID, v.inst.Meta.Seq)
		}
		if !bytes.Equal(c.Data, v.inst.Output) {
			bad("completion %s carries output %s, the instance has %s", c.ID, diag(c.Data), diag(v.inst.Output))
		}
		if c.line < last {
			bad("completion %s handled (log line %d) before a setup or teardown (line %d)", c.ID, c.line, last)
		}
	}
	wantActivities := 0
	if s.workflow == CounterName {
		wantActivities = 1
	}
	if len(activities) != wantActivities {
		bad("%d report activities handled, want %d", len(activities), wantActivities)
	}
	return problems
}

// effectSeq returns the transition number of an effect ID "instance/seq/index".
func effectSeq(id string) uint64 {
	parts := strings.Split(id, "/")
	if len(parts) < 3 {
		return 0
	}
	n, _ := strconv.ParseUint(parts[len(parts)-2], 10, 64)
	return n
}

// diag renders CBOR for a message.
func diag(b []byte) string {
	var v any
	if err := codec.Unmarshal(b, &v); err != nil {
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprintf("%v", v)
}

// logStats summarises the receiver log for the report.
type logStats struct {
	handled, dups, sameLife int
	dupsByKind              map[string]int
	lives                   int
}

func statsOf(log []Entry) logStats {
	st := logStats{dupsByKind: map[string]int{}}
	first := map[string]int{} // effect ID -> life that handled it
	lives := map[int]bool{}
	for _, e := range log {
		lives[e.Life] = true
		switch e.Op {
		case OpHandled:
			st.handled++
			first[e.ID] = e.Life
		case OpDup:
			st.dups++
			st.dupsByKind[e.Kind]++
			if first[e.ID] == e.Life {
				st.sameLife++
			}
		}
	}
	st.lives = len(lives)
	return st
}
