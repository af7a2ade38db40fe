package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/golden"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// This file freezes the engine's stored form of effects: the outbox entry
// (outbox.Entry, CBOR) of every effect kind the engine keeps, and the
// status text a store lists, as encode writes them for transitions of real
// definitions. An engine of a later version must still perform the effects
// an earlier one left in the outbox. The interpreter's records and metas
// are frozen in interp/testdata/golden; the rule for changing either is in
// docs/format.md.

const outboxGoldenDir = "testdata/golden"

type goldenOrder struct {
	N   int
	Log []string
}

type goldenApproval struct{}

func (goldenApproval) Handle(s *goldenOrder, ok bool) (bool, error) { return ok, nil }
func (goldenApproval) Setup(s *goldenOrder) any                     { return map[string]int{"n": s.N} }

var goldenT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func goldenOrderDef() *dsl.Definition {
	return dsl.MustCompile[goldenOrder]("golden-order", dsl.S(
		dsl.Go("payer", dsl.Call("charge", func(ctx context.Context, s goldenOrder) (string, error) { return "r", nil },
			func(s *goldenOrder, r string) { s.Log = append(s.Log, r) }).Timeout(5*time.Second)),
		dsl.Wait("ask",
			dsl.On("manager", dsl.Custom[goldenOrder, bool, bool]("approval-request", goldenApproval{})),
			dsl.On("expire", dsl.After(time.Hour))),
		dsl.If("refused", func(s *goldenOrder) bool { return s.N < 0 }, dsl.Fail(errors.New("refused"))),
		dsl.ReturnWith(func(s *goldenOrder) int { return s.N }),
	))
}

// outboxCase is one transition whose stored effects are frozen.
type outboxCase struct {
	name   string
	events func(meta interp.Meta) []interp.Event // after the start
	state  []byte                                // initial state
	def    func() *dsl.Definition                // nil: goldenOrderDef
	host   []byte                                // the record's host data (a child's parent link)
}

func stateOf(t *testing.T, s goldenOrder) []byte {
	t.Helper()
	b, err := codec.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runOutboxCase applies the start and the case's events and returns what
// encode stores for the last transition.
func runOutboxCase(t *testing.T, c outboxCase) (storage.Instance, []storage.Effect, []interp.Effect) {
	t.Helper()
	def := goldenOrderDef()
	if c.def != nil {
		def = c.def()
	}
	r, err := interp.Apply(def, c.state, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: goldenT0, Instance: "order-1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.events != nil {
		for _, ev := range c.events(r.Meta) {
			ev.Time = goldenT0.Add(time.Minute)
			if r, err = interp.Apply(def, r.State, r.Meta, ev); err != nil {
				t.Fatalf("%s: %v", ev.Kind, err)
			}
		}
	}
	inst, _, effects, err := encode("order-1", def.Name(), &r, c.host, true)
	if err != nil {
		t.Fatal(err)
	}
	return inst, effects, r.Effects
}

func callbackOf(meta interp.Meta, event string) uint64 {
	for _, th := range meta.Threads {
		for _, p := range th.Waits {
			if p.Event == event {
				return p.Callback
			}
		}
	}
	return 0
}

func outboxCases(t *testing.T) []outboxCase {
	yes, _ := codec.Marshal(true)
	return []outboxCase{
		{name: "started"},
		{name: "canceled", events: func(interp.Meta) []interp.Event { return []interp.Event{{Kind: interp.EventCancel}} }},
		{name: "terminated", events: func(interp.Meta) []interp.Event {
			return []interp.Event{{Kind: interp.EventTerminate, Reason: "stranded", By: "ops"}}
		}},
		{name: "completed", events: func(m interp.Meta) []interp.Event {
			return []interp.Event{{Kind: interp.EventCallback, Callback: callbackOf(m, "manager"), Payload: yes}}
		}, state: stateOf(t, goldenOrder{N: 3})},
		{name: "failed", events: func(m interp.Meta) []interp.Event {
			return []interp.Event{{Kind: interp.EventCallback, Callback: callbackOf(m, "manager"), Payload: yes}}
		}, state: stateOf(t, goldenOrder{N: -1})},
		{name: "child", def: goldenParentDef},
		{name: "child-canceled", def: goldenParentDef, events: func(interp.Meta) []interp.Event { return []interp.Event{{Kind: interp.EventCancel}} }},
		// A child's end carries its parent link (outbox keys 15 and 16).
		{name: "child-end", def: goldenChildDef, host: childHost},
	}
}

// goldenChildDef is a child that completes at its start.
func goldenChildDef() *dsl.Definition {
	return dsl.MustCompile[goldenOrder]("golden-pick", dsl.Return("picked"))
}

// childHost is the host data of a child of instance "parent-1" waiting at
// callback 3.
var childHost = func() []byte {
	b, err := codec.Marshal(hostData{Parent: &parentLink{ID: "parent-1", Callback: 3}})
	if err != nil {
		panic(err)
	}
	return b
}()

// goldenParentDef starts a child workflow and waits for it.
func goldenParentDef() *dsl.Definition {
	child := dsl.MustCompile[goldenOrder]("golden-pick", dsl.Return("picked"))
	return dsl.MustCompile[goldenOrder]("golden-parent", dsl.S(
		dsl.Child("pick", child, func(s *goldenOrder) goldenOrder { return goldenOrder{N: s.N + 1} },
			func(s *goldenOrder, out string, err error) error { s.Log = append(s.Log, out); return err }).
			OnParentEnd(dsl.TerminateChild),
	))
}

func renderOutbox(se storage.Effect, oe outbox.Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "id=%s instance=%s kind=%s(%d)", se.ID, se.Instance, oe.Kind, oe.Kind)
	for _, f := range []struct {
		name string
		v    any
		zero bool
	}{
		{"workflow", oe.Workflow, oe.Workflow == ""}, {"thread", oe.Thread, oe.Thread == ""},
		{"path", oe.Path, oe.Path == ""}, {"event", oe.Event, oe.Event == ""}, {"type", oe.Type, oe.Type == ""},
		{"callback", oe.Callback, oe.Callback == 0}, {"at", oe.NotBefore().Format(time.RFC3339Nano), oe.At == 0},
		{"attempt", oe.Attempt, oe.Attempt == 0}, {"timeout", oe.AttemptTimeout(), oe.Timeout == 0},
		{"error", oe.Error, oe.Error == ""},
		{"child", oe.Child, oe.Child == ""}, {"on-parent-end", dsl.ParentEndPolicy(oe.OnEnd), oe.OnEnd == 0},
		{"parent", oe.Parent, oe.Parent == ""}, {"parent-callback", oe.ParentCallback, oe.ParentCallback == 0},
	} {
		if !f.zero {
			fmt.Fprintf(&b, "\n%s=%q", f.name, fmt.Sprint(f.v))
		}
	}
	if len(oe.Data) > 0 {
		fmt.Fprintf(&b, "\ndata=%s", golden.Diag(oe.Data))
	} else {
		b.WriteString("\n")
	}
	return b.String()
}

// readOutbox decodes a stored outbox entry with the current code and
// compares it with the golden's rendering, then re-encodes it.
func readOutbox(se storage.Effect, raw []byte, want golden.File) []string {
	var problems []string
	back, err := outbox.Decode(storage.Effect{ID: se.ID, Instance: se.Instance, Data: raw})
	if err != nil {
		return []string{"the stored entry does not decode: " + err.Error()}
	}
	text, _ := want.Get("effect")
	problems = append(problems, golden.CompareText("decoded effect", text, renderOutbox(se, back))...)
	again, err := codec.Marshal(back)
	if err != nil {
		problems = append(problems, "the decoded entry does not re-encode: "+err.Error())
	}
	return append(problems, golden.Compare("re-encoded entry", raw, again)...)
}

func TestOutboxGolden(t *testing.T) {
	stored := map[interp.EffectKind]bool{}
	for _, c := range outboxCases(t) {
		inst, effects, all := runOutboxCase(t, c)
		listing := fmt.Sprintf("status=%q due=%s\n", inst.Status, inst.Due.Format(time.RFC3339Nano))
		for _, se := range effects {
			oe, err := outbox.Decode(se)
			if err != nil {
				t.Fatal(err)
			}
			stored[oe.Kind] = true
			name := c.name + "-" + oe.Kind.String()
			t.Run(name, func(t *testing.T) {
				header := fmt.Sprintf("# %s: the outbox entry of a %s effect, as the engine stores it.\n# Written by `go test ./engine -run TestOutboxGolden -update`. Never regenerate\n# without a new format version: see docs/format.md.\n", name, oe.Kind)
				f := golden.File{Header: header, Sections: []golden.Section{
					{Name: "hex", Text: golden.Hex(se.Data)},
					{Name: "diagnostic", Text: golden.Diag(se.Data)},
					{Name: "effect", Text: renderOutbox(se, oe)},
					{Name: "instance listing", Text: listing},
				}}
				if *golden.Update {
					if raw, want, err := golden.Files(outboxGoldenDir, name, ".cbor"); err == nil &&
						!golden.MayOverwrite(t, name, readOutbox(se, raw, want)) {
						return
					}
					golden.Write(t, outboxGoldenDir, name, ".cbor", se.Data, f)
					return
				}
				raw, want, err := golden.Files(outboxGoldenDir, name, ".cbor")
				if err != nil {
					t.Fatalf("%v (a new case is written with -update; see docs/format.md)", err)
				}
				golden.Fail(t, name, readOutbox(se, raw, want))
				// Writing: this version stores the same bytes and listing.
				problems := golden.Compare("entry written now", raw, se.Data)
				text, _ := want.Get("instance listing")
				problems = append(problems, golden.CompareText("instance listing written now", text, listing)...)
				if len(problems) > 0 {
					t.Errorf("golden %s: the engine now stores something else:\n  %s\n%s", name, strings.Join(problems, "\n  "), golden.Rule)
				}
			})
		}
		if len(effects) == 0 && len(all) > 0 {
			t.Errorf("case %s stores none of its %d effects", c.name, len(all))
		}
	}
	// Every kind the engine keeps in the outbox has a golden; a kind that
	// becomes outboxed fails here until one is added.
	for k := interp.EffectSetup; k.String() != "effect?"; k++ {
		if outbox.Kept(k) && !stored[k] {
			t.Errorf("no golden stores a %s effect in the outbox", k)
		}
	}
}

// Every golden file belongs to a case that still writes it.
func TestOutboxGoldenFilesHaveCases(t *testing.T) {
	var names []string
	for _, c := range outboxCases(t) {
		_, effects, _ := runOutboxCase(t, c)
		for _, se := range effects {
			oe, err := outbox.Decode(se)
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, c.name+"-"+oe.Kind.String())
		}
	}
	orphans, err := golden.Orphans(outboxGoldenDir, names)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orphans {
		t.Errorf("%s has no case: stored formats are never dropped (docs/format.md)", o)
	}
}
