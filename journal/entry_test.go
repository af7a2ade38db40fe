package journal_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/journal"
	"pgregory.net/rapid"
)

func TestEncodeDecode(t *testing.T) {
	e := journal.Entry{
		Seq: 3, At: time.Unix(0, 1_700_000_000_000_000_000).UTC(), Version: 2,
		Event:     journal.Event{Kind: "callback", Name: "paid", Trigger: "custom", Path: "pay/wait", Thread: "main", Callback: 4, Payload: []byte{0x0c}, Size: 1},
		Effects:   []journal.Effect{{ID: "o/3/0", Kind: "completed"}},
		Moves:     []journal.Move{{Thread: "main", From: "pay/wait", Ended: true}},
		StateSize: 40, Status: "completed", Migrated: []int{1},
	}
	b, err := journal.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := journal.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(e, got); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
	s := got.String()
	for _, want := range []string{"#3", `event "paid" received at pay/wait`, "with 12", "thread main ends", "emits completed [o/3/0]", "now completed", "migrated from version [1] to 2"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q lacks %q", s, want)
		}
	}
	if _, err := journal.Decode([]byte{0xff, 0x00}); !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("damaged entry: %v, want ErrCorrupt", err)
	}
}

func TestPolicyPayload(t *testing.T) {
	big := bytes.Repeat([]byte{1}, 100)
	payload, err := codec.Marshal(big)
	if err != nil {
		t.Fatal(err)
	}
	var ev journal.Event
	if err := (journal.Policy{MaxPayload: 10}).Payload(&ev, "e", payload); err != nil {
		t.Fatal(err)
	}
	if ev.Payload != nil || len(ev.Hash) != 32 || ev.Size != len(payload) {
		t.Fatalf("over the limit: %+v", ev)
	}
	ev = journal.Event{}
	if err := (journal.Policy{MaxPayload: -1}).Payload(&ev, "e", []byte{1}); err != nil || ev.Payload != nil || ev.Hash == nil {
		t.Fatalf("MaxPayload -1 kept %+v, %v", ev, err)
	}
	ev = journal.Event{}
	if err := (journal.Policy{}).Payload(&ev, "e", payload); err != nil || !bytes.Equal(ev.Payload, payload) {
		t.Fatalf("default limit: %+v, %v", ev, err)
	}
	boom := errors.New("boom")
	p := journal.Policy{Redact: func(string, []byte) ([]byte, error) { return nil, boom }}
	if err := p.Payload(&ev, "e", payload); !errors.Is(err, boom) {
		t.Fatalf("a failing redaction: %v", err)
	}
	if err := (journal.Policy{Keep: -1}).Validate(); err == nil {
		t.Fatal("a negative Keep validated")
	}
}

func TestRedactFields(t *testing.T) {
	type Address struct{ Street, City string }
	type Customer struct {
		Name    string
		Email   string
		Address Address
		Orders  []Address
	}
	in, err := codec.Marshal(Customer{Name: "Ada", Email: "ada@example.com", Address: Address{"1 Main", "Paris"}, Orders: []Address{{"2 Side", "Lyon"}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := journal.RedactFields("Email", "Street")("signup", in)
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"ada@example.com", "1 Main", "2 Side"} {
		if bytes.Contains(out, []byte(gone)) {
			t.Errorf("%q survived redaction", gone)
		}
	}
	for _, kept := range []string{"Ada", "Paris", "Lyon"} {
		if !bytes.Contains(out, []byte(kept)) {
			t.Errorf("%q was lost", kept)
		}
	}
	if _, err := journal.RedactFields("x")("e", []byte{0xff}); !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("damaged payload: %v", err)
	}
}

// The hand-written encoder writes what the generic one does, for any
// entry.
func TestEncodeMatchesCodec(t *testing.T) {
	str := rapid.SampledFrom([]string{"", "a", "main", "loop/next", strings.Repeat("x", 300), "ü"})
	bs := rapid.OneOf(rapid.Just([]byte(nil)), rapid.SliceOfN(rapid.Byte(), 1, 300))
	rapid.Check(t, func(rt *rapid.T) {
		e := journal.Entry{
			Seq: rapid.Uint64().Draw(rt, "seq"), At: unixTime(rapid.Int64().Draw(rt, "at")), Version: rapid.IntRange(-3, 1<<20).Draw(rt, "version"),
			StateSize: rapid.IntRange(-1, 1<<30).Draw(rt, "size"), Status: str.Draw(rt, "status"),
			Event: journal.Event{
				Kind: str.Draw(rt, "kind"), Name: str.Draw(rt, "name"), Trigger: str.Draw(rt, "trigger"), Path: str.Draw(rt, "path"),
				Thread: str.Draw(rt, "thread"), Callback: rapid.Uint64().Draw(rt, "callback"), Payload: bs.Draw(rt, "payload"),
				Hash: bs.Draw(rt, "hash"), Size: rapid.IntRange(-5, 1<<40).Draw(rt, "psize"), Redacted: rapid.Bool().Draw(rt, "redacted"),
				Error: str.Draw(rt, "error"),
			},
			Migrated: rapid.SliceOfN(rapid.IntRange(-2, 70000), 0, 3).Draw(rt, "migrated"),
		}
		for range rapid.IntRange(0, 30).Draw(rt, "effects") {
			e.Effects = append(e.Effects, journal.Effect{ID: str.Draw(rt, "id"), Kind: str.Draw(rt, "ekind"), Thread: str.Draw(rt, "ethread"),
				Path: str.Draw(rt, "epath"), Event: str.Draw(rt, "eevent"), Callback: rapid.Uint64().Draw(rt, "ecb"), Error: str.Draw(rt, "eerr")})
		}
		for range rapid.IntRange(0, 40).Draw(rt, "moves") {
			e.Moves = append(e.Moves, journal.Move{Thread: str.Draw(rt, "mthread"), From: str.Draw(rt, "from"), To: str.Draw(rt, "to"),
				Started: rapid.Bool().Draw(rt, "started"), Ended: rapid.Bool().Draw(rt, "ended")})
		}
		if len(e.Migrated) == 0 {
			e.Migrated = nil
		}
		if rapid.Bool().Draw(rt, "with start") {
			e.Start = &journal.Event{Kind: str.Draw(rt, "skind"), Payload: bs.Draw(rt, "spayload"), Redacted: rapid.Bool().Draw(rt, "sred")}
		}
		got, err := journal.Encode(e)
		if err != nil {
			rt.Fatal(err)
		}
		want, err := journal.EncodeGeneric(e)
		if err != nil {
			rt.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			rt.Fatalf("hand-written encoding differs:\n got %x\nwant %x", got, want)
		}
		// codec.Marshal of an entry writes the same (At as Unix
		// nanoseconds, not text), and every decoder gives e back, At
		// equal by reflect.DeepEqual (UTC, no monotonic reading).
		if viaCodec, err := codec.Marshal(e); err != nil || !bytes.Equal(viaCodec, want) {
			rt.Fatalf("codec.Marshal: %v\n got %x\nwant %x", err, viaCodec, want)
		}
		back, err := journal.Decode(got)
		if err != nil {
			rt.Fatal(err)
		}
		var viaCodec journal.Entry
		if err := codec.Unmarshal(got, &viaCodec); err != nil {
			rt.Fatal(err)
		}
		for _, b := range []journal.Entry{back, viaCodec} {
			if !reflect.DeepEqual(normalized(e), b) {
				rt.Fatalf("round trip:\n%s", cmp.Diff(normalized(e), b))
			}
		}
	})
}

// normalized is e as it reads back: empty slices and payloads as nil.
func normalized(e journal.Entry) journal.Entry {
	nilIfEmpty := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		return b
	}
	e.Event.Payload, e.Event.Hash = nilIfEmpty(e.Event.Payload), nilIfEmpty(e.Event.Hash)
	if e.Start != nil {
		s := *e.Start
		s.Payload, s.Hash = nilIfEmpty(s.Payload), nilIfEmpty(s.Hash)
		e.Start = &s
	}
	return e
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// Transition.Append writes what Encode writes of Transition.Entry.
func TestTransitionEncoding(t *testing.T) {
	str := rapid.SampledFrom([]string{"", "a", "main", "loop/next", "w[7]", "ü"})
	threads := func(rt *rapid.T, label string) []interp.Thread {
		ids := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"a", "b", "main", "w[1]", "w[2]", "z"}), 0, 6, rapid.ID[string]).Draw(rt, label)
		slices.Sort(ids)
		var out []interp.Thread
		for _, id := range ids {
			out = append(out, interp.Thread{ID: id, Path: str.Draw(rt, label+" path")})
		}
		return out
	}
	rapid.Check(t, func(rt *rapid.T) {
		tr := journal.Transition{
			Seq: rapid.Uint64().Draw(rt, "seq"), At: time.Unix(0, rapid.Int64().Draw(rt, "at")), Version: rapid.IntRange(0, 9).Draw(rt, "version"),
			Event:  journal.Event{Kind: str.Draw(rt, "kind"), Name: str.Draw(rt, "name"), Callback: rapid.Uint64().Draw(rt, "cb")},
			Before: threads(rt, "before"), After: threads(rt, "after"),
			StateSize: rapid.IntRange(0, 1<<20).Draw(rt, "size"), Status: str.Draw(rt, "status"),
		}
		for range rapid.IntRange(0, 5).Draw(rt, "effects") {
			tr.Effects = append(tr.Effects, interp.Effect{
				ID:   interp.EffectID{Instance: str.Draw(rt, "inst"), Seq: rapid.Uint64().Draw(rt, "eseq"), Index: rapid.Uint32().Draw(rt, "index")},
				Kind: interp.EffectKind(rapid.IntRange(0, 12).Draw(rt, "ekind")), Thread: str.Draw(rt, "ethread"), Path: str.Draw(rt, "epath"),
				Event: str.Draw(rt, "eevent"), Callback: rapid.Uint64().Draw(rt, "ecb"), Error: str.Draw(rt, "eerr"),
			})
		}
		if rapid.Bool().Draw(rt, "migrated") {
			tr.Migrated = []int{1, 2}
		}
		if rapid.Bool().Draw(rt, "with start") {
			tr.Start = &journal.Event{Kind: "start", Payload: []byte{0xa0}, Size: 1}
		}
		want, err := journal.Encode(tr.Entry())
		if err != nil {
			rt.Fatal(err)
		}
		if got := tr.Append(nil); !bytes.Equal(got, want) {
			rt.Fatalf("Append differs from Encode(Entry()):\n got %x\nwant %x", got, want)
		}
	})
}
