package outbox_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// An effect's entry keeps every field the engine needs to perform it, and
// decodes back to the same entry.
func TestOfEncodeDecode(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	ef := interp.Effect{
		ID: interp.EffectID{Instance: "i", Seq: 3, Index: 1}, Kind: interp.EffectRunActivity,
		Thread: "main", Path: "charge", Event: "ev", Type: "t", Callback: 7, At: at, Attempt: 2,
		Timeout: 5 * time.Second, Data: []byte{0xa0}, Error: "e", Child: "kid", OnEnd: 2,
	}
	e := outbox.Of("order", &ef)
	want := outbox.Entry{Kind: ef.Kind, Workflow: "order", Thread: "main", Path: "charge", Event: "ev", Type: "t",
		Callback: 7, At: at.UnixNano(), Attempt: 2, Timeout: int64(5 * time.Second), Data: []byte{0xa0}, Error: "e",
		Child: "kid", OnEnd: 2}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("Of = %+v, want %+v", e, want)
	}
	if !e.NotBefore().Equal(at) || e.AttemptTimeout() != 5*time.Second {
		t.Fatalf("NotBefore %v, AttemptTimeout %v; want %v and 5s", e.NotBefore(), e.AttemptTimeout(), at)
	}
	data, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := outbox.Decode(storage.Effect{ID: "i/3/1", Instance: "i", Data: data})
	if err != nil || !reflect.DeepEqual(back, want) {
		t.Fatalf("Decode = %+v, %v; want %+v", back, err, want)
	}
	// No time: no not-before time.
	setup := outbox.Of("order", &interp.Effect{Kind: interp.EffectSetup})
	if nb := setup.NotBefore(); !nb.IsZero() {
		t.Fatalf("NotBefore of an effect without a time: %v", nb)
	}
}

// A damaged entry is a codec error naming the effect.
func TestDecodeDamaged(t *testing.T) {
	_, err := outbox.Decode(storage.Effect{ID: "i/3/1", Data: []byte{0xa1, 0x01}})
	var de *codec.DecodeError
	if !errors.Is(err, codec.ErrCorrupt) || !errors.As(err, &de) || de.What != "effect" ||
		!strings.HasPrefix(err.Error(), `engine: effect "i/3/1": codec: effect: `) {
		t.Fatalf("error %v, want a corrupt effect naming i/3/1", err)
	}
}

// The kinds the outbox keeps: those performed after the commit, not the
// timers and resumes the store's due index covers, nor replies.
func TestKept(t *testing.T) {
	var got []string
	for k := interp.EffectKind(1); k.String() != "effect?"; k++ {
		if outbox.Kept(k) {
			got = append(got, k.String())
		}
	}
	want := []string{}
	for _, k := range []interp.EffectKind{interp.EffectSetup, interp.EffectTeardown, interp.EffectRunActivity,
		interp.EffectCancelActivity, interp.EffectCompleted, interp.EffectFailed, interp.EffectCanceled,
		interp.EffectTerminated, interp.EffectStartChild, interp.EffectEndChild} {
		want = append(want, k.String())
	}
	if len(got) != len(want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
	for _, w := range want {
		if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+w+" ") {
			t.Fatalf("kept %v, want %v", got, want)
		}
	}
	if outbox.Kept(outbox.Wakeup) {
		t.Fatal("Kept counts the engine's wake-ups, which the interpreter does not emit")
	}
}
