package interp_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/unixns"
	"github.com/weftflow/weft/interp"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// inst drives one instance through Apply the way a host would, checking on
// every call that Apply is deterministic and does not touch its inputs.
type inst struct {
	t       *testing.T
	def     *dsl.Definition
	state   []byte
	meta    interp.Meta
	now     time.Time
	effects []interp.Effect // of the last accepted transition
	all     []interp.Effect // of every accepted transition
}

func start(t *testing.T, def *dsl.Definition, init any) *inst {
	t.Helper()
	i := &inst{t: t, def: def, now: t0}
	var b []byte
	if init != nil {
		var err error
		if b, err = codec.Marshal(init); err != nil {
			t.Fatal(err)
		}
	}
	i.state = b
	if err := i.apply(interp.Event{Kind: interp.EventStart, Instance: "i1"}); err != nil {
		t.Fatalf("start: %v", err)
	}
	return i
}

// apply runs ev (at the instance's clock) twice and compares the results
// byte for byte, then keeps them if accepted.
func (i *inst) apply(ev interp.Event) error {
	i.t.Helper()
	ev.Time = i.now
	stateBefore := bytes.Clone(i.state)
	metaBefore, _ := codec.Marshal(i.meta)
	r1, err1 := interp.Apply(i.def, i.state, i.meta, ev)
	r2, err2 := interp.Apply(i.def, i.state, i.meta, ev)
	if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
		i.t.Fatalf("nondeterministic error: %v vs %v", err1, err2)
	}
	if diff := cmp.Diff(r1, r2); diff != "" {
		i.t.Fatalf("nondeterministic result (-first +second):\n%s", diff)
	}
	metaAfter, _ := codec.Marshal(i.meta)
	if !bytes.Equal(stateBefore, i.state) || !bytes.Equal(metaBefore, metaAfter) {
		i.t.Fatal("Apply modified its inputs")
	}
	if err1 != nil {
		return err1
	}
	i.state, i.meta, i.effects = r1.State, r1.Meta, r1.Effects
	i.all = append(i.all, r1.Effects...)
	return nil
}

func (i *inst) mustApply(ev interp.Event) {
	i.t.Helper()
	if err := i.apply(ev); err != nil {
		i.t.Fatalf("%s: %v", ev.Kind, err)
	}
}

// callback finds the pending callback of thread's wait event (thread "" =
// any thread).
func (i *inst) callback(thread, event string) interp.Pending {
	i.t.Helper()
	for _, th := range i.meta.Threads {
		if thread != "" && th.ID != thread {
			continue
		}
		for _, p := range th.Waits {
			if p.Event == event {
				return p
			}
		}
	}
	i.t.Fatalf("no pending %q on thread %q; threads: %+v", event, thread, i.meta.Threads)
	return interp.Pending{}
}

// send delivers a custom event with payload and returns the decoded reply.
func (i *inst) send(event string, payload any) []byte {
	i.t.Helper()
	p := i.callback("", event)
	b, err := codec.Marshal(payload)
	if err != nil {
		i.t.Fatal(err)
	}
	i.mustApply(interp.Event{Kind: interp.EventCallback, Callback: p.Callback, Payload: b})
	for _, e := range i.effects {
		if e.Kind == interp.EffectReply && e.Callback == p.Callback {
			return e.Data
		}
	}
	return nil
}

// signal sends the custom event named event with payload as a Signal: to
// the first thread waiting for it, else to the inbox.
func (i *inst) signal(event string, payload any) error {
	i.t.Helper()
	b, err := codec.Marshal(payload)
	if err != nil {
		i.t.Fatal(err)
	}
	return i.apply(interp.Event{Kind: interp.EventSignal, Name: event, Payload: b})
}

func (i *inst) mustSignal(event string, payload any) {
	i.t.Helper()
	if err := i.signal(event, payload); err != nil {
		i.t.Fatalf("signal %q: %v", event, err)
	}
}

// fire advances the clock to the timer's deadline and delivers it.
func (i *inst) fire(event string) {
	i.t.Helper()
	p := i.callback("", event)
	if at := p.At; at.After(i.now) {
		i.now = at
	}
	i.mustApply(interp.Event{Kind: interp.EventCallback, Callback: p.Callback})
}

// resume advances the clock by d and sends Resume.
func (i *inst) resume(d time.Duration) error {
	i.now = i.now.Add(d)
	return i.apply(interp.Event{Kind: interp.EventResume})
}

// complete delivers an activity result for the pending call of thread.
func (i *inst) complete(thread string, out any, failure string) {
	i.t.Helper()
	p := i.callback(thread, "")
	if p.Kind != interp.Activity {
		i.t.Fatalf("thread %s waits for %s, not an activity", thread, p.Kind)
	}
	ev := interp.Event{Kind: interp.EventCallback, Callback: p.Callback, Error: failure}
	if failure == "" {
		b, err := codec.Marshal(out)
		if err != nil {
			i.t.Fatal(err)
		}
		ev.Payload = b
	}
	if t := p.At; t.After(i.now) {
		i.now = t
	}
	i.mustApply(ev)
}

func decodeState[S any](i *inst) S {
	i.t.Helper()
	var s S
	if err := codec.Unmarshal(i.state, &s); err != nil {
		i.t.Fatal(err)
	}
	return s
}

func (i *inst) output() any {
	i.t.Helper()
	var v any
	if err := codec.Unmarshal(i.meta.Output, &v); err != nil {
		i.t.Fatal(err)
	}
	return v
}

func (i *inst) wantStatus(s interp.Status) {
	i.t.Helper()
	if i.meta.Status != s {
		i.t.Fatalf("status = %s, want %s (failure: %+v)", i.meta.Status, s, i.meta.Failure)
	}
}

// positions lists "thread@path:phase" for every live thread.
func (i *inst) positions() []string {
	var out []string
	for _, th := range i.meta.Threads {
		out = append(out, th.ID+"@"+th.Path+":"+th.Phase.String())
	}
	return out
}

func (i *inst) wantPositions(want ...string) {
	i.t.Helper()
	if diff := cmp.Diff(want, i.positions()); diff != "" {
		i.t.Fatalf("positions (-want +got):\n%s", diff)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func marshal(v any) ([]byte, error) { return codec.Marshal(v) }

func unmarshal[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := codec.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// unixTime and unixNano are the interpreter's conversions of stored
// times.
func unixTime(ns int64) time.Time { return unixns.Time(ns) }
func unixNano(t time.Time) int64  { return unixns.Nano(t) }
