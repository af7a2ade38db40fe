package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// ErrInboxFull: [Engine.Send] or [Engine.SignalWithStart] found no thread
// waiting for the event, and the instance's inbox already holds as many
// buffered events as [WithInboxLimit] allows. Nothing changed. It is
// interp.ErrInboxFull, so either matches with errors.Is.
var ErrInboxFull = interp.ErrInboxFull

// WithInboxLimit sets how many buffered events one instance's inbox may
// hold (default interp.DefaultInboxLimit, 100): events sent while no
// thread waits for them (see [Engine.Send]). A send that would buffer one
// more is refused with [ErrInboxFull]. n must be at least 1. Buffered
// events live in the instance's record, so they count towards the state
// limit of [WithMaxState] too.
func WithInboxLimit(n int) Option {
	return func(e *Engine) error {
		if n < 1 {
			return invalid("WithInboxLimit", n, "the inbox limit must be at least 1")
		}
		e.inboxLimit = n
		return nil
	}
}

// NoBuffer makes a [Engine.Send] refuse, with [ErrNoSuchWait], an event no
// thread waits for at the time, instead of buffering it in the inbox: for
// a caller that needs the handler's reply now, or that would rather retry
// itself.
func NoBuffer() SendOption {
	return func(o *sendOptions) { o.noBuffer = true }
}

// ReportBuffered makes a [Engine.Send] that returns nil set *buffered to
// whether the event went to the inbox (true: no wait took it yet, and
// the reply was not written) or was applied to a waiting thread (false).
// For a retry with an [IdempotencyKey] already applied, it reports what
// the first send did.
func ReportBuffered(buffered *bool) SendOption {
	return func(o *sendOptions) { o.buffered = buffered }
}

// signalEvent is the interpreter event that buffers the custom event named
// event with encoded payload, or delivers it to a thread that waits for
// it by the time the event is applied.
func (e *Engine) signalEvent(event string, payload []byte) interp.Event {
	return interp.Event{Kind: interp.EventSignal, Name: event, Payload: payload, InboxLimit: e.inboxLimit}
}

// reportDropped logs, as warnings, the buffered events a committed
// transition dropped (the instance finished, a migration removed their
// name, or the handler refused them).
func (e *Engine) reportDropped(id, workflow string, effects []interp.Effect) {
	for i := range effects {
		if ef := &effects[i]; ef.Kind == interp.EffectDropped {
			e.log.Warn("weft: buffered event dropped", slog.String("instance", id), slog.String("workflow", workflow),
				slog.String("event", ef.Event), slog.String("reason", ef.Error), slog.String("effect", ef.ID.String()))
		}
	}
}

// SignalWithStart delivers the custom event named event with payload to
// instance id, starting the instance first (with input, as [Engine.Start]
// does) if it does not exist. Either way it is one atomic step: a new
// instance is created already holding the event (delivered to its first
// wait for it, or buffered until one opens), in one Create; an existing
// one gets the event as from [Engine.Send], in one commit. Two callers
// racing on a missing instance start it once: the loser's Create finds it
// and delivers to it.
//
// opts are Send's: an [IdempotencyKey] makes it safe to retry (a retry
// after the instance was started by the first call finds the key),
// [NoBuffer] refuses an event no thread waits for, and [ReportBuffered]
// tells whether the event was buffered. The handler's reply is
// not returned; use Send for that.
//
// Errors: those of [Engine.Start] for the input, and of [Engine.Send] for
// the event (an existing instance that has finished gives
// interp.ErrFinished: it is not started again). When the event is refused
// (an unknown event name, a handler that refuses the payload, a full
// inbox) a new instance is not created either; nor when the new instance
// would end at its start, before any wait could take the event
// (interp.ErrFinished).
func (e *Engine) SignalWithStart(ctx context.Context, def *dsl.Definition, id string, input any, event string, payload any, opts ...SendOption) error {
	if err := e.registered(def); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	if _, err := e.store.Load(ctx, id); err == nil {
		return e.Send(ctx, id, event, payload, nil, opts...)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return opErr("signal-with-start", "", id, err)
	}
	err := e.startWithSignal(ctx, def, id, input, event, payload, opts)
	if errors.Is(err, ErrExists) {
		return e.Send(ctx, id, event, payload, nil, opts...)
	}
	return err
}

// startWithSignal creates instance id with the event applied after the
// start, in one Create.
func (e *Engine) startWithSignal(ctx context.Context, def *dsl.Definition, id string, input any, event string, payload any, opts []SendOption) (err error) {
	var so sendOptions
	for _, o := range opts {
		if o != nil {
			o(&so)
		}
	}
	var key *sendKey
	if so.keyed {
		if err := checkKey(so.key); err != nil {
			return opErr(fmt.Sprintf("signal-with-start %q", event), "to", id, err)
		}
		key = &sendKey{key: so.key, event: event}
	}
	if err := checkState(def, "start input", reflect.TypeOf(input), input); err != nil {
		return err
	}
	state, err := e.encodePayload(id, "start input", input)
	if err != nil {
		return err
	}
	b, err := e.encodePayload(id, "payload", payload)
	if err != nil {
		return opErr(fmt.Sprintf("signal-with-start %q", event), "to", id, err)
	}
	var d *deleted // the tombstone of a deleted instance with the ID, once met (tombstone.go)
	for try := 1; ; try++ {
		err := e.createWithSignal(ctx, def, id, state, event, b, &so, key, d)
		if !errors.Is(err, storage.ErrDeleted) {
			return err
		}
		if try >= maxConflicts { // deleted, created and deleted again, over and over
			return outcomeUnknown(opErr("signal-with-start", "", id, err), OutcomeUnknownError{Op: "signal-with-start", Instance: id, Event: event, Key: so.key})
		}
		if d, err = deletedBy(id, err); err != nil {
			return err
		}
	}
}

// createWithSignal is one attempt of startWithSignal, over the tombstone
// d if not nil. It returns a storage.DeletedError as it is.
func (e *Engine) createWithSignal(ctx context.Context, def *dsl.Definition, id string, state []byte, event string, b []byte, so *sendOptions, key *sendKey, d *deleted) (err error) {
	op := "apply"
	var hot []job
	var hotBuf [2]job
	defer func() {
		if r := recover(); r != nil {
			e.unclaim(hot)
			err = e.recovered(id, def.Name(), op, r)
		}
	}()
	now := e.clock.Now()
	started, err := e.startAfter(d, def, state, interp.Event{Kind: interp.EventStart, Time: now, Instance: id}, id)
	if err != nil {
		return err
	}
	ev := e.signalEvent(event, b)
	if callback := waiting(&started.Meta, event); callback != 0 {
		ev = interp.Event{Kind: interp.EventCallback, Callback: callback, Payload: b}
	} else if so.noBuffer {
		return fmt.Errorf("%w: %q in instance %q (just started)", ErrNoSuchWait, event, id)
	}
	ev.Time = now
	if so.buffered != nil {
		*so.buffered = ev.Kind == interp.EventSignal // (else an error, or a wait took it)
	}
	sent, err := e.apply(def, started.State, started.Meta, ev, id)
	if errors.Is(err, interp.ErrUnknownEvent) {
		return fmt.Errorf("%w: %w", ErrNoSuchWait, err)
	}
	if err != nil {
		return err
	}
	// One record, both transitions' effects: their IDs (sequence 1 and 2)
	// do not collide.
	res := interp.Result{State: sent.State, Meta: sent.Meta, Effects: append(append([]interp.Effect(nil), started.Effects...), sent.Effects...)}
	var host []byte
	if key != nil {
		if host, err = key.add(id, nil, ev.Callback, replyTo(sent, ev.Callback)); err != nil {
			return err
		}
	}
	if res.Meta.Status.Finished() { // for retention (retention.go)
		if host, err = markEnded(id, host, now); err != nil {
			return err
		}
	}
	op = "encode"
	end := e.keepsEnd(id, &res.Meta, host)
	var entryBuf [2]outbox.Entry // the outbox entries of the commit, for its jobs
	inst, rec, effects, entries, err := encodeEntries(id, def.Name(), &res, host, entryBuf[:0], end)
	if err != nil {
		return err
	}
	if effects, err = e.withWakeups(id, def.Name(), time.Time{}, &res, effects); err != nil {
		return err
	}
	// One commit, one journal entry: the signal, with the start it came with.
	before := d.numbering()
	if inst.Journal, err = e.journalWrite(id, def, &before, nil, &ev, &res,
		&journalStart{event: interp.Event{Kind: interp.EventStart, Time: now, Instance: id, Payload: state}, meta: started.Meta}); err != nil {
		return err
	}
	d.over(&inst)
	op = "create"
	hot = e.claimHot(hotBuf[:0], entries, effects, quietEnd(def, res.Meta))
	// No cached record to drop first: see start.
	version, err := e.store.Create(ctx, inst, effects)
	if err != nil {
		e.unclaim(hot)
		hot = nil
		if errors.Is(err, storage.ErrExists) {
			return &alsoError{err: opErr("signal-with-start", "", id, err), sentinel: ErrExists}
		}
		if errors.Is(err, storage.ErrDeleted) {
			return err // (startWithSignal starts over the tombstone)
		}
		return outcomeUnknown(opErr("signal-with-start", "", id, err), OutcomeUnknownError{Op: "signal-with-start", Instance: id, Event: event, Key: so.key})
	}
	handed := hot
	hot = nil
	e.committed(ctx, handed, len(effects) > 0, inst.Due)
	inst.Version = version
	e.cache.put(id, &loaded{stored: inst, rec: rec, meta: res.Meta})
	op = "metrics"
	e.metrics.Transition(def.Name(), interp.EventStart)
	e.metrics.Transition(def.Name(), ev.Kind)
	e.reportDropped(id, def.Name(), res.Effects)
	return nil
}
