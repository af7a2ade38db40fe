package interp_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/internal/golden"
	"github.com/weftflow/weft/interp"
)

// This file freezes what a weft instance looks like when stored: the
// record (codec.EncodeRecord) holding the state and the meta
// (interp.EncodeMeta), for a thread parked at every kind of position and an
// instance in every status, plus the effects of the transition that wrote
// it. Each case drives a real definition through interp.Apply.
//
// testdata/golden/NAME.cbor holds the record's bytes as this version wrote
// them; NAME.txt holds the same bytes in hex, in CBOR diagnostic notation,
// and the decoded meta, state and effects rendered as text. The test
// decodes every stored record with the current code and checks that it
// reads the same values and re-encodes to the same bytes, with both the
// hand-written meta codec and the generic one. The rule for changing these
// files is in docs/format.md.

const goldenDir = "testdata/golden"

// ledger is the state of the golden definitions; its fields exercise the
// codec's rules for the types a state commonly holds.
type ledger struct {
	N     int
	Log   []string
	Flag  bool
	Until time.Time
	Items map[string]int
	Price float64
}

func newLedger() any { return &ledger{} }

func note(name string) *dsl.StepStmt {
	return dsl.Step(name, func(s *ledger) error { s.N++; s.Log = append(s.Log, name); return nil })
}

type goldenApprover struct{}

func (goldenApprover) Handle(s *ledger, yes bool) (string, error) { s.Flag = yes; return "noted", nil }
func (goldenApprover) Setup(s *ledger) any                        { return map[string]int{"n": s.N} }

func ledgerSignal(name string) dsl.Trigger {
	return dsl.Signal(func(s *ledger, n int) (int, error) { s.N += n; s.Log = append(s.Log, name); return s.N, nil })
}

type receipt struct {
	ID     string
	Amount int
}

var goldenRetry = dsl.RetryPolicy{MaxAttempts: 3, Initial: time.Second}

var goldenCharge = dsl.Call("charge", func(ctx context.Context, s ledger) (string, error) { return fmt.Sprint("r-", s.N), nil },
	func(s *ledger, r string) { s.Log = append(s.Log, r) }).Retry(goldenRetry).Timeout(5 * time.Second)

// goldenCase is one stored instance: run drives a definition through Apply
// and returns the instance after the transition that wrote it.
type goldenCase struct {
	name  string
	about string
	run   func(t *testing.T) *inst
}

var goldenCases = []goldenCase{
	{"wait-events", "A thread parked at a Wait on an After timer, an At timer, a custom event with setup and a signal.",
		func(t *testing.T) *inst {
			def := dsl.MustCompile[ledger]("golden-wait", dsl.S(
				dsl.Step("prepare", func(s *ledger) error {
					s.N, s.Until, s.Items, s.Price = 1, t0.Add(2*time.Hour), map[string]int{"b": 2, "a": 1}, 2.5
					return nil
				}),
				dsl.Wait("decision",
					dsl.On("timeout", dsl.After(10*time.Minute)),
					dsl.On("deadline", dsl.At(func(s *ledger) time.Time { return s.Until })),
					dsl.On("manager", dsl.Custom[ledger, bool, string]("approval-request", goldenApprover{})),
					dsl.On("answer", ledgerSignal("answer")),
				),
			))
			return start(t, def, nil)
		}},
	{"call-first-attempt", "A thread parked at a Call: the first attempt of the activity.",
		func(t *testing.T) *inst {
			return start(t, dsl.MustCompile[ledger]("golden-call", dsl.S(note("a"), goldenCharge)), nil)
		}},
	{"call-retry", "A Call whose first attempt failed: the second attempt, due after the backoff.",
		func(t *testing.T) *inst {
			i := start(t, dsl.MustCompile[ledger]("golden-call", dsl.S(note("a"), goldenCharge)), nil)
			i.complete("main", nil, "card declined")
			return i
		}},
	{"threads-waitfor-join", "Five threads: two started by GoEach with dynamic IDs and one by Go wait for events, one at a WaitFor, main at a Join.",
		func(t *testing.T) *inst {
			def := dsl.MustCompile[ledger]("golden-threads", dsl.S(
				dsl.Step("items", func(s *ledger) error { s.Log = []string{"x", "y", "z"}; return nil }),
				dsl.While("spawn", func(s *ledger) bool { return s.N < len(s.Log) },
					dsl.GoEach("worker", func(s *ledger) string { return s.Log[s.N] },
						dsl.Wait("job", dsl.On("finish", ledgerSignal("finish")))),
					dsl.Step("next", func(s *ledger) error { s.N++; return nil }),
				),
				dsl.Go("watch", dsl.WaitFor("enough", func(s *ledger) bool { return s.N > 10 })),
				dsl.Join("all", "worker", "watch"),
			))
			i := start(t, def, nil)
			i.send("finish", 0) // one worker ends: four threads are left, and callbacks recorded
			return i
		}},
	{"step-retry", "A step whose first attempt failed, parked in phase retry until its backoff.",
		func(t *testing.T) *inst {
			def := dsl.MustCompile[ledger]("golden-retry", dsl.S(
				note("a"),
				dsl.Step("flaky", func(s *ledger) error { s.N = 99; return errors.New("not yet") }).Retry(goldenRetry),
			))
			return start(t, def, nil)
		}},
	{"yielded-runnable", "The budget ran out: threads left runnable in phases start, iterate and exit, the yielding thread recorded.",
		func(t *testing.T) *inst {
			// main runs first and parks at the join; waiter parks at its
			// WaitFor; spinner spends the rest of the budget and yields
			// before a loop test; the WaitFor now holds, so waiter is
			// woken into phase exit; late never ran.
			def := dsl.MustCompile[ledger]("golden-yield", dsl.S(
				dsl.Go("waiter", dsl.WaitFor("two", func(s *ledger) bool { return s.N >= 2 }), note("after")),
				dsl.Go("spinner", dsl.For("spin", note("inc"))),
				dsl.Go("late", note("late work")),
				note("main work"),
				dsl.Join("j", "late"),
			), dsl.Budget(3))
			return start(t, def, nil)
		}},
	{"yielded-at-step", "The budget ran out before a step: the thread stays in phase enter and the next Resume runs it.",
		func(t *testing.T) *inst {
			return start(t, dsl.MustCompile[ledger]("golden-yield-step", dsl.S(note("a"), note("b")), dsl.Budget(1)), nil)
		}},
	{"completed-output", "Completed with an output, after accepting callbacks.",
		func(t *testing.T) *inst {
			def := dsl.MustCompile[ledger]("golden-done", dsl.S(
				dsl.Wait("pay", dsl.On("paid", ledgerSignal("paid"))),
				dsl.ReturnWith(func(s *ledger) receipt { return receipt{ID: "r-1", Amount: s.N} }),
			))
			i := start(t, def, nil)
			i.send("paid", 42)
			return i
		}},
	{"failed", "Failed by a Fail in a thread, which tore down the other threads' waits.",
		func(t *testing.T) *inst {
			def := dsl.MustCompile[ledger]("golden-fail", dsl.S(
				dsl.Go("checker", dsl.Wait("check", dsl.On("verdict", ledgerSignal("verdict"),
					dsl.If("bad", func(s *ledger) bool { return s.N < 0 }, dsl.FailWith(func(s *ledger) error {
						return fmt.Errorf("bad verdict %d", s.N)
					}))))),
				dsl.Wait("hold", dsl.On("later", dsl.After(time.Hour))),
			))
			i := start(t, def, nil)
			i.send("verdict", -5)
			return i
		}},
	{"failed-panic", "Failed by a panic in a step with one attempt: the failure carries the panic flag.",
		func(t *testing.T) *inst {
			def := dsl.MustCompile[ledger]("golden-panic", dsl.Section("work",
				dsl.Step("explode", func(s *ledger) error { panic("kaboom") }).Retry(dsl.RetryPolicy{MaxAttempts: 1})))
			return start(t, def, nil)
		}},
	{"canceling", "A cancel tore down a custom setup and a pending activity; the cleanup section waits on a timer.",
		func(t *testing.T) *inst {
			i := start(t, cancelDef(), nil)
			i.mustApply(interp.Event{Kind: interp.EventCancel})
			return i
		}},
	{"canceled", "The cleanup section ended: canceled.",
		func(t *testing.T) *inst {
			i := start(t, cancelDef(), nil)
			i.mustApply(interp.Event{Kind: interp.EventCancel})
			i.fire("over")
			return i
		}},
	{"terminated", "A thread parked at a Wait with a setup, a timer and a signal, ended by a Terminate: who and why recorded.",
		func(t *testing.T) *inst {
			def := dsl.MustCompile[ledger]("golden-terminate", dsl.Wait("decision",
				dsl.On("timeout", dsl.After(10*time.Minute)),
				dsl.On("manager", dsl.Custom[ledger, bool, string]("approval-request", goldenApprover{})),
			))
			i := start(t, def, nil)
			i.mustApply(interp.Event{Kind: interp.EventTerminate, Reason: "stranded by a deploy", By: "ops@example"})
			return i
		}},
	{"migrated", "Written by version 1, moved by a migration (path rename and state upcast) to version 2 on its next event.",
		func(t *testing.T) *inst {
			v1 := dsl.MustCompile[ledger]("golden-migrate", dsl.S(
				dsl.Wait("w", dsl.On("go", ledgerSignal("go"))),
				dsl.Wait("second", dsl.On("go", ledgerSignal("go"))),
			))
			i := start(t, v1, nil)
			i.def = dsl.MustCompile[ledger]("golden-migrate", dsl.S(
				dsl.Wait("first", dsl.On("go", ledgerSignal("go"))),
				dsl.Wait("second", dsl.On("go", ledgerSignal("go"))),
			), dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"w": "first"},
				State: dsl.Upcast(func(o ledger) (ledger, error) { o.Price = 1.25; return o, nil })}))
			i.send("go", 1)
			return i
		}},
	{"recent-window", "A loop that accepted 20 signals: the recent-callback window holds the last 16.",
		func(t *testing.T) *inst {
			def := dsl.MustCompile[ledger]("golden-recent", dsl.For("loop", dsl.Wait("w", dsl.On("add", ledgerSignal("add")))))
			i := start(t, def, nil)
			for range 20 {
				i.send("add", 1)
			}
			return i
		}},
	{"inbox-buffered", "Two events sent before any wait took them, held in the inbox in the order sent.",
		func(t *testing.T) *inst {
			i := start(t, inboxDef(), nil)
			i.mustSignal("late", 2)
			i.mustSignal("later", 3)
			return i
		}},
	{"inbox-dropped", "Canceled while an event was buffered: the event is dropped with a dropped effect.",
		func(t *testing.T) *inst {
			i := start(t, inboxDef(), nil)
			i.mustSignal("late", 2)
			i.mustApply(interp.Event{Kind: interp.EventCancel})
			return i
		}},
	{"child-waiting", "A thread parked at a Child: the child's start (workflow, ID by rule, input) and the policy kept with the wait.",
		func(t *testing.T) *inst {
			return start(t, goldenChildParent(), nil)
		}},
	{"child-ended-by-cancel", "A cancel while a child ran: the child's wait is torn down by an end-child effect carrying the policy.",
		func(t *testing.T) *inst {
			i := start(t, goldenChildParent(), nil)
			i.mustApply(interp.Event{Kind: interp.EventCancel})
			return i
		}},
}

// goldenChildParent starts a child of workflow golden-child and waits for it.
func goldenChildParent() *dsl.Definition {
	child := dsl.MustCompile[receipt]("golden-child", dsl.Return("ok"))
	return dsl.MustCompile[ledger]("golden-parent", dsl.S(
		note("a"),
		dsl.Child("invoice", child, func(s *ledger) receipt { return receipt{ID: "inv", Amount: s.N} },
			func(s *ledger, out string, err error) error { s.Log = append(s.Log, out); return err }).
			ID(func(s *ledger) string { return "invoice-of-golden" }).
			OnParentEnd(dsl.TerminateChild),
	))
}

// inboxDef waits for "first"; the events of its second wait can only be
// buffered until then.
func inboxDef() *dsl.Definition {
	return dsl.MustCompile[ledger]("golden-inbox", dsl.S(
		dsl.Wait("first", dsl.On("first", ledgerSignal("first"))),
		dsl.Wait("second", dsl.On("late", ledgerSignal("late")), dsl.On("later", ledgerSignal("later"))),
	))
}

func cancelDef() *dsl.Definition {
	return dsl.MustCompile[ledger]("golden-cancel", dsl.S(
		dsl.Go("payer", goldenCharge),
		dsl.Wait("ask", dsl.On("manager", dsl.Custom[ledger, bool, string]("approval-request", goldenApprover{}))),
	), dsl.OnCancel(
		note("undo"),
		dsl.Wait("grace", dsl.On("over", dsl.After(time.Minute))),
	))
}

// produced is what a golden case writes: its record and the text sections
// that describe it.
type produced struct {
	record  []byte
	effects []interp.Effect
	file    golden.File
}

func produce(t *testing.T, c goldenCase) produced {
	t.Helper()
	i := c.run(t)
	rec, err := codec.EncodeRecord(codec.Record{Workflow: i.def.Name(), State: i.state, Meta: interp.EncodeMeta(i.meta)})
	if err != nil {
		t.Fatal(err)
	}
	state, err := renderState(i.state, newLedger)
	if err != nil {
		t.Fatal(err)
	}
	header := fmt.Sprintf("# %s (record format %d)\n# %s\n# Written by `go test ./interp -run TestGolden -update`. Never regenerate\n# without a new format version: see docs/format.md.\n",
		c.name, codec.Format, c.about)
	f := golden.File{Header: header, Sections: []golden.Section{
		{Name: "hex", Text: golden.Hex(rec)},
		{Name: "diagnostic", Text: golden.Diag(rec)},
		{Name: "workflow", Text: i.def.Name() + "\n"},
		{Name: "meta", Text: renderMeta(i.meta, absolute)},
		{Name: "state", Text: state},
		{Name: "effects", Text: renderEffects(i.effects, absolute)},
	}}
	return produced{record: rec, effects: i.effects, file: f}
}

// metaCodec is one way of reading and writing a stored meta. The golden
// check runs every one in use; the planted tests pass mutated ones.
type metaCodec struct {
	name   string
	encode func(interp.Meta) ([]byte, error)
	decode func([]byte) (interp.Meta, error)
}

// recordCodec is one way of reading and writing a stored record.
type recordCodec struct {
	name   string
	encode func(codec.Record) ([]byte, error)
	decode func([]byte) (codec.Record, error)
}

var (
	metaCodecs = []metaCodec{
		{"interp.EncodeMeta/DecodeMeta", func(m interp.Meta) ([]byte, error) { return interp.EncodeMeta(m), nil }, interp.DecodeMeta},
		{"codec.Marshal/Unmarshal of interp.Meta", func(m interp.Meta) ([]byte, error) { return codec.Marshal(m) },
			func(b []byte) (interp.Meta, error) {
				var m interp.Meta
				err := decode.Into("meta", b, &m)
				return m, err
			}},
	}
	recordCodecs = []recordCodec{
		{"codec.EncodeRecord/DecodeRecord", codec.EncodeRecord, codec.DecodeRecord},
		{"codec.Marshal/Unmarshal of codec.Record", func(r codec.Record) ([]byte, error) { r.Format = codec.Format; return codec.Marshal(r) },
			func(b []byte) (codec.Record, error) {
				var r codec.Record
				err := codec.Unmarshal(b, &r)
				return r, err
			}},
	}
)

// checkStored decodes a stored record with every codec given and compares
// what it reads with the golden's renderings, then re-encodes it and
// compares the bytes. It returns one line per problem.
func checkStored(raw []byte, f golden.File, records []recordCodec, metas []metaCodec) []string {
	var problems []string
	want := func(name string) string { s, _ := f.Get(name); return s }
	for _, rc := range records {
		rec, err := rc.decode(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s cannot decode the record: %v", rc.name, err))
			continue
		}
		problems = append(problems, golden.CompareText(rc.name+": workflow", want("workflow"), rec.Workflow+"\n")...)
		again, err := rc.encode(rec)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s cannot re-encode the record: %v", rc.name, err))
		} else {
			problems = append(problems, golden.Compare(rc.name+": re-encoded record", raw, again)...)
		}
		state, err := renderState(rec.State, newLedger)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: state does not decode: %v", rc.name, err))
		} else {
			problems = append(problems, golden.CompareText(rc.name+": decoded state", want("state"), state)...)
			v := newLedger()
			_ = codec.Unmarshal(rec.State, v)
			b, err := codec.Marshal(v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: state does not re-encode: %v", rc.name, err))
			} else {
				problems = append(problems, golden.Compare(rc.name+": re-encoded state", rec.State, b)...)
			}
		}
		for _, mc := range metas {
			m, err := mc.decode(rec.Meta)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s cannot decode the meta: %v", mc.name, err))
				continue
			}
			problems = append(problems, golden.CompareText(mc.name+": decoded meta", want("meta"), renderMeta(m, absolute))...)
			b, err := mc.encode(m)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s cannot re-encode the meta: %v", mc.name, err))
				continue
			}
			problems = append(problems, golden.Compare(mc.name+": re-encoded meta", rec.Meta, b)...)
		}
	}
	return problems
}

func TestGolden(t *testing.T) {
	kinds := map[interp.EffectKind]bool{}
	phases := map[interp.Phase]bool{}
	statuses := map[interp.Status]bool{}
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			p := produce(t, c)
			for _, e := range p.effects {
				kinds[e.Kind] = true
			}
			rec, _ := codec.DecodeRecord(p.record)
			m, _ := interp.DecodeMeta(rec.Meta)
			statuses[m.Status] = true
			for _, th := range m.Threads {
				phases[th.Phase] = true
			}
			if *golden.Update {
				if raw, f, err := golden.Files(goldenDir, c.name, ".cbor"); err == nil &&
					!golden.MayOverwrite(t, c.name, checkStored(raw, f, recordCodecs, metaCodecs)) {
					return
				}
				golden.Write(t, goldenDir, c.name, ".cbor", p.record, p.file)
				return
			}
			raw, f, err := golden.Files(goldenDir, c.name, ".cbor")
			if err != nil {
				t.Fatalf("%v (a new case is written with -update; see docs/format.md)", err)
			}
			// Reading: what earlier versions stored must still decode to
			// the same values and re-encode to the same bytes.
			golden.Fail(t, c.name, checkStored(raw, f, recordCodecs, metaCodecs))
			// Writing: this version writes what the golden holds, so
			// today's records stay readable by the code that reads them.
			var problems []string
			problems = append(problems, golden.Compare("record written now", raw, p.record)...)
			for _, s := range p.file.Sections {
				want, _ := f.Get(s.Name)
				problems = append(problems, golden.CompareText("section "+s.Name+" written now", want, s.Text)...)
			}
			if len(problems) > 0 {
				t.Errorf("golden %s: the case now writes something else:\n  %s\n"+
					"The stored golden still reads back (checked above), so if only the interpreter's behavior\n"+
					"changed on purpose (a position, effect or message), -update may rewrite this case.\n"+
					"If the encoding changed:%s", c.name, strings.Join(problems, "\n  "), golden.Rule)
			}
		})
	}
	// Coverage: every effect kind, phase and status appears in some golden,
	// so a new one fails here until a case stores it.
	for k := interp.EffectSetup; k.String() != "effect?"; k++ {
		if !kinds[k] {
			t.Errorf("no golden case emits a %s effect", k)
		}
	}
	for p := interp.PhaseEnter; p.String() != "phase?"; p++ {
		if !phases[p] {
			t.Errorf("no golden case stores a thread in phase %s", p)
		}
	}
	for s := interp.StatusRunning; s.String() != "status?"; s++ {
		if !statuses[s] {
			t.Errorf("no golden case stores status %s", s)
		}
	}
}

// Every file under testdata/golden belongs to a case: a golden cannot be
// dropped by deleting its case.
func TestGoldenFilesHaveCases(t *testing.T) {
	var names []string
	for _, c := range goldenCases {
		names = append(names, c.name)
	}
	orphans, err := golden.Orphans(goldenDir, names)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orphans {
		t.Errorf("%s has no golden case: stored formats are never dropped (docs/format.md)", o)
	}
}
