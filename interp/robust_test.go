package interp_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/interp"
	"pgregory.net/rapid"
)

// The definitions Apply is fed garbage against: the examples (pizza in two
// versions, so migrations and upcasters run) and test workflows with
// threads, dynamic IDs, a cleanup section, retries and a call.
var robustDefs = []*dsl.Definition{
	approval.Workflow,
	pizza.Workflow,
	pizza.WorkflowV2,
	fanOut("spawn"),
	fanOut("fanout", dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"spawn": "fanout"}})),
	helper("old", "sec"),
	dsl.MustCompile[counter]("mixed", dsl.S(
		dsl.GoEach("w", func(s *counter) string { return fmt.Sprint(s.N % 3) },
			dsl.Step("flaky", func(s *counter) error {
				if s.N%2 == 0 {
					return errors.New("flaky")
				}
				return nil
			}).Retry(dsl.RetryPolicy{MaxAttempts: 3, Initial: time.Second}),
			dsl.WaitFor("flagged", func(s *counter) bool { return s.Flag })),
		dsl.For("spin", add("inc"), dsl.If("enough", func(s *counter) bool { return s.N > 40 }, dsl.Break())),
		dsl.Go("watch", dsl.Wait("poke", dsl.On("poke", goSignal()), dsl.On("tick", dsl.After(time.Minute)))),
		dsl.Join("all", "w", "watch"),
	), dsl.Budget(25), dsl.OnCancel(logStep("undo", "undo"))),
}

// documented are the sentinels Apply's doc comment lists (ErrInternal
// aside: it means a bug, and the property fails on it).
var documented = []error{interp.ErrUnknownCallback, interp.ErrDuplicateCallback, interp.ErrStaleCallback,
	interp.ErrNotDue, interp.ErrRejected, interp.ErrFinished, interp.ErrPositionLost, interp.ErrMigration,
	interp.ErrBadEvent, interp.ErrCorrupt}

// vocabulary is what garbage is made of for def: its paths, event names
// and thread names, mixed with strings it has never seen.
type vocabulary struct {
	paths, events, threads []string
}

func vocabularyOf(def *dsl.Definition) vocabulary {
	v := vocabulary{threads: []string{"main", "cancel", "", "x[1]", "[", "main[0]"}, events: []string{"", "nope"}}
	for _, p := range def.Positions() {
		v.paths = append(v.paths, p)
		name := p[strings.LastIndexByte(p, '/')+1:]
		v.events = append(v.events, name)
		v.threads = append(v.threads, name, name+"[0]", name+"[1]")
	}
	v.paths = append(v.paths, "", "@cancel", "no/such/path", "//", "@")
	return v
}

func (v vocabulary) thread(t *rapid.T) interp.Thread {
	th := interp.Thread{
		ID:      rapid.SampledFrom(v.threads).Draw(t, "id"),
		Path:    rapid.SampledFrom(v.paths).Draw(t, "path"),
		Phase:   interp.Phase(rapid.IntRange(0, 7).Draw(t, "phase")),
		Attempt: uint32(rapid.IntRange(0, 5).Draw(t, "attempt")),
		At:      unixTime(rapid.SampledFrom([]int64{0, 1, t0.UnixNano(), t0.Add(time.Hour).UnixNano(), 1<<63 - 1, -5}).Draw(t, "at")),
	}
	for range rapid.IntRange(0, 3).Draw(t, "waits") {
		th.Waits = append(th.Waits, interp.Pending{
			Callback: uint64(rapid.IntRange(0, 12).Draw(t, "callback")),
			Event:    rapid.SampledFrom(v.events).Draw(t, "event"),
			Kind:     interp.TriggerKind(rapid.IntRange(0, 4).Draw(t, "kind")),
			At:       unixTime(rapid.SampledFrom([]int64{0, t0.UnixNano(), t0.Add(time.Hour).UnixNano(), -1}).Draw(t, "wait at")),
			Attempt:  uint32(rapid.IntRange(0, 4).Draw(t, "wait attempt")),
			Setup:    rapid.Bool().Draw(t, "setup"),
			Type:     rapid.SampledFrom([]string{"", "confirm-order", "??"}).Draw(t, "type"),
		})
	}
	return th
}

// realistic runs def from Start through a few random events, so that
// mutations start from metas the interpreter really writes.
func realistic(t *rapid.T, def *dsl.Definition, state []byte) ([]byte, interp.Meta) {
	r, err := interp.Apply(def, state, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: t0, Instance: "i"})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	now := t0
	for range rapid.IntRange(0, 6).Draw(t, "real events") {
		if r.Meta.Status.Finished() {
			break
		}
		ev := interp.Event{Kind: interp.EventResume}
		var pending []interp.Pending
		for _, th := range r.Meta.Threads {
			pending = append(pending, th.Waits...)
		}
		if len(pending) > 0 && rapid.Bool().Draw(t, "deliver") {
			p := rapid.SampledFrom(pending).Draw(t, "pending")
			ev = interp.Event{Kind: interp.EventCallback, Callback: p.Callback, Payload: payload(t)}
			if p.At.After(now) {
				now = p.At
			}
		} else {
			now = now.Add(time.Duration(rapid.IntRange(0, 3).Draw(t, "hours")) * time.Hour)
		}
		ev.Time = now
		if next, err := interp.Apply(def, r.State, r.Meta, ev); err == nil {
			r = next
		}
	}
	return r.State, r.Meta
}

func payload(t *rapid.T) []byte {
	vals := []any{nil, 1, true, "x", pizza.Add{Item: "funghi"}, pizza.Confirmation{OK: true}, struct{}{},
		approval.Decision{Approve: true}, []int{1, 2}}
	b, _ := codec.Marshal(rapid.SampledFrom(vals).Draw(t, "payload value"))
	if rapid.IntRange(0, 4).Draw(t, "garbage payload") == 0 {
		b = rapid.SliceOfN(rapid.Byte(), 0, 12).Draw(t, "payload bytes")
	}
	return b
}

// garbleMeta changes a meta the way a bug or a damaged store might.
func garbleMeta(t *rapid.T, v vocabulary, m interp.Meta) interp.Meta {
	m.Threads = append([]interp.Thread(nil), m.Threads...)
	for range rapid.IntRange(0, 4).Draw(t, "changes") {
		switch rapid.IntRange(0, 11).Draw(t, "change") {
		case 0: // many threads, up to 300
			n := rapid.SampledFrom([]int{4, 5, 6, 32, 200, 300}).Draw(t, "thread count")
			for range n {
				m.Threads = append(m.Threads, v.thread(t))
			}
		case 1:
			if len(m.Threads) > 0 {
				m.Threads[rapid.IntRange(0, len(m.Threads)-1).Draw(t, "thread")] = v.thread(t)
			}
		case 2:
			m.Threads = append(m.Threads, v.thread(t))
		case 3:
			m.Status = interp.Status(rapid.IntRange(0, 7).Draw(t, "status"))
		case 4:
			m.Version = uint32(rapid.IntRange(0, 4).Draw(t, "version"))
		case 5:
			m.Seq = rapid.SampledFrom([]uint64{0, 1, 2, 1 << 63}).Draw(t, "seq")
		case 6:
			m.NextCallback = uint64(rapid.IntRange(0, 20).Draw(t, "next callback"))
			m.Recent = rapid.SliceOfN(rapid.Uint64Range(0, 20), 0, 30).Draw(t, "recent")
		case 7:
			m.Yielded = rapid.SampledFrom(v.threads).Draw(t, "yielded")
		case 8:
			m.Migrated = rapid.SliceOfN(rapid.Uint32Range(0, 4), 0, 3).Draw(t, "migrated")
		case 9:
			if len(m.Threads) > 1 { // unsorted, or the same ID twice
				i, j := rapid.IntRange(0, len(m.Threads)-1).Draw(t, "i"), rapid.IntRange(0, len(m.Threads)-1).Draw(t, "j")
				m.Threads[i], m.Threads[j] = m.Threads[j], m.Threads[i]
				if rapid.Bool().Draw(t, "duplicate") {
					m.Threads[i].ID = m.Threads[j].ID
				}
			}
		case 10:
			m.Failure = &interp.Failure{Thread: "main", Message: "x"}
			m.Output = rapid.SliceOfN(rapid.Byte(), 0, 4).Draw(t, "output")
		case 11:
			m.Due = unixTime(rapid.Int64().Draw(t, "due"))
			m.Started = unixTime(rapid.Int64().Draw(t, "started"))
		}
	}
	return m
}

func garbleEvent(t *rapid.T, m interp.Meta) interp.Event {
	ev := interp.Event{
		Kind:     interp.EventKind(rapid.IntRange(0, 5).Draw(t, "event kind")),
		Instance: rapid.SampledFrom([]string{"", "i", "j"}).Draw(t, "event instance"),
		Error:    rapid.SampledFrom([]string{"", "timeout"}).Draw(t, "activity error"),
	}
	switch rapid.IntRange(0, 3).Draw(t, "time") {
	case 0:
	case 1:
		ev.Time = time.Unix(0, rapid.Int64().Draw(t, "unix ns")).UTC()
	case 2:
		ev.Time = time.Date(rapid.IntRange(1, 9999).Draw(t, "year"), 1, 1, 0, 0, 0, 0, time.UTC)
	default:
		ev.Time = t0.Add(time.Duration(rapid.IntRange(0, 100).Draw(t, "hours after")) * time.Hour)
	}
	var ids []uint64
	for _, th := range m.Threads {
		for _, p := range th.Waits {
			ids = append(ids, p.Callback)
		}
	}
	if len(ids) > 0 && rapid.Bool().Draw(t, "known callback") {
		ev.Callback = rapid.SampledFrom(ids).Draw(t, "callback")
	} else {
		ev.Callback = uint64(rapid.IntRange(0, 30).Draw(t, "any callback"))
	}
	ev.Payload = payload(t)
	return ev
}

// applyNeverPanics is the property: whatever the meta, state and event,
// Apply and Upgrade return a result or one of the documented errors, never
// panic (not even as a recovered ErrInternal), leave their inputs as they
// were, and give the same answer twice.
func applyNeverPanics(t *rapid.T) {
	def := rapid.SampledFrom(robustDefs).Draw(t, "definition")
	v := vocabularyOf(def)
	valid, err := interp.Apply(def, nil, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: t0, Instance: "i"})
	if err != nil {
		t.Fatalf("start %s: %v", def.Name(), err)
	}
	state := valid.State
	var meta interp.Meta
	if rapid.Bool().Draw(t, "from a real run") {
		state, meta = realistic(t, def, state)
	} else {
		meta = interp.Meta{Instance: "i", Seq: 1, NextCallback: 6}
	}
	meta = garbleMeta(t, v, meta)
	switch rapid.IntRange(0, 5).Draw(t, "state") {
	case 0:
		state = nil
	case 1:
		state = rapid.SliceOfN(rapid.Byte(), 0, 16).Draw(t, "state bytes")
	}
	ev := garbleEvent(t, meta)

	stateBefore, evBefore := bytes.Clone(state), ev
	evBefore.Payload = bytes.Clone(ev.Payload)
	metaBefore, err := codec.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	r1, err1 := interp.Apply(def, state, meta, ev)
	r2, err2 := interp.Apply(def, state, meta, ev)
	u, uerr := interp.Upgrade(def, state, meta)
	metaAfter, _ := codec.Marshal(meta)
	if !bytes.Equal(stateBefore, state) || !bytes.Equal(metaBefore, metaAfter) || !cmp.Equal(evBefore, ev) {
		t.Fatal("Apply or Upgrade modified its inputs")
	}
	for _, e := range []error{err1, uerr} {
		if e == nil {
			continue
		}
		if errors.Is(e, interp.ErrInternal) {
			t.Fatalf("the interpreter panicked: %v\nmeta: %+v\nevent: %+v", e, meta, ev)
		}
		known := false
		for _, s := range documented {
			known = known || errors.Is(e, s)
		}
		if !known {
			t.Fatalf("undocumented error %T: %v", e, e)
		}
	}
	if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) || !cmp.Equal(r1, r2) {
		t.Fatalf("nondeterministic: %v / %v", err1, err2)
	}
	for _, r := range []interp.Result{r1, u} {
		if r.Meta.Instance == "" && r.State == nil {
			continue // an error: nothing to check
		}
		back, err := interp.DecodeMeta(interp.EncodeMeta(r.Meta))
		if diff := cmp.Diff(r.Meta, back, cmpopts.EquateEmpty()); err != nil || diff != "" {
			t.Fatalf("the meta written does not round-trip: %v %s", err, diff)
		}
	}
}

func TestApplyNeverPanicsOnGarbage(t *testing.T) {
	rapid.Check(t, applyNeverPanics)
}

// FuzzApply is the same property for the fuzzer:
// go test -fuzz FuzzApply ./interp
func FuzzApply(f *testing.F) {
	f.Fuzz(rapid.MakeFuzz(applyNeverPanics))
}
