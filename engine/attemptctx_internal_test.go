package engine

import (
	"context"
	"errors"
	"testing"
	"time"
)

type otherKey struct{}

// An attempt's context behaves as context.WithCancel of the worker's with
// the effect ID: canceled by stop whether or not Done was asked for
// before, as seen by Err, Done, context.Cause and contexts derived from it.
func TestAttemptCtx(t *testing.T) {
	closed := func(ctx context.Context) bool {
		select {
		case <-ctx.Done():
			return true
		default:
			return false
		}
	}
	parent := context.WithValue(context.Background(), otherKey{}, "v")
	for _, doneFirst := range []bool{false, true} {
		a := &attemptCtx{Context: parent, id: "i/1/0"}
		if EffectID(a) != "i/1/0" || a.Value(otherKey{}) != "v" {
			t.Fatalf("values: %q, %v", EffectID(a), a.Value(otherKey{}))
		}
		if doneFirst && closed(a) {
			t.Fatal("done before stop")
		}
		derived, cancel := context.WithTimeout(a, time.Hour)
		if a.Err() != nil || derived.Err() != nil || context.Cause(a) != nil || a.canceledByEffect() {
			t.Fatalf("before stop: %v, %v, %v", a.Err(), derived.Err(), context.Cause(a))
		}
		a.stop(true)
		if !errors.Is(a.Err(), context.Canceled) || !closed(a) || !errors.Is(context.Cause(a), context.Canceled) {
			t.Fatalf("after stop: %v, closed %v, cause %v", a.Err(), closed(a), context.Cause(a))
		}
		if !closed(derived) || !errors.Is(derived.Err(), context.Canceled) || !a.canceledByEffect() {
			t.Fatalf("derived after stop: %v", derived.Err())
		}
		if EffectID(derived) != "i/1/0" || derived.Value(otherKey{}) != "v" {
			t.Fatalf("derived values: %q, %v", EffectID(derived), derived.Value(otherKey{}))
		}
		cancel()
	}

	// Stopped without Done asked for: Err answers without making the
	// cancelable context, and a context derived afterwards starts canceled.
	a := &attemptCtx{Context: context.Background(), id: "x"}
	a.stop(false)
	if !errors.Is(a.Err(), context.Canceled) || a.child.Load() != nil || a.canceledByEffect() {
		t.Fatalf("stopped: %v, made %v", a.Err(), a.child.Load() != nil)
	}
	if d, cancel := context.WithCancel(a); !closed(d) {
		t.Fatal("derived from a stopped attempt is not done")
	} else {
		cancel()
	}

	// The worker's context ending ends the attempt's, Done asked for or not.
	for _, doneFirst := range []bool{false, true} {
		p, stop := context.WithCancel(context.Background())
		a := &attemptCtx{Context: p, id: "y"}
		if doneFirst {
			a.Done()
		}
		stop()
		if !errors.Is(a.Err(), context.Canceled) || !closed(a) {
			t.Fatalf("parent ended: %v, closed %v", a.Err(), closed(a))
		}
	}
}
