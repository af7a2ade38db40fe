package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// Start creates instance id of def, which must be registered, with input
// as its initial state, and runs it until every thread blocks. The record
// and the first effects are written in one atomic Create; the effects are
// performed afterwards by [Engine.Run] or [Engine.Drain].
//
// input must be a value of def's state type S or a non-nil *S; otherwise
// the error is a *[StateTypeError]. Other errors: [ErrUnregistered],
// [ErrInvalidID], [ErrExists] (also matching storage.ErrExists) when id is
// taken, [ErrTooLarge] when the encoded input exceeds the payload limit or
// the first state the state limit ([WithMaxPayload], [WithMaxState]),
// [ErrPanic] when the codec, the interpreter or the store panicked, errors
// of interp.Apply, and other storage errors. When the store cannot tell
// whether the instance was created, the error is an *[OutcomeUnknownError]
// matching [ErrOutcomeUnknown]: Start again with the same id, and
// [ErrExists] then means it was.
//
// By default an id that is taken is refused, however long ago its
// instance finished; [WithIDReuse] allows a new run after a finished one,
// or ends a running one first.
func (e *Engine) Start(ctx context.Context, def *dsl.Definition, id string, input any, opts ...StartOption) (err error) {
	so, err := startOpts(opts)
	if err != nil {
		return err
	}
	if err := e.registered(def); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	if err := checkState(def, "start input", reflect.TypeOf(input), input); err != nil {
		return err
	}
	state, err := e.encodePayload(id, "start input", input)
	if err != nil {
		return err
	}
	return e.start(ctx, def, id, state, so, nil)
}

// start is Start after its checks, with the encoded input, and the host
// data the new record starts with (a child's parent link, or nil).
func (e *Engine) start(ctx context.Context, def *dsl.Definition, id string, state []byte, so startOptions, host []byte) (err error) {
	op := "apply"
	var hot []job // the effects, claimed for the hot path until handed to it
	var hotBuf [2]job
	defer func() {
		if r := recover(); r != nil {
			e.unclaim(hot)
			err = e.recovered(id, def.Name(), op, r)
		}
	}()
	now := e.clock.Now()
	ev := interp.Event{Kind: interp.EventStart, Time: now, Instance: id}
	var res interp.Result // (applied in place: a Result is large to return)
	sc := getScratch()    // res's effects are done with when start returns
	defer putScratch(sc)
	if err := e.applyInto(def, state, &interp.Meta{}, &ev, id, &res, sc); err != nil {
		return err
	}
	ev.Payload = state // the input, as the journal keeps it
	jw, err := e.journalWrite(id, def, &interp.Meta{}, nil, &ev, &res, nil)
	if err != nil {
		return err
	}
	op = "encode"
	if res.Meta.Status.Finished() { // for retention (retention.go)
		if host, err = markEnded(id, host, now); err != nil {
			return err
		}
	}
	end := e.keepsEnd(id, &res.Meta, host)
	var entryBuf [2]outbox.Entry // the outbox entries of the commit, for its jobs
	inst, rec, effects, entries, err := encodeEntries(id, def.Name(), &res, host, entryBuf[:0], end)
	if err != nil {
		return err
	}
	if effects, err = e.withWakeups(id, def.Name(), time.Time{}, &res, effects); err != nil {
		return err
	}
	inst.Journal = jw
	op = "create"
	hot = e.claimHot(hotBuf[:0], entries, effects, quietEnd(def, res.Meta))
	// No cached record needs dropping first: one is cached only for an
	// instance that exists, and then Create changes nothing (and a record
	// cached for an instance deleted since fails its next commit's
	// compare-and-set, as any stale one does). A Start is then one map
	// lookup of the cache, not two.
	version, err := e.store.Create(ctx, inst, effects)
	if err != nil {
		e.unclaim(hot)
		hot = nil
		if errors.Is(err, storage.ErrDeleted) {
			// Retention deleted an instance with this ID: start over
			// its tombstone, off the hot path (tombstone.go).
			op = "start over a tombstone"
			d, derr := deletedBy(id, err)
			if derr != nil {
				return derr
			}
			if err = e.createFresh(ctx, def, id, state, host, d); err == nil || !errors.Is(err, storage.ErrExists) {
				return err
			}
		}
		if errors.Is(err, storage.ErrExists) {
			if so.reuse != IDReuseRefuse {
				op = "reuse"
				return e.reuseID(ctx, def, id, state, so.reuse)
			}
			return &alsoError{err: opErr("start", "", id, err), sentinel: ErrExists}
		}
		return outcomeUnknown(opErr("start", "", id, err), OutcomeUnknownError{Op: "start", Instance: id})
	}
	handed := hot
	hot = nil // from here on, the hot path owns the claims
	e.committed(ctx, handed, len(effects) > 0, inst.Due)
	inst.Version = version
	e.cache.put(id, &loaded{stored: inst, rec: rec, meta: res.Meta}) // res goes nowhere else
	op = "metrics"
	e.metrics.Transition(def.Name(), interp.EventStart)
	return nil
}

// checkState reports whether a value of type t (v itself, to tell a nil
// pointer) may stand for def's state.
func checkState(def *dsl.Definition, what string, t reflect.Type, v any) error {
	want := def.StateType()
	ok := t == want
	if t != nil && t.Kind() == reflect.Pointer && t.Elem() == want {
		ok = v != nil && !reflect.ValueOf(v).IsNil()
	}
	if !ok {
		return &StateTypeError{Workflow: def.Name(), What: what, Want: want, Got: t}
	}
	return nil
}

// Deliver answers the pending callback of instance id: a custom event with
// payload (encoded with the codec), a timer firing (payload ignored), or an
// activity's result. If reply is not nil and the callback was a custom
// event's, the handler's reply is decoded into reply (it must be a
// pointer), as [Engine.Send] does; a callback of another kind has no reply
// and leaves reply untouched. (A tool that wants the reply's CBOR bytes
// undecoded applies an interp.EventCallback with [Engine.Apply]: the reply
// is the interp.EffectReply of the result.)
//
// A callback that cannot be accepted changes nothing and returns an error
// matching interp.ErrUnknownCallback, interp.ErrDuplicateCallback,
// interp.ErrStaleCallback, interp.ErrNotDue or interp.ErrRejected (the
// handler refused the payload); errors.As finds the *interp.CallbackError.
// A finished instance gives interp.ErrFinished, a missing one
// storage.ErrNotFound. A payload over the payload limit, or a transition
// whose new state would exceed the state limit, is refused with
// [ErrTooLarge] (a *[TooLargeError]) and changes nothing; a panic of the
// codec, the interpreter or the store gives [ErrPanic] (a *[PanicError]).
// All of these mean the event was not applied. If the event was applied
// and committed but its reply does not decode into reply, the error is a
// *[ReplyDecodeError] matching [ErrReplyUndecodable] (and not
// codec.ErrCorrupt), as with Send: do not deliver the event again.
//
// When the store cannot tell whether the event was committed, the error
// is an *[OutcomeUnknownError] matching [ErrOutcomeUnknown]. Deliver is
// safe to retry with the same callback: it can only answer that one wait,
// and interp.ErrDuplicateCallback then means the wait was answered.
func (e *Engine) Deliver(ctx context.Context, id string, callback uint64, payload any, reply any) error {
	b, err := e.encodePayload(id, "payload", payload)
	if err != nil {
		return err
	}
	res, err := e.transition(ctx, id, event(interp.Event{Kind: interp.EventCallback, Callback: callback, Payload: b}))
	if err != nil {
		return outcomeUnknown(err, OutcomeUnknownError{Op: "deliver", Instance: id, Callback: callback})
	}
	if reply == nil {
		return nil
	}
	ef, ok := replyEffect(res, callback)
	if !ok { // a timer, an activity or a child: no reply
		return nil
	}
	if err := decode.Into("reply", ef.Data, reply); err != nil {
		return &ReplyDecodeError{Op: "deliver", Instance: id, Event: ef.Event, Callback: callback, Err: err}
	}
	return nil
}

// replyEffect returns the reply effect for callback in res, if any.
func replyEffect(res interp.Result, callback uint64) (interp.Effect, bool) {
	for _, ef := range res.Effects {
		if ef.Kind == interp.EffectReply && ef.Callback == callback {
			return ef, true
		}
	}
	return interp.Effect{}, false
}

// replyTo returns the reply data for callback in res, or nil.
func replyTo(res interp.Result, callback uint64) []byte {
	ef, _ := replyEffect(res, callback)
	return ef.Data
}

// Send delivers the custom event named event (the name of its On) to
// instance id: it answers the pending callback of the first thread, in
// thread-ID order, that waits for that event. If reply is not nil, the
// handler's reply is decoded into it (it must be a pointer).
//
// If no thread waits for event yet, the event goes to the instance's
// inbox, in the same kind of atomic commit, and Send returns nil without
// touching reply: the first wait that takes the event to open later
// receives it (the order and the rules are in interp.Buffered and
// docs/lifecycle.md, "Buffered events"). A full inbox refuses the event
// with [ErrInboxFull] (see [WithInboxLimit]); the [NoBuffer] option
// refuses it with [ErrNoSuchWait] instead of buffering.
//
// Errors: [ErrNoSuchWait] when no wait in the definition takes event (or
// with NoBuffer, when no thread waits for it), [ErrInboxFull], interp.ErrFinished
// when the instance has ended, interp.ErrRejected when the handler refused
// the payload, storage.ErrNotFound, and the other errors of [Engine.Deliver].
// All of these mean the event was not applied. One error means it was: if
// the event was applied and committed but its reply does not decode into
// reply, the error is a *[ReplyDecodeError] matching [ErrReplyUndecodable]
// (and not codec.ErrCorrupt); do not send the event again. And one means
// it may have been: when the store cannot tell whether the commit took
// effect, the error is an *[OutcomeUnknownError] matching
// [ErrOutcomeUnknown] (and storage.ErrOutcomeUnknown).
//
// Send looks the callback up by event name on every call, so retrying a
// Send that may have been applied can apply the event to the instance's
// next wait for the same name. To retry safely, give the send an
// [IdempotencyKey] and retry with the same key: a key already applied
// makes Send return nil (and the first send's reply) without applying
// anything, whatever the instance does meanwhile, even if it finished.
// Without a key, retry with [Engine.Deliver] and the error's Callback
// (see [OutcomeUnknownError]); a send that was being buffered has no
// callback (0), so only a key makes its retry safe. A key that is empty or too long, or was
// used with this instance for another event, gives [ErrInvalidKey].
func (e *Engine) Send(ctx context.Context, id, event string, payload any, reply any, opts ...SendOption) error {
	var so sendOptions
	if len(opts) > 0 {
		so = collectSendOptions(opts) // (apart, so that a Send without options allocates none)
	}
	var key *sendKey
	if so.keyed {
		if err := checkKey(so.key); err != nil {
			return opErr(fmt.Sprintf("send %q", event), "to", id, err)
		}
		key = &sendKey{key: so.key, event: event}
	}
	b, err := e.encodePayload(id, "payload", payload)
	if err != nil {
		return opErr(fmt.Sprintf("send %q", event), "to", id, err)
	}
	var callback uint64
	var res interp.Result
	resp := &res // the result, read only for the reply
	if reply == nil {
		resp = nil
	}
	err = e.transitionWith(ctx, id, eventFor{key: key}, func(m interp.Meta) (interp.Event, error) {
		if m.Status.Finished() {
			return interp.Event{}, fmt.Errorf("engine: send %q to %q: %w", event, id, finishedError(&m))
		}
		callback = waiting(&m, event)
		if callback == 0 {
			if so.noBuffer {
				return interp.Event{}, fmt.Errorf("%w: %q in instance %q", ErrNoSuchWait, event, id)
			}
			return e.signalEvent(event, b), nil // to the inbox (see inbox.go)
		}
		return interp.Event{Kind: interp.EventCallback, Callback: callback, Payload: b}, nil
	}, resp)
	if err != nil {
		var done *keyApplied
		switch {
		case errors.As(err, &done):
			if so.buffered != nil {
				*so.buffered = done.kept.Callback == 0
			}
			return sentBefore(id, done.kept, reply)
		case errors.Is(err, interp.ErrUnknownEvent): // (the interpreter's error names the event and the instance)
			return fmt.Errorf("%w: %w", ErrNoSuchWait, cause(err))
		}
		return outcomeUnknown(err, OutcomeUnknownError{Op: "send", Instance: id, Event: event, Callback: callback, Key: so.key})
	}
	if so.buffered != nil {
		*so.buffered = callback == 0
	}
	if reply != nil && callback != 0 { // a buffered event has no reply yet
		if err := decode.Into("reply", replyTo(res, callback), reply); err != nil {
			return &ReplyDecodeError{Instance: id, Event: event, Callback: callback, Err: err}
		}
	}
	return nil
}

// collectSendOptions applies opts.
func collectSendOptions(opts []SendOption) sendOptions {
	var so sendOptions
	for _, o := range opts {
		if o != nil {
			o(&so)
		}
	}
	return so
}

// sentBefore is the result of a keyed Send whose key was applied before:
// nil, with the reply then kept decoded into reply.
func sentBefore(id string, kept keptKey, reply any) error {
	if reply == nil || kept.Callback == 0 { // (0: the send was buffered, and had no reply)
		return nil
	}
	if kept.Dropped {
		return &ReplyDecodeError{Instance: id, Event: kept.Event, Callback: kept.Callback, Err: errReplyNotKept}
	}
	if err := decode.Into("reply", kept.Reply, reply); err != nil {
		return &ReplyDecodeError{Instance: id, Event: kept.Event, Callback: kept.Callback, Err: err}
	}
	return nil
}

// waiting returns the callback of the first thread that waits for the
// custom event named event, or 0. Threads are sorted by ID.
func waiting(m *interp.Meta, event string) uint64 {
	for _, th := range m.Threads {
		for _, p := range th.Waits {
			if p.Kind == interp.Custom && p.Event == event {
				return p.Callback
			}
		}
	}
	return 0
}

// Cancel cancels instance id: every pending wait is torn down (running
// activities are told to stop) and the definition's cleanup section runs,
// if it has one. Errors: interp.ErrFinished when the instance has ended,
// interp.ErrBadEvent when it is already canceling, storage.ErrNotFound.
// When the store cannot tell whether the cancel was committed, the error
// is an *[OutcomeUnknownError] matching [ErrOutcomeUnknown]: Cancel again,
// and interp.ErrBadEvent or interp.ErrFinished then means it was.
func (e *Engine) Cancel(ctx context.Context, id string) error {
	_, err := e.transition(ctx, id, event(interp.Event{Kind: interp.EventCancel}))
	return outcomeUnknown(err, OutcomeUnknownError{Op: "cancel", Instance: id})
}

// Resume continues instance id if anything is due at the clock's time:
// runnable threads, step retries whose backoff has passed, timers whose
// deadline has passed. Nothing due is not an error. [Engine.Run] and
// [Engine.Drain] call it for every due instance; call it yourself only to
// drive an instance by hand.
func (e *Engine) Resume(ctx context.Context, id string) error {
	_, err := e.resume(ctx, id)
	return err
}

// resume reports whether anything was due.
func (e *Engine) resume(ctx context.Context, id string) (bool, error) {
	_, err := e.transition(ctx, id, event(interp.Event{Kind: interp.EventResume}))
	if errors.Is(err, interp.ErrNotDue) {
		return false, nil
	}
	return err == nil, err
}

// maxChain bounds how many transitions resumeDue runs for one instance
// before it lets the run loop schedule others.
const maxChain = 32

// resumeDue is how the run loop resumes a due instance: like resume, but
// while the instance is due again at once (a statement budget ran out) it
// goes on with it, up to maxChain transitions, keeping the instance's lock
// and the record it just committed instead of loading it again. Each
// transition still commits on its own (a checkpoint per transition), and
// the compare-and-set on the version guards against other processes. It
// stops early when another caller waits for the instance's lock, so that
// Send and Deliver do not wait behind a long chain. It reports whether
// anything was due.
func (e *Engine) resumeDue(ctx context.Context, id string) (bool, error) {
	n, err := e.resumeChain(ctx, id, nil)
	return n > 0, err
}

// resumeChain is resumeDue, committing under lease if it is not nil; it
// returns how many transitions it committed.
func (e *Engine) resumeChain(ctx context.Context, id string, lease *storage.Lease) (int, error) {
	il, err := e.cache.lock(ctx, id)
	if err != nil {
		return 0, opErr("", "", id, err)
	}
	defer e.cache.unlock(id, il)
	var from *loaded
	var last loaded // what from points to after the first transition
	for n := 0; ; n++ {
		err := e.transitionLocked(ctx, id, il, from, eventFor{ev: interp.Event{Kind: interp.EventResume}, lease: lease, chain: lease == nil}, nil, &last, nil)
		if errors.Is(err, interp.ErrNotDue) {
			if n > 0 {
				e.wake() // the last commit was due now and asked for no pass (see eventFor.chain)
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
		due := last.meta.Due // the committed meta, the result's
		if due.IsZero() {
			return n + 1, nil
		}
		if due.After(e.clock.Now()) || n+1 >= maxChain || ctx.Err() != nil || e.cache.contended(id) {
			// Left to a pass, which the commit may not have asked for
			// (see eventFor.chain).
			e.wake()
			return n + 1, nil
		}
		from = &last // (transitionLocked reads from before it writes last)
	}
}
