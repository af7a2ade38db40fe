package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// MaxIDLen is the longest instance ID the engine accepts, in bytes: a store
// takes IDs up to storage.MaxIDLen, and effect IDs add up to 32 bytes
// ("/seq/index") to the instance ID.
const MaxIDLen = storage.MaxIDLen - 32

// maxConflicts bounds how often one transition reloads and retries after
// another process committed first. With the pauses of conflictPause
// growing to maxConflictPause, a transition gives up after about half a
// second of losing: an engine whose callers queue on one instance can
// commit many times in a row while another engine's caller waits.
const maxConflicts = 32

// maxConflictPause caps the random pause before a retry.
const maxConflictPause = 20 * time.Millisecond

// loaded is a stored instance, decoded.
type loaded struct {
	stored storage.Instance
	rec    codec.Record
	meta   interp.Meta
}

// load reads and decodes an instance; it needs no definition.
func (e *Engine) load(ctx context.Context, id string) (l loaded, err error) {
	defer func() {
		if r := recover(); r != nil {
			l, err = loaded{}, e.recovered(id, "", "load", r)
		}
	}()
	si, err := e.store.Load(ctx, id)
	if err != nil {
		return loaded{}, fmt.Errorf("engine: %w", err)
	}
	return decodeStored(si)
}

// eventFor is a transition's event: ev, or if the transition has a
// builder, the event the builder makes from the instance as loaded. The
// engine sets Event.Time. If key is not nil (a keyed Send), the instance's
// kept keys are checked before the event is built, and the key is
// committed with the event.
type eventFor struct {
	ev    interp.Event
	key   *sendKey
	lease *storage.Lease // if set, the commit is fenced by it
	// chain: the caller resumes the instance again while it is due now,
	// and wakes the run loop itself if it stops (resumeChain), so a commit
	// due now asks for no pass: a pass would find the instance in flight.
	chain bool
}

// builder makes a transition's event from the instance's meta as loaded.
// It runs again after every conflict, so it sees the latest meta (Send
// uses this to find the callback now waiting for an event). It is a
// parameter of its own, apart from eventFor, so that a builder closure
// does not escape with the event's payload (the interpreter keeps that):
// a Send allocates neither the closure nor what it captures.
type builder func(m interp.Meta) (interp.Event, error)

// event returns the eventFor of a fixed event.
func event(ev interp.Event) eventFor { return eventFor{ev: ev} }

// transition is the one way an existing instance changes: under the
// instance's lock, load it, apply the event at the clock's time, and commit
// the new record with its effects, compare-and-set on the loaded version.
// After a conflict (another process committed first) it reloads and tries
// again, up to maxConflicts times. Errors of Apply mean nothing changed and
// are returned wrapped.
func (e *Engine) transition(ctx context.Context, id string, ef eventFor) (interp.Result, error) {
	var res interp.Result
	err := e.transitionWith(ctx, id, ef, nil, &res)
	return res, err
}

// transitionErr is transition for a caller that drops the result (an
// activity's), which is large to copy out.
func (e *Engine) transitionErr(ctx context.Context, id string, ef eventFor) error {
	return e.transitionWith(ctx, id, ef, nil, nil)
}

// transitionWith is transition with the event made by build, if not nil,
// and the result written to *result if result is not nil.
func (e *Engine) transitionWith(ctx context.Context, id string, ef eventFor, build builder, result *interp.Result) error {
	il, err := e.cache.lock(ctx, id)
	if err != nil {
		return opErr("", "", id, err)
	}
	defer e.cache.unlock(id, il)
	return e.transitionLocked(ctx, id, il, nil, ef, build, nil, result)
}

// transitionLocked is transition for a caller that holds the instance's
// lock il, with the event made by build if it is not nil (else ef.ev). If from
// is not nil it is the instance as this engine committed it
// last, and it stands in for the first load; otherwise the record cache may.
// It sets *result (if not nil) to the result, and *out (if not nil) to the
// instance as now committed.
//
// A record that did not come from the store in this call is trusted only
// through the store: an accepted event commits with a compare-and-set on
// its version (a conflict reloads), and an event that ends in an error
// (rejected, say) is checked by loading the record (see Engine.fresh).
//
// A panic on the way (in the store, the codec or the interpreter) is
// recovered into a *[PanicError] for this instance.
func (e *Engine) transitionLocked(ctx context.Context, id string, il *slot, from *loaded, ef eventFor, build builder, out *loaded, result *interp.Result) (err error) {
	op, workflow := "load", ""
	var hot []job // the commit's effects, claimed for the hot path until handed to it
	var hotBuf [2]job
	var entryBuf [2]outbox.Entry // the outbox entries of a commit, for its jobs
	defer func() {
		if r := recover(); r != nil {
			e.unclaim(hot)
			e.cache.dropHeld(il, id)
			err = e.recovered(id, workflow, op, r)
		}
	}()
	// l is the record the next try starts from, if have is set (else it
	// loads); unverified says the store has not vouched for it here. (A
	// loaded is large: the tries work on this one copy.)
	var l loaded
	have, unverified := false, false
	if from != nil {
		l, have, unverified = *from, true, true
	} else if e.cache.getHeld(il, &l) {
		have, unverified = true, true
	}
	var res applied
	if result == nil { // nothing reads the effects after the transition: they may live in a scratch
		res.sc = getScratch()
		defer putScratch(res.sc)
	}
	for try := 1; ; try++ {
		op = "load"
		cached := unverified
		if !have {
			var err error
			if l, err = e.load(ctx, id); err != nil {
				return err
			}
			e.cache.putHeld(il, id, &l)
		}
		have, unverified = false, false
		if err := e.attempt(ctx, id, &l, ef, build, &op, &workflow, &res); err != nil {
			if cached {
				// The cached record may be stale: ask the store.
				op = "load"
				if have, err = e.fresh(ctx, id, &l, err); have {
					try--
					continue
				}
			}
			return err
		}
		op = "encode"
		end := e.keepsEnd(id, &res.Meta, res.host)
		inst, rec, effects, entries, err := encodeEntries(id, workflow, &res.Result, res.host, entryBuf[:0], end)
		if err != nil {
			return err
		}
		if effects, err = e.withWakeups(id, workflow, l.meta.Due, &res.Result, effects); err != nil {
			return err
		}
		inst.Journal = res.journal
		op = "commit"
		hot = e.claimHot(hotBuf[:0], entries, effects, res.quiet)
		e.cache.dropHeld(il, id) // whatever the outcome, only a confirmed record is cached
		version, err := e.store.Commit(ctx, storage.Commit{Instance: inst, Expect: l.stored.Version, Effects: effects, Lease: ef.lease,
			Wake: !end}) // an end left out wakes watchers (Await) as its effect would have
		if err != nil {
			e.unclaim(hot)
			hot = nil
		}
		if errors.Is(err, storage.ErrConflict) {
			op = "metrics"
			e.metrics.Conflict(workflow)
			if try < maxConflicts {
				if err := conflictPause(ctx, try, e.noConflictPause); err != nil {
					return eventError(res.kind, id, err)
				}
				continue
			}
		}
		if err != nil {
			return eventError(res.kind, id, err)
		}
		handed := hot
		hot = nil // from here on, the hot path owns the claims
		wakeDue := inst.Due
		if ef.chain && !wakeDue.After(e.clock.Now()) {
			wakeDue = time.Time{}
		}
		e.committed(ctx, handed, len(effects) > 0, wakeDue)
		op = "metrics"
		e.metrics.Transition(workflow, res.kind)
		e.reportDropped(id, workflow, res.Effects)
		// The cache shares res's state and meta with the caller: the
		// engine's callers only read them (Engine.Apply hands users
		// copies), and Apply never writes to its arguments.
		inst.Version = version
		l.stored, l.rec, l.meta = inst, rec, res.Meta // (fields: a loaded{} literal is built apart, then copied)
		e.cache.putHeld(il, id, &l)
		if out != nil {
			*out = l
		}
		if result != nil {
			*result = res.Result
		}
		return nil
	}
}

// applied is an accepted result with the kind of its event and the
// record's new host data.
type applied struct {
	interp.Result
	kind    interp.EventKind
	host    []byte
	quiet   bool                  // see quietEnd
	journal *storage.JournalWrite // what the commit appends to the journal, or nil
	sc      *interp.Scratch       // where Apply works, if the effects are done with when the transition returns
}

// attempt builds the event for the instance as l holds it and applies it
// into *out (large: the caller's, reused across tries); it sets *op and
// *workflow for panic reports.
func (e *Engine) attempt(ctx context.Context, id string, l *loaded, ef eventFor, build builder, op, workflow *string, out *applied) error {
	def, err := e.definitionOf(l.rec.Workflow, id)
	if err != nil {
		return err
	}
	*op, *workflow = "apply", def.Name()
	// Events are looked up in the meta as the current definition sees
	// it: after a deploy, an instance is migrated by its next event, and
	// a renamed event must already answer to its new name.
	view := &l.meta
	if int(max(view.Version, 1)) < def.Version() {
		if up, err := interp.Upgrade(def, l.rec.State, l.meta); err == nil {
			view = &up.Meta
		}
	}
	if ef.key != nil {
		if err := ef.key.check(id, l.rec.Host); err != nil {
			return err
		}
	}
	ev := ef.ev
	if build != nil {
		if ev, err = build(*view); err != nil {
			return err
		}
	}
	ev.Time = e.clock.Now()
	if notDue(def, &l.meta, &ev) {
		// What Apply would say, without loading the threads: a host tries
		// a Resume of every instance it works on, most of them not due.
		return eventError(ev.Kind, id, &notDueError{at: ev.Time, id: id})
	}
	res := &out.Result
	if err := e.applyInto(def, l.rec.State, &l.meta, &ev, id, res, out.sc); err != nil {
		return err
	}
	host := l.rec.Host // carried over unchanged by every other event
	if ef.key != nil {
		if host, err = ef.key.add(id, host, ev.Callback, replyTo(*res, ev.Callback)); err != nil {
			return err
		}
	}
	if res.Meta.Status.Finished() { // for retention (retention.go)
		if host, err = markEnded(id, host, ev.Time); err != nil {
			return err
		}
	}
	jw, err := e.journalWrite(id, def, &l.meta, l.stored.Data, &ev, res, nil)
	if err != nil {
		return err
	}
	out.kind, out.host, out.quiet, out.journal = ev.Kind, host, quietEnd(def, res.Meta), jw
	return nil
}

// notDue reports whether ev is a Resume that Apply would refuse with
// interp.ErrNotDue: the instance is running at the definition's version (a
// Resume of an older one migrates it) and its due time, which the
// interpreter keeps as the earliest time anything in it is due, is unset
// or after ev.Time. (internal/defgen's "resume now" property checks that
// Apply refuses exactly those Resumes.)
func notDue(def *dsl.Definition, m *interp.Meta, ev *interp.Event) bool {
	if ev.Kind != interp.EventResume || m.Status.Finished() || int(max(m.Version, 1)) < def.Version() {
		return false
	}
	due := m.Due
	return due.IsZero() || due.After(ev.Time)
}

// fresh is how a transition that started from the cached record *l and
// failed with err learns whether err stands: it loads the record, and if
// the store holds the cached version byte for byte, err is the answer.
// Otherwise *l becomes the stored record, to try again from (ok is set),
// and err is nil. An error of the load is returned instead.
func (e *Engine) fresh(ctx context.Context, id string, l *loaded, err error) (ok bool, _ error) {
	si, lerr := e.store.Load(ctx, id) // a panic is the caller's to recover, as for its own load
	if lerr != nil {
		e.cache.drop(id)
		return false, fmt.Errorf("engine: %w", lerr)
	}
	if si.Version == l.stored.Version && bytes.Equal(si.Data, l.stored.Data) {
		return false, err
	}
	e.cache.drop(id)
	next, lerr := decodeStored(si)
	if lerr != nil {
		return false, lerr
	}
	*l = next
	e.cache.put(id, l)
	return true, nil
}

// apply runs the interpreter and checks the new state against the state
// limit. A state the codec could not write for its size is reported as a
// *TooLargeError, not as the corruption the interpreter calls it.
func (e *Engine) apply(def *dsl.Definition, state []byte, meta interp.Meta, ev interp.Event, id string) (interp.Result, error) {
	var res interp.Result
	err := e.applyInto(def, state, &meta, &ev, id, &res, nil)
	return res, err
}

// scratches are the interpreter's memory for transitions whose effects
// are done with (encoded for the outbox, handed to the hot path,
// reported) before they return it: its buffers were a third of the bytes
// a transition allocated. They are shared by every engine of the process
// (the simulator makes an engine per host and restart).
var scratches = sync.Pool{New: func() any { return new(interp.Scratch) }}

// getScratch returns a scratch from scratches; putScratch returns it.
func getScratch() *interp.Scratch   { return scratches.Get().(*interp.Scratch) }
func putScratch(sc *interp.Scratch) { scratches.Put(sc) }

// applyInto is apply into *res (large), with the meta and event by
// pointer: a transition's attempt writes its result in place. With a
// scratch sc (from getScratch), res's effects live in it.
func (e *Engine) applyInto(def *dsl.Definition, state []byte, meta *interp.Meta, ev *interp.Event, id string, res *interp.Result, sc *interp.Scratch) (err error) {
	if *res, err = interp.ApplyWith(sc, def, state, *meta, *ev); err != nil {
		*res = interp.Result{}
		if !errors.Is(err, interp.ErrRejected) { // a handler's reply too large is the handler's error
			if tl := tooLarge(id, "state", err); tl != nil {
				return tl
			}
		}
		return eventError(ev.Kind, id, err)
	}
	if err := e.checkSize(id, res.State); err != nil {
		*res = interp.Result{}
		return err
	}
	return nil
}

// conflictPause waits a short random time before retry number try (from
// 1) after a conflict, up to a limit that doubles from 200µs to
// maxConflictPause, so that processes racing for one instance stop colliding
// (unless none: see WithoutConflictPause). It
// is a real-time wait whatever the engine's clock: it spaces out work, it
// does not measure workflow time.
func conflictPause(ctx context.Context, try int, none bool) error {
	if none {
		return ctx.Err()
	}
	limit := maxConflictPause
	if try < 8 {
		limit = min(limit, 200*time.Microsecond<<(try-1)) // doubling from 200µs
	}
	t := time.NewTimer(rand.N(limit))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// encode turns an accepted result into what the store keeps: the record
// (with the status and due time the store indexes) and the outbox entries.
// host is the engine's own data for the instance (see hostData). It also
// returns the record unencoded.
func encode(id, workflow string, res *interp.Result, host []byte, end bool) (storage.Instance, codec.Record, []storage.Effect, error) {
	var buf [2]outbox.Entry
	inst, rec, effects, _, err := encodeEntries(id, workflow, res, host, buf[:0], end)
	return inst, rec, effects, err
}

// encodeEntries is encode that also returns the outbox entries of the
// effects, appended to entries (a buffer), as outboxEntries does (end is
// its).
func encodeEntries(id, workflow string, res *interp.Result, host []byte, entries []outbox.Entry, end bool) (storage.Instance, codec.Record, []storage.Effect, []outbox.Entry, error) {
	// The meta is written straight into the record (interp.AppendMeta
	// writes only a meta within the decode limits; for one beyond them,
	// EncodeRecord of EncodeMeta's bytes says what is wrong).
	data, meta, ok, err := codec.EncodeRecordMeta(workflow, res.State, interp.MetaSize(&res.Meta),
		func(b []byte) ([]byte, bool) { return interp.AppendMeta(b, &res.Meta) }, host)
	if !ok {
		meta = interp.EncodeMeta(res.Meta)
		data, err = codec.EncodeRecord(codec.Record{Workflow: workflow, State: res.State, Meta: meta, Host: host})
	}
	rec := codec.Record{Format: codec.Format, Workflow: workflow, State: res.State, Meta: meta, Host: host}
	if err != nil {
		if tl := tooLarge(id, "record", err); tl != nil {
			return storage.Instance{}, codec.Record{}, nil, nil, tl
		}
		return storage.Instance{}, codec.Record{}, nil, nil, opErr("", "", id, err)
	}
	effects, entries, err := outboxEntries(id, workflow, res.Effects, host, entries, end)
	if err != nil {
		if tl := tooLarge(id, "effect", err); tl != nil {
			return storage.Instance{}, codec.Record{}, nil, nil, tl
		}
		return storage.Instance{}, codec.Record{}, nil, nil, err
	}
	inst := storage.Instance{
		ID:       id,
		Workflow: workflow,
		Status:   res.Meta.Status.String(),
		Due:      storableDue(res.Meta.Due),
		Data:     data,
	}
	return inst, rec, effects, entries, nil
}

// epoch is the earliest due time a store accepts.
var epoch = time.Unix(0, 0).UTC()

// storableDue clamps a due time before the Unix epoch (an At timer computed
// from a zero time, say) to the epoch: it is due at once either way.
func storableDue(t time.Time) time.Time {
	if !t.IsZero() && t.Before(epoch) {
		return epoch
	}
	return t
}

// checkID reports whether id can name an instance.
func checkID(id string) error {
	if id == "" || len(id) > MaxIDLen {
		return fmt.Errorf("%w: %d bytes, want 1 to %d", ErrInvalidID, len(id), MaxIDLen)
	}
	return nil
}

// registered returns the definition registered under def's name, which
// must be def itself.
func (e *Engine) registered(def *dsl.Definition) error {
	if def == nil {
		return fmt.Errorf("%w: nil definition", ErrUnregistered)
	}
	got := e.definition(def.Name())
	if got == nil {
		return fmt.Errorf("%w: %q", ErrUnregistered, def.Name())
	}
	if got != def {
		return fmt.Errorf("%w: another definition is registered as %q", ErrUnregistered, def.Name())
	}
	return nil
}

// notDueError is interp's refusal of a Resume with nothing due, with the
// same text, made without calling Apply; the text is built when read.
type notDueError struct {
	at time.Time
	id string
}

func (e *notDueError) Error() string {
	return fmt.Sprintf("%v: nothing is due at %v for instance %q", interp.ErrNotDue, e.at, e.id)
}

func (e *notDueError) Unwrap() error { return interp.ErrNotDue }
