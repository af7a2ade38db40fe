package simulate

import (
	"reflect"
	"testing"
	"time"

	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/journal"
	"pgregory.net/rapid"
)

// plainJournalView is journalView as it was before its skipped fields:
// the keys InvJournal does not compare match no field. The test holds the
// two to the same answers.
type plainJournalView struct {
	Seq   uint64 `cbor:"1,keyasint"`
	Event struct {
		Kind     string `cbor:"1,keyasint"`
		Path     string `cbor:"4,keyasint,omitempty"`
		Callback uint64 `cbor:"6,keyasint,omitempty"`
	} `cbor:"4,keyasint"`
	Effects []struct {
		ID   string `cbor:"1,keyasint"`
		Kind string `cbor:"2,keyasint"`
	} `cbor:"5,keyasint,omitempty"`
}

// compared is what InvJournal reads of a view.
type compared struct {
	Seq      uint64
	Kind     string
	Path     string
	Callback uint64
	Effects  []string
}

func (v *journalView) compared() compared {
	c := compared{Seq: v.Seq, Kind: v.Event.Kind, Path: v.Event.Path, Callback: v.Event.Callback}
	for _, e := range v.Effects {
		c.Effects = append(c.Effects, e.ID+" "+e.Kind)
	}
	return c
}

func (v *plainJournalView) compared() compared {
	c := compared{Seq: v.Seq, Kind: v.Event.Kind, Path: v.Event.Path, Callback: v.Event.Callback}
	for _, e := range v.Effects {
		c.Effects = append(c.Effects, e.ID+" "+e.Kind)
	}
	return c
}

func genJournalEvent(t *rapid.T, label string) journal.Event {
	text := rapid.SampledFrom([]string{"", "a", "submit", "cart/shopping", "é"})
	return journal.Event{
		Kind: rapid.SampledFrom([]string{"start", "callback", "resume", "signal", "cancel"}).Draw(t, label+" kind"),
		Name: text.Draw(t, label+" name"), Trigger: text.Draw(t, label+" trigger"), Path: text.Draw(t, label+" path"),
		Thread: text.Draw(t, label+" thread"), Callback: rapid.Uint64().Draw(t, label+" callback"),
		Payload: rapid.SliceOfN(rapid.Byte(), 0, 4).Draw(t, label+" payload"), Size: rapid.IntRange(0, 1000).Draw(t, label+" size"),
		Redacted: rapid.Bool().Draw(t, label+" redacted"), Error: text.Draw(t, label+" error"),
	}
}

func genJournalEntry(t *rapid.T) journal.Entry {
	text := rapid.SampledFrom([]string{"", "a", "sim/2/0", "setup", "run-activity"})
	en := journal.Entry{
		Seq: rapid.Uint64().Draw(t, "seq"), At: time.Unix(0, rapid.Int64Range(0, 1<<50).Draw(t, "at")).UTC(),
		Version: rapid.IntRange(0, 3).Draw(t, "version"), Event: genJournalEvent(t, "event"),
		StateSize: rapid.IntRange(0, 100).Draw(t, "state size"), Status: text.Draw(t, "status"),
		Migrated: rapid.SliceOfN(rapid.IntRange(1, 3), 0, 2).Draw(t, "migrated"),
	}
	for i := range rapid.IntRange(0, 3).Draw(t, "effects") {
		_ = i
		en.Effects = append(en.Effects, journal.Effect{ID: text.Draw(t, "effect id"), Kind: text.Draw(t, "effect kind"),
			Thread: text.Draw(t, "effect thread"), Path: text.Draw(t, "effect path"), Event: text.Draw(t, "effect event"),
			Callback: rapid.Uint64().Draw(t, "effect callback"), Error: text.Draw(t, "effect error")})
	}
	for i := range rapid.IntRange(0, 2).Draw(t, "moves") {
		_ = i
		en.Moves = append(en.Moves, journal.Move{Thread: text.Draw(t, "move thread"), From: text.Draw(t, "from"), To: text.Draw(t, "to"),
			Started: rapid.Bool().Draw(t, "started"), Ended: rapid.Bool().Draw(t, "ended")})
	}
	if rapid.Bool().Draw(t, "signal-with-start") {
		start := genJournalEvent(t, "start")
		en.Start = &start
	}
	return en
}

// TestJournalViewSkipsAsUnmatched holds journalView, whose keys InvJournal
// does not compare decode into fields of type skipped, to the plain view
// where they match no field: on entries journal.Encode writes, and on
// those bytes damaged (a byte changed, cut short, a key repeated), both
// decode or both fail, to the same values.
func TestJournalViewSkipsAsUnmatched(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b, err := journal.Encode(genJournalEntry(t))
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		switch rapid.IntRange(0, 3).Draw(t, "damage") {
		case 1:
			i := rapid.IntRange(0, len(b)-1).Draw(t, "byte")
			b[i] = rapid.Byte().Draw(t, "value")
		case 2:
			b = b[:rapid.IntRange(0, len(b)-1).Draw(t, "length")]
		case 3:
			// One more pair in the top map, repeating a key (or, for 0x0b,
			// an unknown one): the map's head counts it.
			if b[0] >= 0xa1 && b[0] < 0xb7 {
				key := rapid.SampledFrom([]byte{0x01, 0x02, 0x03, 0x06, 0x07, 0x08, 0x0b}).Draw(t, "key")
				b = append([]byte{b[0] + 1}, append(b[1:], key, 0x00)...)
			}
		}
		var plain plainJournalView
		errPlain := decode.Into("journal entry", b, &plain)
		var view journalView
		errView := decode.Into("journal entry", b, &view)
		if (errPlain == nil) != (errView == nil) {
			t.Fatalf("plain view: %v; journalView: %v (bytes %x)", errPlain, errView, b)
		}
		if errPlain == nil && !reflect.DeepEqual(plain.compared(), view.compared()) {
			t.Fatalf("plain view %+v; journalView %+v", plain.compared(), view.compared())
		}
	})
}

// TestJournalViewsCache checks that the Check-wide cache of decoded
// journal entries gives the view of the bytes asked for, and keeps no
// error.
func TestJournalViewsCache(t *testing.T) {
	var c journalViews
	a, err := journal.Encode(journal.Entry{Seq: 1, Event: journal.Event{Kind: "start"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := journal.Encode(journal.Entry{Seq: 2, Event: journal.Event{Kind: "callback", Callback: 7}, Effects: []journal.Effect{{ID: "sim/2/0", Kind: "setup"}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		va, err := c.decode(a)
		if err != nil || va.Seq != 1 || va.Event.Kind != "start" {
			t.Fatalf("decode(a) = %+v, %v", va, err)
		}
		vb, err := c.decode(b)
		if err != nil || vb.Seq != 2 || vb.Event.Callback != 7 || len(vb.Effects) != 1 || vb.Effects[0].ID != "sim/2/0" {
			t.Fatalf("decode(b) = %+v, %v", vb, err)
		}
	}
	for range 2 {
		if _, err := c.decode(b[:len(b)-1]); err == nil {
			t.Fatal("a damaged entry decodes")
		}
	}
	if len(c.m) != 2 {
		t.Fatalf("the cache holds %d entries, want 2", len(c.m))
	}
}
