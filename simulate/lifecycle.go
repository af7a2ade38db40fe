package simulate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"pgregory.net/rapid"
)

// The instance lifecycle through the engines' API (docs/lifecycle.md):
//
//   - signal-with-start: a run may begin with Engine.SignalWithStart
//     instead of Engine.Start, with one of the definition's custom events;
//     the model folds the start and the signal, and the store must hold
//     both after the one commit;
//   - query: a host's Engine.Query runs one of the definition's query
//     handlers (dsl.Query) on the committed state; it must neither fail
//     nor change the stored instance, whatever state the run reached;
//   - at the end of a run, Engine.Await on a host must say how the
//     instance ended (its output, a *engine.WorkflowFailedError with the
//     failure's path and message, engine.ErrCanceled,
//     engine.ErrTerminated), or, for an instance still running, return
//     when its context ends; and Engine.Start of its ID, under the default
//     ID reuse policy, must be refused with engine.ErrExists and change
//     nothing.

// Invariants of the lifecycle calls.
const (
	InvQuery           = "queries change nothing and do not fail"
	InvAwait           = "Await tells how the instance ended"
	InvIDReuse         = "a taken ID is not started again"
	InvSignalWithStart = "signal-with-start commits the start and the event together"
)

// startWithSignal begins the instance with input and a custom event drawn
// from the definition's, in one Engine.SignalWithStart. A start that ends
// the instance, or a definition without custom events, starts plainly:
// no event can follow such a start.
func (w *world) startWithSignal(src source, input any) {
	b, err := codec.Marshal(input)
	if err != nil {
		panic(fmt.Sprintf("simulate: the start state does not encode: %v", err))
	}
	now := w.clock.Now()
	started, err := interp.Apply(w.def, b, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: now, Instance: instanceID})
	ons := customOns(w)
	if err != nil || started.Meta.Status.Finished() || len(ons) == 0 {
		w.start(input)
		return
	}
	on := pick(src, ons, "signal-with-start event")
	pe := onPending(on)
	payload, v := w.payload(src, pe)
	// The event answers the first wait for it the start opened, as a
	// callback, or goes to the inbox.
	sig := interp.Event{Kind: interp.EventSignal, Time: now, Name: on.Name(), Payload: payload}
	sent := say("%v", earlyLine{on.Name(), v})
	for _, th := range started.Meta.Threads {
		for _, p := range th.Waits {
			if p.Kind == interp.Custom && p.Event == on.Name() && sig.Kind == interp.EventSignal {
				sig.Kind, sig.Callback = interp.EventCallback, p.Callback
				sent = say("%v", deliverLine{pending{thread: th.ID, path: th.Path, p: p}, v})
			}
		}
	}
	signalled, refused := interp.Apply(w.def, started.State, started.Meta, sig)
	err = signalWithStartVia(w.hosts[0]).SignalWithStart(w.ctx, w.def, instanceID, input, on.Name(), v)
	if (refused == nil) != (err == nil || !errors.Is(err, interp.ErrRejected)) {
		// The host and the model disagree on the event: if the
		// interpreter itself answers otherwise on a second try, something
		// outside the inputs decides (a hidden input), not the host.
		if _, again := interp.Apply(w.def, started.State, started.Meta, sig); (again == nil) != (refused == nil) {
			if err == nil {
				w.fail(InvDeterminism, w.where(), "%s\nThe host accepted and committed the %s event with the start; applied again to the same state and meta it is rejected: %v",
					hiddenInputNote, sig.Kind, refused)
			} else {
				w.fail(InvDeterminism, w.where(), "%s\nApplied to the same state and meta, the %s event after the start is rejected by the host (%v) and accepted by the interpreter",
					hiddenInputNote, sig.Kind, err)
			}
			return
		}
	}
	switch {
	case refused != nil && err == nil:
		w.fail(InvSignalWithStart, "", "signal-with-start %s(%+v) was accepted; the interpreter refuses the event after the start: %v", on.Name(), v, refused)
		return
	case refused != nil:
		// Refused as a whole: nothing may be stored, and the run starts
		// plainly.
		if _, lerr := w.store.Load(w.ctx, instanceID); !errors.Is(lerr, storage.ErrNotFound) {
			w.fail(InvSignalWithStart, "", "signal-with-start %s(%+v) was refused (%v), yet the store holds the instance", on.Name(), v, err)
			return
		}
		w.trace = append(w.trace, join(say("signal-with-start, then "), "", join(sent, "", say(": rejected: %s; start plainly", shortError{err}))))
		w.start(input)
		return
	case err != nil:
		if _, lerr := w.store.Load(w.ctx, instanceID); lerr == nil {
			w.fail(InvSignalWithStart, "", "signal-with-start %s(%+v) was reported failed (%v), yet the store holds the instance", on.Name(), v, err)
			return
		}
		w.fail(InvSignalWithStart, "", "signal-with-start %s(%+v) does not start the instance: %v", on.Name(), v, err)
		return
	}
	w.steps = append(w.steps, step{Kind: stepStart, Input: b, Event: sig})
	w.trace = append(w.trace, join(say("start with %+v and, in the same commit (signal-with-start), ", input), "", join(sent, "", say(": accepted"))))
	// The applications above are the first of the two each fold compares:
	// the start's was made to the model's empty meta, and the event's to
	// the start's result, which the first fold makes the model's.
	first, then := &appliedOnce{res: started}, &appliedOnce{res: signalled, err: refused}
	if w.applied != 0 {
		first, then = nil, nil // (not a new world: the model's meta is not the empty one)
	}
	if _, ok := w.foldFrom(b, interp.Event{Kind: interp.EventStart, Time: now, Instance: instanceID}, nil, first); !ok || w.failure != nil {
		return
	}
	if _, ok := w.foldFrom(w.state, sig, nil, then); !ok || w.failure != nil {
		return
	}
	if n := len(w.journalLog); n >= 2 {
		// One commit, one journal entry: the event's, with the start's
		// effects first.
		merged := w.journalLog[n-1]
		merged.effects = append(append([]interp.Effect(nil), w.journalLog[n-2].effects...), merged.effects...)
		w.journalLog = append(w.journalLog[:n-2], merged)
		w.journalOK = nil // checked against the entries before the merge
	}
	if sig.Kind == interp.EventCallback {
		w.history = append(w.history, delivered{ev: sig, label: sent})
	}
	w.version = 1
	si, rec := w.load()
	if w.failure == nil {
		w.record(si)
		if m := w.storedMeta(rec); w.failure == nil && si.Version == 1 && m.Seq == started.Meta.Seq {
			// Not a hidden input: one transition committed where the
			// accepted signal-with-start makes two.
			w.fail(InvSignalWithStart, "", "signal-with-start %s(%+v) was accepted, yet the store holds the start alone (meta sequence %d, want %d): the event was lost, where it must be committed with the start",
				on.Name(), v, m.Seq, w.meta.Seq)
			return
		}
		w.compareWith(si, rec, nil, true)
	}
}

// signalWithStart replays a run's signal-with-start.
func (r *replayer) signalWithStart(input any, sig interp.Event) error {
	return signalWithStartVia(r.hosts[0]).SignalWithStart(r.ctx, r.def, instanceID, input, sig.Name, cbor.RawMessage(sig.Payload))
}

// query runs one of the definition's query handlers on a host.
func (a *actions) query(rt *rapid.T) {
	if a.done() {
		return
	}
	w := a.w
	src := rapidSource{rt}
	name := pick(src, w.def.Queries(), "query")
	h := w.hosts[w.pickHost(src)]
	before, err := w.store.Load(w.ctx, instanceID)
	if err != nil {
		return // the instance is gone (retention): nothing to query
	}
	var out any
	qerr := queryVia(h).Query(w.ctx, instanceID, name, &out)
	after, err := w.store.Load(w.ctx, instanceID)
	if err == nil && (after.Version != before.Version || !bytes.Equal(after.Data, before.Data)) {
		w.fail(InvQuery, w.where(), "query %q changed the stored instance (version %d to %d)", name, before.Version, after.Version)
		return
	}
	if qerr != nil {
		if errors.Is(qerr, storage.ErrNotFound) {
			return
		}
		w.fail(InvQuery, w.where(), "query %q failed on the state %s: %v", name, w.stateString(), qerr)
		return
	}
	w.say("query %s: %+v", name, out)
}

// stateString renders the model's state for a report.
func (w *world) stateString() string {
	var v any
	if err := codec.Unmarshal(w.state, &v); err != nil {
		return fmt.Sprintf("(undecodable: %v)", err)
	}
	return fmt.Sprintf("%+v", v)
}

// checkLifecycle checks, at the end of a run, what Await says of the
// instance and that its ID cannot be started again.
func (w *world) checkLifecycle() {
	if w.failure != nil {
		return
	}
	si, err := w.store.Load(w.ctx, instanceID)
	if err != nil {
		return // deleted by retention: nothing left to await
	}
	h := w.hosts[0]
	m := w.meta
	ctx := w.ctx
	if !m.Status.Finished() {
		// A running instance: Await returns when ctx ends, with its error
		// (a context ended already: the run spends no wall time on it).
		c, cancel := context.WithCancel(w.ctx)
		cancel()
		ctx = c
	}
	var out any
	err = awaitVia(h).Await(ctx, instanceID, &out)
	var wf *engine.WorkflowFailedError
	switch m.Status {
	case interp.StatusCompleted:
		var want any
		if len(m.Output) > 0 {
			if derr := codec.Unmarshal(m.Output, &want); derr != nil {
				w.fail(InvAwait, "", "the output of the completed instance does not decode: %v", derr)
				return
			}
		}
		if err != nil {
			w.fail(InvAwait, "", "Await of the completed instance returned %v", err)
		} else if d := cmp.Diff(want, out); d != "" {
			w.fail(InvAwait, "", "Await gave another output than the instance's (-want +got):\n%s", d)
		}
	case interp.StatusFailed:
		switch {
		case !errors.As(err, &wf):
			w.fail(InvAwait, "", "Await of the failed instance returned %v, not a *engine.WorkflowFailedError", err)
		case m.Failure != nil && (wf.Path != m.Failure.Path || wf.Message != m.Failure.Message || wf.Panic != m.Failure.Panic):
			w.fail(InvAwait, m.Failure.Path, "Await says the instance failed at %q with %q (panic %v); it failed at %q with %q (panic %v)",
				wf.Path, wf.Message, wf.Panic, m.Failure.Path, m.Failure.Message, m.Failure.Panic)
		}
	case interp.StatusCanceled:
		if !errors.Is(err, engine.ErrCanceled) {
			w.fail(InvAwait, "", "Await of the canceled instance returned %v, not engine.ErrCanceled", err)
		}
	case interp.StatusTerminated:
		if !errors.Is(err, engine.ErrTerminated) {
			w.fail(InvAwait, "", "Await of the terminated instance returned %v, not engine.ErrTerminated", err)
		}
	default:
		if !errors.Is(err, context.Canceled) {
			w.fail(InvAwait, w.where(), "Await of the running instance (%s) returned %v before its context ended", m.Status, err)
		}
	}
	if w.failure != nil {
		return
	}
	input, _ := w.startInput()
	serr := h.api.Start(w.ctx, w.def, instanceID, input)
	after, lerr := w.store.Load(w.ctx, instanceID)
	switch {
	case !errors.Is(serr, engine.ErrExists):
		w.fail(InvIDReuse, "", "Start of the taken ID returned %v, not engine.ErrExists", serr)
	case lerr != nil || after.Version != si.Version || !bytes.Equal(after.Data, si.Data):
		w.fail(InvIDReuse, "", "the refused Start of the taken ID changed the stored instance")
	}
}

// startInput returns the run's start state, decoded.
func (w *world) startInput() (any, bool) {
	for _, s := range w.steps {
		if s.Kind == stepStart {
			v := reflect.New(w.def.StateType())
			if err := codec.Unmarshal(s.Input, v.Interface()); err == nil {
				return v.Elem().Interface(), true
			}
		}
	}
	return reflect.New(w.def.StateType()).Elem().Interface(), false
}

// awaiter, querier, startWither and signalStarter are what a Host
// (Options.Host) may also implement for the simulator to await and query
// instances, start new runs over a taken ID (Start with
// engine.WithIDReuse, which Host.Start has no room for) and
// signal-with-start through it; it uses the engine's otherwise.
type (
	awaiter interface {
		Await(ctx context.Context, id string, out any) error
	}
	querier interface {
		Query(ctx context.Context, id, name string, out any) error
	}
	startWither interface {
		StartWith(ctx context.Context, def *dsl.Definition, id string, input any, opts ...engine.StartOption) error
	}
	signalStarter interface {
		SignalWithStart(ctx context.Context, def *dsl.Definition, id string, input any, event string, payload any, opts ...engine.SendOption) error
	}
)

func startWithVia(h *simHost) startWither {
	if s, ok := h.api.(startWither); ok {
		return s
	}
	return engineHost{h.e}
}

func signalWithStartVia(h *simHost) signalStarter {
	if s, ok := h.api.(signalStarter); ok {
		return s
	}
	return h.e
}

func awaitVia(h *simHost) awaiter {
	if a, ok := h.api.(awaiter); ok {
		return a
	}
	return h.e
}

func queryVia(h *simHost) querier {
	if q, ok := h.api.(querier); ok {
		return q
	}
	return h.e
}
