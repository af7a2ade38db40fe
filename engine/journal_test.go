package engine_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/journal"
	"github.com/weftflow/weft/storage/memory"
	"pgregory.net/rapid"
)

// Without WithJournal, nothing is journaled.
func TestJournalOffByDefault(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF})
	v.start(counterWF, "c", Count{})
	send(t, v.e, "c", "inc", 1)
	h, err := v.e.History(v.ctx, "c", 0, 0)
	if err != nil || len(h) != 0 {
		t.Fatalf("history %v, %v; want none", h, err)
	}
}

// Every committed transition has one entry, in order, saying what
// happened; a rejected event writes none.
func TestJournalRecordsTransitions(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF, w2Def}, engine.WithJournal("", journal.Policy{}))
	v.start(counterWF, "c", Count{N: 5})
	send(t, v.e, "c", "inc", 2)
	send(t, v.e, "c", "dec", 1)
	if err := v.e.Send(v.ctx, "c", "nope", 1, nil); err == nil {
		t.Fatal("a send to no wait was accepted")
	}
	h, err := v.e.History(v.ctx, "c", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 {
		t.Fatalf("%d entries, want 3: %v", len(h), h)
	}
	for i, en := range h {
		if en.Seq != uint64(i+1) {
			t.Fatalf("entry %d has seq %d", i, en.Seq)
		}
		if !en.At.Equal(t0) {
			t.Fatalf("entry %d at %v, want %v", i, en.At, t0)
		}
	}
	if h[0].Event.Kind != "start" || h[0].Event.Payload == nil || len(h[0].Moves) != 1 || !h[0].Moves[0].Started {
		t.Fatalf("start entry %+v", h[0])
	}
	if ev := h[1].Event; ev.Kind != "callback" || ev.Name != "inc" || ev.Trigger != "custom" || ev.Path != "loop/next" || ev.Thread != "main" {
		t.Fatalf("first send %+v", ev)
	}
	if got := h[2].String(); !strings.Contains(got, `event "dec" received`) {
		t.Fatalf("entry text %q", got)
	}
	// The end: the finishing effect, by ID.
	v.start(w2Def, "w", W2{})
	send(t, v.e, "w", "go", 7)
	h, err = v.e.History(v.ctx, "w", 2, 0)
	if err != nil || len(h) != 1 {
		t.Fatalf("history %v, %v", h, err)
	}
	if en := h[0]; en.Status != "completed" || len(en.Effects) != 2 || en.Effects[0].Kind != "reply" || en.Effects[1].Kind != "completed" || en.Effects[1].ID != "w/2/1" {
		t.Fatalf("last entry %+v", en)
	}
	if en := h[0]; len(en.Moves) != 1 || !en.Moves[0].Ended {
		t.Fatalf("moves %+v", en.Moves)
	}
}

// A signal-with-start whose event answers a wait the start opened is one
// entry that names the event and the wait it answered, as a send would.
func TestJournalSignalWithStart(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF}, engine.WithJournal("", journal.Policy{}))
	if err := v.e.SignalWithStart(v.ctx, counterWF, "c", Count{N: 5}, "inc", 2); err != nil {
		t.Fatal(err)
	}
	h, err := v.e.History(v.ctx, "c", 0, 0)
	if err != nil || len(h) != 1 {
		t.Fatalf("history %v, %v; want one entry", h, err)
	}
	en := h[0]
	if en.Start == nil || en.Start.Kind != "start" {
		t.Fatalf("the entry does not record the start: %+v", en)
	}
	if ev := en.Event; ev.Kind != "callback" || ev.Name != "inc" || ev.Trigger != "custom" || ev.Path != "loop/next" || ev.Thread != "main" {
		t.Fatalf("event %+v; want the callback of inc at loop/next", ev)
	}
	if got := en.String(); !strings.Contains(got, `event "inc" received`) {
		t.Fatalf("entry text %q", got)
	}
}

// A payload over the policy's limit is kept as a hash and size; a
// redaction function sees every payload first.
func TestJournalPayloads(t *testing.T) {
	type Card struct {
		Number string
		Amount int
	}
	type Pay struct{ Paid int }
	payWF := dsl.MustCompile[Pay]("pay", dsl.Wait("w",
		dsl.On("card", dsl.Signal(func(s *Pay, c Card) (int, error) { s.Paid = c.Amount; return c.Amount, nil }),
			dsl.Wait("again", dsl.On("blob", dsl.Signal(func(s *Pay, b []byte) (int, error) { return len(b), nil }))))))
	v := newEnv(t, []*dsl.Definition{payWF}, engine.WithJournal("pay", journal.Policy{
		MaxPayload: 64, Redact: journal.RedactFields("Number"),
	}))
	v.start(payWF, "p", Pay{})
	for _, ev := range []struct {
		name    string
		payload any
	}{{"card", Card{Number: "4111111111111111", Amount: 12}}, {"blob", bytes.Repeat([]byte("x"), 1000)}} {
		if err := v.e.Send(v.ctx, "p", ev.name, ev.payload, nil); err != nil {
			t.Fatal(err)
		}
	}
	h, err := v.e.History(v.ctx, "p", 0, 0)
	if err != nil || len(h) != 3 {
		t.Fatalf("history %v, %v", h, err)
	}
	card := h[1].Event
	if !card.Redacted || bytes.Contains(card.Payload, []byte("4111")) || !bytes.Contains(card.Payload, []byte("redacted")) {
		t.Fatalf("card payload kept as %q (redacted %v)", card.Payload, card.Redacted)
	}
	blob := h[2].Event
	if blob.Payload != nil || len(blob.Hash) != 32 || blob.Size < 1000 {
		t.Fatalf("big payload kept as %d bytes, hash %x, size %d", len(blob.Payload), blob.Hash, blob.Size)
	}
}

// A bounded journal keeps about the last Keep entries, starting at a
// snapshot, for any number of transitions and any bound.
func TestJournalBounded(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		keep := rapid.IntRange(1, 20).Draw(rt, "keep")
		sends := rapid.IntRange(0, 120).Draw(rt, "sends")
		v := newEnv(t, []*dsl.Definition{counterWF}, engine.WithJournal("", journal.Policy{Keep: keep}))
		v.start(counterWF, "c", Count{})
		for range sends {
			if err := v.e.Send(v.ctx, "c", "inc", 1, nil); err != nil {
				rt.Fatal(err)
			}
		}
		raw, err := v.store.ReadJournal(v.ctx, "c", 0, 0)
		if err != nil {
			rt.Fatal(err)
		}
		total := sends + 1
		if want := min(total, keep); len(raw) < want {
			rt.Fatalf("%d entries kept of %d, want at least %d", len(raw), total, want)
		}
		if limit := keep + max(1, keep/2); len(raw) > limit {
			rt.Fatalf("%d entries kept with Keep %d, want at most %d", len(raw), keep, limit)
		}
		if raw[len(raw)-1].Seq != uint64(total) {
			rt.Fatalf("newest entry %d, want %d", raw[len(raw)-1].Seq, total)
		}
		if first := raw[0]; first.Seq != 1 && len(first.Base) == 0 {
			rt.Fatalf("kept window starts at entry %d, which has no snapshot", first.Seq)
		}
		for i := 1; i < len(raw); i++ {
			if raw[i].Seq != raw[i-1].Seq+1 {
				rt.Fatalf("entries %d and %d are not consecutive", raw[i-1].Seq, raw[i].Seq)
			}
		}
	})
}

// A journal policy with negative bounds is refused at New.
func TestJournalPolicyValidated(t *testing.T) {
	_, err := engine.New(memory.New(), engine.WithJournal("w", journal.Policy{Keep: -1}))
	if !errors.Is(err, engine.ErrInvalidOption) {
		t.Fatalf("New with Keep -1: %v, want ErrInvalidOption", err)
	}
}
