package simulate

import (
	"fmt"
	"reflect"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

// step is one recorded input of a run, with every value it drew, so the run
// can be replayed without rapid.
type step struct {
	Kind  stepKind
	Input []byte       // start: the encoded start state
	Event interp.Event // event: what was applied (Time included)
	Crash crashPoint   // event: where the host crashed
	Label string
	N     int       // dispatch: how many effects
	Mid   bool      // dispatch: crash before the last acknowledgement
	To    time.Time // clock: where the clock moved
}

type stepKind uint8

const (
	stepStart stepKind = iota
	stepEvent
	stepDispatch
	stepClock
	stepSwap
)

// replay runs steps on a fresh world.
func replay(def *dsl.Definition, opts *config, steps []step) *world {
	w := newWorld(def, opts)
	for _, st := range steps {
		if w.failure != nil {
			break
		}
		switch st.Kind {
		case stepStart:
			s, err := w.decodeState(st.Input)
			if err != nil {
				w.fail(InvReplay, "", "the recorded start state does not decode: %v", err)
				break
			}
			w.start(reflect.ValueOf(s).Elem().Interface())
		case stepEvent:
			w.moveClock(st.Event.Time)
			w.apply(st.Event, st.Crash, st.Label)
		case stepDispatch:
			w.dispatch(st.N, st.Mid)
		case stepClock:
			w.moveClock(st.To)
		case stepSwap:
			w.upgrade()
		}
	}
	return w
}

// Sim is what a user's action sees: a way to send events to the simulated
// instance and read its state.
type Sim struct {
	w interface {
		send(event string, payload any) error
		stateAny() (any, error)
	}
}

// Send delivers the custom event named event with payload to the first
// thread waiting for it, through the simulated host. It returns the host's
// error (a rejection, say) or an error if nobody waits for event.
func (s *Sim) Send(event string, payload any) error { return s.w.send(event, payload) }

// State returns the committed state (a *S).
func (s *Sim) State() (any, error) { return s.w.stateAny() }

func (w *world) send(event string, payload any) error {
	for _, pe := range w.pending(interp.Custom) {
		if pe.p.Event != event {
			continue
		}
		b, err := codec.Marshal(payload)
		if err != nil {
			return err
		}
		_, err = w.apply(interp.Event{Kind: interp.Callback, Callback: pe.p.Callback, Payload: b}, noCrash,
			fmt.Sprintf("user action: deliver %s%+v to thread %s at wait %q", event, payload, pe.thread, pe.path))
		return err
	}
	return fmt.Errorf("simulate: no thread waits for %q", event)
}

func (w *world) stateAny() (any, error) { return w.decodeState(w.state) }
