package interp_test

import (
	"errors"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

// A callback no thread waits for is refused from the meta alone, with the
// same error whatever the state holds: the state is not decoded for it.
// One that a thread waits for still meets a state that does not decode.
func TestCallbackRefusedBeforeState(t *testing.T) {
	def := dsl.MustCompile[counter]("c", dsl.For("loop", dsl.Wait("w",
		dsl.On("inc", dsl.Signal(func(s *counter, by int) (int, error) { s.N += by; return s.N, nil })),
	)))
	i := start(t, def, nil)
	p := i.callback("main", "inc")
	i.mustApply(interp.Event{Kind: interp.EventCallback, Callback: p.Callback, Payload: []byte{0x01}})
	next := i.callback("main", "inc")
	at := interp.Event{Kind: interp.EventCallback, Time: t0.Add(time.Minute), Payload: []byte{0x01}}
	for _, c := range []struct {
		callback uint64
		want     error
	}{
		{p.Callback, interp.ErrDuplicateCallback},
		{next.Callback + 100, interp.ErrUnknownCallback},
	} {
		at.Callback = c.callback
		for _, state := range [][]byte{i.state, {0xff}, nil} {
			_, err := interp.Apply(def, state, i.meta, at)
			var ce *interp.CallbackError
			if !errors.Is(err, c.want) || !errors.As(err, &ce) || ce.Callback != c.callback {
				t.Errorf("callback %d, state %x: %v, want a *CallbackError matching %v", c.callback, state, err, c.want)
			}
		}
	}
	at.Callback = next.Callback
	if _, err := interp.Apply(def, []byte{0xff}, i.meta, at); !errors.Is(err, interp.ErrCorrupt) {
		t.Errorf("awaited callback on a state that does not decode: %v, want ErrCorrupt", err)
	}
}

// A Resume with nothing due is refused before the state is decoded, with
// ErrNotDue whatever the state holds; one that finds a due timer still
// meets a state that does not decode, and then changes nothing.
func TestResumeNotDueBeforeState(t *testing.T) {
	def := dsl.MustCompile[counter]("c", dsl.Wait("w",
		dsl.On("tick", dsl.After(time.Hour)),
	))
	i := start(t, def, nil)
	early := interp.Event{Kind: interp.EventResume, Time: t0.Add(time.Minute)}
	for _, state := range [][]byte{i.state, {0xff}, nil} {
		if _, err := interp.Apply(def, state, i.meta, early); !errors.Is(err, interp.ErrNotDue) {
			t.Errorf("early Resume, state %x: %v, want ErrNotDue", state, err)
		}
	}
	due := interp.Event{Kind: interp.EventResume, Time: t0.Add(2 * time.Hour)}
	for _, state := range [][]byte{{0xff}, {0x81, 0x01}} {
		if _, err := interp.Apply(def, state, i.meta, due); !errors.Is(err, interp.ErrCorrupt) {
			t.Errorf("due Resume on state %x that does not decode: %v, want ErrCorrupt", state, err)
		}
	}
	res, err := interp.Apply(def, i.state, i.meta, due)
	if err != nil || res.Meta.Status != interp.StatusCompleted {
		t.Fatalf("due Resume: status %v, err %v; want Completed", res.Meta.Status, err)
	}
}
