package interp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/activity"
	"github.com/weftflow/weft/interp"
)

// TestTransitions runs the scripts under testdata/transitions: the
// interpreter's executable specification, one semantic rule per short case.
// Each script drives named definitions (registered in scriptDefs) through
// interp.Apply and shows, after every event, the effects emitted, the meta
// and the state, in plain text. `go test ./interp -run TestTransitions
// -rewrite` regenerates the expected output; review the diff.
//
// Commands (one instance at a time; times are relative to the start):
//
//	start def=NAME            start an instance; the input, if any, is the initial state as JSON
//	send event=E [thread=T] [payload=JSON] [times=N]
//	                          deliver custom event E (payload also as the input), N times
//	                          (showing the last)
//	fire event=E [thread=T] [early]
//	                          move the clock to timer E's deadline (not with early) and deliver it
//	activity [thread=T] run | ok=JSON | error=(MESSAGE)
//	                          answer the pending Call: run its function, or a given result or error
//	deliver cb=N [payload=JSON] [error=(MESSAGE)]
//	                          deliver callback N as it is (duplicates, stale and unknown IDs)
//	resume [after=DURATION]   move the clock, then send Resume
//	advance by=DURATION       move the clock
//	cancel                    send Cancel
//	upgrade def=NAME          swap in another definition (a deploy); shows what the
//	                          next event starts from (interp.Upgrade)
//
// An accepted event prints its effects ("> "), the meta and the state. A
// refused one prints "error: ..." and the harness checks that nothing
// changed. Every Apply is run twice and compared, and its inputs checked
// untouched (see inst.apply).
func TestTransitions(t *testing.T) {
	datadriven.Walk(t, "testdata/transitions", func(t *testing.T, path string) {
		var r *runner
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if r != nil {
				r.t = t
			}
			if d.Cmd != "start" && r == nil {
				t.Fatalf("%s: %s before start", d.Pos, d.Cmd)
			}
			out, err := runCommand(t, &r, d)
			if err != nil {
				t.Fatalf("%s: %v", d.Pos, err)
			}
			return out
		})
	})
}

// scriptDef is a definition the scripts can name, with its state type.
type scriptDef struct {
	def      *dsl.Definition
	newState func() any
}

// runner is the instance a script drives.
type runner struct {
	*inst
	newState func() any
	inputs   map[uint64][]byte // the input of every run-activity effect, by callback
}

func runCommand(t *testing.T, rp **runner, d *datadriven.TestData) (string, error) {
	i := *rp
	switch d.Cmd {
	case "start":
		sd, err := lookupDef(d)
		if err != nil {
			return "", err
		}
		init := sd.newState()
		if strings.TrimSpace(d.Input) != "" {
			if err := json.Unmarshal([]byte(d.Input), init); err != nil {
				return "", fmt.Errorf("initial state: %w", err)
			}
		}
		*rp = &runner{inst: start(t, sd.def, init), newState: sd.newState, inputs: map[uint64][]byte{}}
		return (*rp).show(), nil
	case "send":
		times := 1
		d.MaybeScanArgs(t, "times", &times)
		payload, err := jsonArg(d, "payload")
		if err != nil {
			return "", err
		}
		out := ""
		for range times {
			p, err := i.pendingFor(argOr(d, "thread", ""), argOr(d, "event", ""), interp.Custom)
			if err != nil {
				return "", err
			}
			out = i.event(interp.Event{Kind: interp.EventCallback, Callback: p.Callback, Payload: payload})
		}
		return out, nil
	case "fire":
		p, err := i.pendingFor(argOr(d, "thread", ""), argOr(d, "event", ""), interp.Timer)
		if err != nil {
			return "", err
		}
		if at := p.At; !d.HasArg("early") && at.After(i.now) {
			i.now = at
		}
		return i.event(interp.Event{Kind: interp.EventCallback, Callback: p.Callback}), nil
	case "activity":
		p, err := i.pendingFor(argOr(d, "thread", ""), "", interp.Activity)
		if err != nil {
			return "", err
		}
		ev := interp.Event{Kind: interp.EventCallback, Callback: p.Callback}
		switch {
		case d.HasArg("run"):
			input, ok := i.inputs[p.Callback]
			if !ok {
				return "", fmt.Errorf("no run-activity effect for cb%d", p.Callback)
			}
			out, err := activity.Run(context.Background(), i.def, i.threadOf(p.Callback).Path, input)
			if err != nil {
				ev.Error = err.Error()
			} else {
				ev.Payload = out
			}
		case d.HasArg("error"):
			ev.Error = argOr(d, "error", "")
		default:
			if ev.Payload, err = jsonArg(d, "ok"); err != nil {
				return "", err
			}
		}
		if at := p.At; at.After(i.now) {
			i.now = at
		}
		return i.event(ev), nil
	case "deliver":
		var cb uint64
		d.ScanArgs(t, "cb", &cb)
		payload, err := jsonArg(d, "payload")
		if err != nil {
			return "", err
		}
		return i.event(interp.Event{Kind: interp.EventCallback, Callback: cb, Payload: payload, Error: argOr(d, "error", "")}), nil
	case "resume":
		if err := i.advance(argOr(d, "after", "0s")); err != nil {
			return "", err
		}
		return i.event(interp.Event{Kind: interp.EventResume}), nil
	case "advance":
		if err := i.advance(argOr(d, "by", "0s")); err != nil {
			return "", err
		}
		return fmt.Sprintf("now=%s\n", i.now.Sub(t0)), nil
	case "cancel":
		return i.event(interp.Event{Kind: interp.EventCancel}), nil
	case "upgrade":
		sd, err := lookupDef(d)
		if err != nil {
			return "", err
		}
		i.def, i.newState = sd.def, sd.newState
		r, err := interp.Upgrade(i.def, i.state, i.meta)
		if err != nil {
			return "error: " + err.Error() + "\n", nil
		}
		// Upgrade's effects belong to no transition yet: number them here.
		for k := range r.Effects {
			r.Effects[k].ID.Index = uint32(k)
		}
		return renderEffectLines(r.Effects, relativeTo(t0)) + renderMetaBrief(r.Meta, relativeTo(t0)), nil
	}
	return "", fmt.Errorf("unknown command %q", d.Cmd)
}

func lookupDef(d *datadriven.TestData) (scriptDef, error) {
	name := argOr(d, "def", "")
	sd, ok := scriptDefs[name]
	if !ok {
		return scriptDef{}, fmt.Errorf("no definition %q in scriptDefs", name)
	}
	return sd, nil
}

// argOr returns the argument's values joined by ", " (so error=(a, b)
// keeps its comma), or def when it is absent.
func argOr(d *datadriven.TestData, key, def string) string {
	a, ok := d.Arg(key)
	if !ok {
		return def
	}
	return strings.Join(a.Vals, ", ")
}

// jsonArg encodes the JSON of argument key (or the command's input) as
// CBOR. Integral numbers become integers, so an int payload decodes.
func jsonArg(d *datadriven.TestData, key string) ([]byte, error) {
	src := argOr(d, key, "")
	if src == "" {
		src = strings.TrimSpace(d.Input)
	}
	if src == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return codec.Marshal(integers(v))
}

func integers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		for k := range x {
			x[k] = integers(x[k])
		}
	case map[string]any:
		for k := range x {
			x[k] = integers(x[k])
		}
	}
	return v
}

func (i *runner) advance(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	i.now = i.now.Add(d)
	return nil
}

// pendingFor finds the pending callback of kind for event (any event when
// empty) on thread (any thread when empty).
func (i *runner) pendingFor(thread, event string, kind interp.TriggerKind) (interp.Pending, error) {
	for _, th := range i.meta.Threads {
		if thread != "" && th.ID != thread {
			continue
		}
		for _, p := range th.Waits {
			if p.Kind == kind && (event == "" || p.Event == event) {
				return p, nil
			}
		}
	}
	return interp.Pending{}, fmt.Errorf("no pending %s %q on thread %q", kind, event, thread)
}

func (i *runner) threadOf(cb uint64) interp.Thread {
	for _, th := range i.meta.Threads {
		for _, p := range th.Waits {
			if p.Callback == cb {
				return th
			}
		}
	}
	return interp.Thread{}
}

// event applies ev and renders the outcome. A refused event must change
// nothing; an accepted one must leave a meta that round-trips through its
// codec and, while the instance runs, resolves in the definition.
func (i *runner) event(ev interp.Event) string {
	i.t.Helper()
	state, meta := bytes.Clone(i.state), interp.EncodeMeta(i.meta)
	if err := i.apply(ev); err != nil {
		if !bytes.Equal(state, i.state) || !bytes.Equal(meta, interp.EncodeMeta(i.meta)) {
			i.t.Fatalf("a refused %s changed the instance", ev.Kind)
		}
		i.checkRefusal(ev, err)
		return "error: " + err.Error() + "\n"
	}
	back, err := interp.DecodeMeta(interp.EncodeMeta(i.meta))
	if err != nil {
		i.t.Fatalf("meta does not decode: %v", err)
	}
	if diff := cmp.Diff(i.meta, back); diff != "" {
		i.t.Fatalf("meta does not round-trip (-want +got):\n%s", diff)
	}
	if !i.meta.Status.Finished() {
		if err := interp.Resolve(i.def, i.meta); err != nil {
			i.t.Fatalf("the new meta does not resolve: %v", err)
		}
	}
	return i.show()
}

// sentinels are the documented errors of Apply.
var sentinels = []error{interp.ErrUnknownCallback, interp.ErrDuplicateCallback, interp.ErrStaleCallback,
	interp.ErrNotDue, interp.ErrRejected, interp.ErrFinished, interp.ErrPositionLost, interp.ErrMigration,
	interp.ErrBadEvent, interp.ErrCorrupt}

// checkRefusal checks that a refused event's error is typed as documented:
// exactly one sentinel matches, a callback error names the callback, and
// a panic in a handler is a *PanicError.
func (i *runner) checkRefusal(ev interp.Event, err error) {
	i.t.Helper()
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		i.t.Fatalf("error %q matches %d of Apply's sentinels, want 1", err, n)
	}
	var ce *interp.CallbackError
	if errors.As(err, &ce) && ce.Callback != ev.Callback {
		i.t.Fatalf("CallbackError for callback %d, the event named %d", ce.Callback, ev.Callback)
	}
	if ev.Kind == interp.EventCallback && !errors.Is(err, interp.ErrPositionLost) && !errors.Is(err, interp.ErrMigration) && ce == nil {
		i.t.Fatalf("a refused callback's error %q is not a *CallbackError", err)
	}
	var pe *interp.PanicError
	if strings.Contains(err.Error(), "panic at") && !errors.As(err, &pe) {
		i.t.Fatalf("error %q reports a panic but holds no *PanicError", err)
	}
	var pl *interp.PositionLostError
	if errors.Is(err, interp.ErrPositionLost) && !errors.As(err, &pl) {
		i.t.Fatalf("error %q is not a *PositionLostError", err)
	}
}

func (i *runner) show() string {
	for _, e := range i.effects {
		if e.Kind == interp.EffectRunActivity {
			i.inputs[e.Callback] = e.Data
		}
	}
	ts := relativeTo(t0)
	state, err := renderState(i.state, i.newState)
	if err != nil {
		i.t.Fatalf("state: %v", err)
	}
	return renderEffectLines(i.effects, ts) + renderMetaBrief(i.meta, ts) + "state=" + state
}

func renderEffectLines(es []interp.Effect, ts clock) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(renderEffects(es, ts), "\n") {
		if line != "" {
			b.WriteString("> " + line)
		}
	}
	return b.String()
}

// renderMetaBrief is renderMeta without what every script shares (the
// instance ID and the start time).
func renderMetaBrief(m interp.Meta, ts clock) string {
	m.Instance, m.Started = "", time.Time{}
	return renderMeta(m, ts)
}

// Definitions used by the scripts. Their names are the scripts' def=
// arguments; each script's comments say what it shows.

type script struct {
	N     int
	Log   []string
	Flag  bool
	I     int
	Until time.Time `json:",omitzero"`
}

func newScript() any { return &script{} }

func sdef(name string, body dsl.Stmt, opts ...dsl.Option) scriptDef {
	return scriptDef{def: dsl.MustCompile[script](name, body, opts...), newState: newScript}
}

func slog(name string) *dsl.StepStmt {
	return dsl.Step(name, func(s *script) error { s.Log = append(s.Log, name); return nil })
}

func sinc(name string) *dsl.StepStmt {
	return dsl.Step(name, func(s *script) error { s.N++; return nil })
}

func ssignal(name string) dsl.Trigger {
	return dsl.Signal(func(s *script, n int) (int, error) { s.N += n; s.Log = append(s.Log, name); return s.N, nil })
}

type scriptApprover struct{}

func (scriptApprover) Handle(s *script, yes bool) (string, error) { s.Flag = yes; return "noted", nil }
func (scriptApprover) Setup(s *script) any                        { return map[string]int{"n": s.N} }

func approvalEvent() dsl.Trigger {
	return dsl.Custom[script, bool, string]("approval-request", scriptApprover{})
}

var scriptCall = dsl.Call("charge", func(ctx context.Context, s script) (string, error) {
	if s.Flag {
		return "", errors.New("card declined")
	}
	return fmt.Sprint("receipt-", s.N), nil
}, func(s *script, r string) { s.Log = append(s.Log, r) }).
	Retry(dsl.RetryPolicy{MaxAttempts: 3, Initial: time.Second}).Timeout(5 * time.Second)

var scriptDefs = map[string]scriptDef{}

func register(name string, body dsl.Stmt, opts ...dsl.Option) {
	if _, dup := scriptDefs[name]; dup {
		panic("two script definitions named " + name)
	}
	scriptDefs[name] = sdef(name, body, opts...)
}

func init() {
	// sequence.txt
	register("seq", dsl.S(sinc("a"), sinc("b"), dsl.ReturnWith(func(s *script) int { return s.N })))
	register("fall-off", dsl.S(slog("only")))
	register("fail", dsl.S(slog("a"), dsl.Fail(errors.New("bad input")), slog("never")))

	// branches.txt
	register("if", dsl.S(
		dsl.If("pick", func(s *script) bool { return s.N == 1 }, slog("one")).
			ElseIf("two", func(s *script) bool { return s.N == 2 }, slog("two")).
			Else(slog("other")),
		dsl.If("no else", func(s *script) bool { return false }, slog("never")),
	))
	register("switch", dsl.Switch("size",
		dsl.Case("small", func(s *script) bool { return s.N < 10 }, slog("small")),
		dsl.Case("big", func(s *script) bool { return s.N < 100 }, slog("big")),
		dsl.Default(slog("huge")),
	))

	// loops.txt
	register("loops", dsl.For("outer",
		dsl.Step("next i", func(s *script) error { s.I++; s.N = 0; return nil }),
		dsl.If("i is 1", func(s *script) bool { return s.I == 1 }, dsl.Continue()),
		dsl.If("i is 3", func(s *script) bool { return s.I == 3 }, dsl.Break()),
		dsl.While("inner", func(s *script) bool { return s.N < 10 },
			dsl.Step("next n", func(s *script) error { s.N++; return nil }),
			dsl.If("odd", func(s *script) bool { return s.N%2 == 1 }, dsl.Continue()).
				ElseIf("four", func(s *script) bool { return s.N == 4 }, dsl.Break()),
			dsl.Step("log", func(s *script) error { s.Log = append(s.Log, fmt.Sprint(s.I, ".", s.N)); return nil }),
		),
		dsl.Step("after inner", func(s *script) error { s.Log = append(s.Log, fmt.Sprint("end ", s.I)); return nil }),
	))
	register("cart", dsl.S(
		dsl.For("shop", dsl.Wait("input",
			dsl.On("add", ssignal("add")),
			dsl.On("done", ssignal("done"), dsl.Break()),
		)),
		slog("checkout"),
	))

	// waits.txt
	register("approval", dsl.Wait("decision",
		dsl.On("timeout", dsl.After(10*time.Minute), dsl.Return("timed out")),
		dsl.On("answer", dsl.Signal(func(s *script, ok bool) (string, error) {
			if !ok {
				return "", errors.New("only yes is accepted")
			}
			s.Flag = ok
			return "thanks", nil
		}), dsl.Return("answered")),
	))
	register("at", dsl.Wait("until", dsl.On("deadline", dsl.At(func(s *script) time.Time { return s.Until }), dsl.Return("late"))))
	register("setup", dsl.S(
		dsl.Wait("ask",
			dsl.On("manager", approvalEvent(), slog("answered")),
			dsl.On("expire", dsl.After(time.Hour), slog("expired")),
		),
		dsl.Wait("again", dsl.On("manager", approvalEvent())),
	))

	// calls.txt
	register("pay", dsl.S(scriptCall, dsl.ReturnWith(func(s *script) []string { return s.Log })))

	// steps.txt
	register("retry", dsl.S(
		dsl.Go("fixer", dsl.Wait("fix", dsl.On("fix", dsl.Signal(func(s *script, _ int) (int, error) { s.Flag = true; return 0, nil })))),
		dsl.Step("flaky", func(s *script) error {
			s.N += 100 // rolled back with every failed attempt
			if !s.Flag {
				return errors.New("not yet")
			}
			return nil
		}).Retry(dsl.RetryPolicy{MaxAttempts: 4, Initial: time.Second, Multiplier: 2}),
		dsl.Return("ok"),
	))
	register("exhaust", dsl.Section("work",
		dsl.Step("boom", func(s *script) error { s.N++; return errors.New("boom") }).Retry(dsl.RetryPolicy{MaxAttempts: 2, Initial: time.Second}),
	))

	// panics.txt
	register("panic-step", dsl.Step("explode", func(s *script) error { panic("kaboom") }).Retry(dsl.RetryPolicy{MaxAttempts: 2, Initial: time.Second}))
	register("panic-cond", dsl.If("bad", func(s *script) bool { var m map[string]int; m["x"] = 1; return true }))
	register("panic-handler", dsl.Wait("w", dsl.On("e", dsl.Signal(func(s *script, n int) (int, error) {
		if n < 0 {
			panic("negative")
		}
		return n, nil
	}))))
	register("panic-thread-id", dsl.GoEach("w", func(s *script) string { return s.Log[5] }, slog("x")))

	// threads.txt
	register("threads", dsl.S(
		dsl.Go("left", dsl.Wait("l", dsl.On("ping", ssignal("ping")))),
		dsl.Go("right", dsl.Wait("r", dsl.On("pong", ssignal("pong"))), slog("right done")),
		slog("started"),
		dsl.Join("both", "left", "right"),
		slog("joined"),
	))
	register("fanout", dsl.S(
		dsl.While("spawn", func(s *script) bool { return s.I < len(s.Log) },
			dsl.GoEach("worker", func(s *script) string { return s.Log[s.I] },
				dsl.Wait("job", dsl.On("finish", dsl.Signal(func(s *script, _ int) (int, error) { s.N++; return s.N, nil })))),
			dsl.Step("inc", func(s *script) error { s.I++; return nil }),
		),
		dsl.Go("watch", dsl.WaitFor("two done", func(s *script) bool { return s.N >= 2 }), slog("saw two")),
		dsl.Join("all", "worker", "watch"),
	))
	register("twice", dsl.For("loop", dsl.Go("w", dsl.WaitFor("never", func(s *script) bool { return false }))))

	// budget.txt
	register("spin", dsl.S(dsl.While("spin", func(s *script) bool { return s.N < 12 }, sinc("inc")), dsl.Return("done")), dsl.Budget(5))
	register("fair", dsl.S(
		dsl.Go("a spinner", dsl.For("spin", sinc("inc"))),
		dsl.Go("b worker", slog("worked")),
		dsl.Join("both", "b worker"),
		dsl.Return("done"),
	), dsl.Budget(5))

	// cancel.txt
	register("cancel", dsl.S(
		dsl.Go("side", dsl.Wait("w", dsl.On("t", dsl.After(time.Hour)))),
		dsl.Go("payer", scriptCall),
		dsl.Wait("main wait", dsl.On("m", approvalEvent())),
	), dsl.OnCancel(
		slog("undo"),
		dsl.Wait("grace", dsl.On("over", dsl.After(time.Minute))),
		slog("bye"),
	))
	register("cancel-plain", dsl.Wait("w", dsl.On("t", dsl.After(time.Hour))))

	// callbacks.txt
	register("callbacks", dsl.For("loop", dsl.Wait("w", dsl.On("a", ssignal("a")), dsl.On("b", ssignal("b")))))

	// upgrades.txt: v1 parks at "w"; the others change the tree around it.
	waitW := func(body ...dsl.Stmt) dsl.Stmt { return dsl.Wait("w", dsl.On("go", ssignal("go"), body...)) }
	register("up-v1", dsl.S(slog("a"), waitW(), slog("b"), slog("c")))
	register("up-insert", dsl.S(slog("x"), slog("a"), waitW(), slog("z"), slog("b"), slog("c")))
	register("up-reorder", dsl.S(waitW(), slog("a"), slog("c"), slog("b")))
	register("up-branch", dsl.S(slog("a"), waitW(),
		dsl.If("branch", func(s *script) bool { return len(s.Log) == 2 }, slog("b in branch")).Else(slog("never")), slog("c")))
	register("up-body", dsl.S(slog("a"), waitW(slog("inside")), slog("c")))
	register("up-removed", dsl.S(slog("a"), slog("b")))
	register("up-renamed", dsl.S(slog("a"), dsl.Wait("w2", dsl.On("go", ssignal("go")))))
	register("up-event-removed", dsl.S(slog("a"), dsl.Wait("w", dsl.On("other", ssignal("other")))))
	register("up-event-kind", dsl.S(slog("a"), dsl.Wait("w", dsl.On("go", dsl.After(time.Minute)))))
	register("up-kind", dsl.S(slog("a"), slog("w")))
	register("up-moved", dsl.S(slog("a"), dsl.If("new", func(*script) bool { return true }, waitW()), slog("b")))
	register("up-drop-unparked", dsl.S(slog("a"), waitW(), slog("c")))
	loop := func(extra ...dsl.Stmt) dsl.Stmt {
		return dsl.While("l", func(s *script) bool { return s.N < 2 }, append([]dsl.Stmt{waitW()}, extra...)...)
	}
	register("loop-v1", loop(slog("n")))
	register("loop-v2", loop(slog("new"), slog("n")))

	// migrations.txt
	register("mig-rename", dsl.S(slog("a"), dsl.Wait("wait", dsl.On("start", ssignal("go"))), slog("b")),
		dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"w": "wait", "w/go": "wait/start"}}))
	register("mig-removed", dsl.S(slog("a"), slog("b"), slog("c")),
		dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Removed: map[string]string{"w": "c"}}))
	register("mig-setup-v1", dsl.S(dsl.Wait("ask", dsl.On("m", approvalEvent()), dsl.On("t", dsl.After(time.Hour))), slog("after")))
	register("mig-setup-v2", dsl.S(slog("after")),
		dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Removed: map[string]string{"ask": "after"}}))
	register("mig-upcast", dsl.S(slog("a"), waitW(), slog("b")),
		dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, State: dsl.Upcast(func(o script) (script, error) {
			o.N *= 10
			o.Log = append(o.Log, "upcast")
			return o, nil
		})}))
	register("mig-v3", dsl.S(dsl.Wait("third", dsl.On("go", ssignal("go")))), dsl.Version(3), dsl.Migrate(
		dsl.Migration{From: 2, Paths: map[string]string{"second": "third"}},
		dsl.Migration{From: 1, Paths: map[string]string{"w": "second"}},
	))
	register("mig-failing", dsl.S(waitW()), dsl.Version(2), dsl.Migrate(
		dsl.Migration{From: 1, State: func([]byte) ([]byte, error) { return nil, errors.New("no") }}))
}

// failRecorder stands in for the testing.TB of a script run, recording
// failures instead of reporting them.
type failRecorder struct {
	testing.TB
	failures []string
}

func (r *failRecorder) Fatalf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}
func (r *failRecorder) Errorf(format string, args ...any) { r.Fatalf(format, args...) }
func (r *failRecorder) Fatal(args ...any)                 { r.failures = append(r.failures, fmt.Sprint(args...)) }
func (r *failRecorder) Error(args ...any)                 { r.Fatal(args...) }
func (r *failRecorder) FailNow()                          {}
func (r *failRecorder) Failed() bool                      { return len(r.failures) > 0 }

// A script whose expected output is wrong in one detail fails: the
// comparison is real, so a change of behavior cannot pass unnoticed.
func TestTransitionsCatchWrongExpectations(t *testing.T) {
	if rewriting() {
		t.Skip("rewriting")
	}
	right := "start def=approval\n----\n" +
		"> 0 start-timer thread=main path=\"decision\" event=\"timeout\" cb1 at=+10m0s\n" +
		"status=running seq=1 version=1 due=+10m0s next-callback=2\n" +
		"thread main @\"decision\" waiting\n" +
		"  cb1 timer event=\"timeout\" at=+10m0s\n" +
		"  cb2 custom event=\"answer\"\n" +
		"state={\"N\":0,\"Log\":null,\"Flag\":false,\"I\":0}\n"
	for _, c := range []struct {
		name, script string
		fails        bool
	}{
		{"as expected", right, false},
		{"another due time", strings.Replace(right, "due=+10m0s", "due=+11m0s", 1), true},
		{"an effect missing", strings.Replace(right, "> 0 start-timer thread=main path=\"decision\" event=\"timeout\" cb1 at=+10m0s\n", "", 1), true},
		{"another phase", strings.Replace(right, "\" waiting", "\" retry", 1), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &failRecorder{TB: t}
			var r *runner
			datadriven.RunTestFromStringAny(rec, c.script, func(_ testing.TB, d *datadriven.TestData) string {
				out, err := runCommand(t, &r, d)
				if err != nil {
					t.Fatal(err)
				}
				return out
			})
			if got := len(rec.failures) > 0; got != c.fails {
				t.Fatalf("script failed: %v, want %v (failures: %q)", got, c.fails, rec.failures)
			}
		})
	}
}

// rewriting reports whether datadriven's -rewrite flag is set.
func rewriting() bool {
	f := flag.Lookup("rewrite")
	return f != nil && f.Value.String() == "true"
}
