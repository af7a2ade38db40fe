package engine_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

// An event the interpreter rejects gives "engine: KIND of "ID": ERR",
// matching the interpreter's sentinel, whatever builds the message.
func TestRejectedEventError(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF})
	id := "a \"quoted\"\tid"
	v.start(counterWF, id, Count{})
	_, err := v.e.Apply(v.ctx, id, interp.Event{Kind: interp.EventCallback, Callback: 4242, Payload: []byte{0x01}})
	if !errors.Is(err, interp.ErrUnknownCallback) {
		t.Fatalf("unknown callback: %v, want ErrUnknownCallback", err)
	}
	inner := errors.Unwrap(err)
	if inner == nil {
		t.Fatalf("%v wraps nothing", err)
	}
	if want := fmt.Sprintf("engine: %s of %q: %v", interp.EventCallback, id, inner); err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
}
