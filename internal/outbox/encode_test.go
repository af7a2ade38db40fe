package outbox_test

import (
	"bytes"
	"math"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"pgregory.net/rapid"
)

// The hand-written encoder of outbox entries writes exactly what the codec
// writes, for every field at every head size, empty or not, and what it
// writes decodes back to the same entry.
func TestOutboxEncodeMatchesCodec(t *testing.T) {
	text := rapid.OneOf(rapid.Just(""), rapid.String(), rapid.StringN(20, 300, 70000))
	num := rapid.OneOf(rapid.Just(uint64(0)), rapid.Uint64Range(0, 30), rapid.Uint64Range(0, 1<<17), rapid.Uint64Range(0, 1<<33), rapid.Uint64())
	signed := rapid.OneOf(rapid.Just(int64(0)), rapid.Int64Range(-30, 30), rapid.Int64Range(-1<<40, 1<<40), rapid.Int64Range(math.MinInt64, math.MaxInt64))
	rapid.Check(t, func(t *rapid.T) {
		oe := outbox.Entry{
			Kind:     interp.EffectKind(rapid.Uint8().Draw(t, "kind")),
			Workflow: text.Draw(t, "workflow"),
			Thread:   text.Draw(t, "thread"),
			Path:     text.Draw(t, "path"),
			Event:    text.Draw(t, "event"),
			Type:     text.Draw(t, "type"),
			Callback: num.Draw(t, "callback"),
			At:       signed.Draw(t, "at"),
			Attempt:  uint32(num.Draw(t, "attempt")),
			Timeout:  signed.Draw(t, "timeout"),
			Data:     rapid.OneOf(rapid.Just([]byte(nil)), rapid.Just([]byte{}), rapid.SliceOfN(rapid.Byte(), 0, 70000)).Draw(t, "data"),
			Error:    text.Draw(t, "error"),
			Child:    text.Draw(t, "child"),
			OnEnd:    rapid.Uint8().Draw(t, "on-end"),

			Parent:         text.Draw(t, "parent"),
			ParentCallback: num.Draw(t, "parent-callback"),
		}
		got, err := oe.Encode()
		if err != nil {
			t.Fatal(err)
		}
		want, err := codec.Marshal(oe)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("encode differs from codec.Marshal:\n got %x\nwant %x", got, want)
		}
		if len(want) <= codec.MaxBytes && oe.Size() < len(want) {
			t.Fatalf("Size %d, below the encoding's %d bytes", oe.Size(), len(want))
		}
		// Append writes the same bytes after whatever the buffer holds.
		prefix := rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "prefix")
		appended, err := oe.Append(bytes.Clone(prefix))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(appended, append(bytes.Clone(prefix), want...)) {
			t.Fatalf("append differs from prefix and codec.Marshal:\n got %x\nwant %x%x", appended, prefix, want)
		}
		var back outbox.Entry
		if err := codec.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if len(oe.Data) == 0 {
			oe.Data = nil
		}
		if diff := cmp.Diff(oe, back); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}

// The property above draws every field of Entry: a field added to Entry
// must be drawn there too, or the hand-written encoder may forget it.
func TestOutboxEncodeTestDrawsEveryField(t *testing.T) {
	if n := reflect.TypeFor[outbox.Entry]().NumField(); n != 16 {
		t.Fatalf("outbox.Entry has %d fields, TestOutboxEncodeMatchesCodec draws 16: draw the new ones", n)
	}
}
