package simulate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// instanceID is the simulated instance's ID.
const instanceID = "sim"

// Violation is an invariant the simulator found broken.
type Violation struct {
	Invariant string // "determinism", "crash equivalence", ...
	Path      string // where in the definition, when known
	Detail    string
}

// Error names the invariant, the path and the details.
func (v *Violation) Error() string {
	s := "invariant broken: " + v.Invariant
	if v.Path != "" {
		s += fmt.Sprintf(" at %q", v.Path)
	}
	return s + "\n" + v.Detail
}

// Invariant names, as reported in a *Violation.
const (
	InvDeterminism    = "determinism"
	InvCrash          = "crash equivalence"
	InvLostEvent      = "no lost events"
	InvInventedEvent  = "no invented events"
	InvSetupTeardown  = "every setup torn down exactly once"
	InvEffects        = "effects dispatched and de-duplicated"
	InvPanic          = "no panics"
	InvUser           = "user invariant"
	InvLiveness       = "liveness"
	InvPositions      = "positions resolve after an upgrade"
	InvReplay         = "same seed, same end state"
	InvRejectedChange = "rejected events change nothing"
	InvDueIndex       = "due index"
	InvFencing        = "writes under a superseded lease are fenced"
	InvTerminate      = "terminate runs no workflow code and tears down every open setup"
)

// world is one simulated run: hosts (real engines) over one store, the
// effect receivers, and the model the store is checked against.
type world struct {
	opts  *config
	def   *dsl.Definition
	store storage.Store // the run's store, as the hosts share it
	clock *engine.FakeClock
	hosts []*simHost
	via   int // the host the next event goes through
	ctx   context.Context
	steps []step // what happened, for the replay
	trace []text // the same, in words

	// The model: the events the store applied, folded by the pure
	// interpreter. The stored record must equal the fold byte for byte.
	version uint64
	state   []byte
	meta    interp.Meta
	metaB   []byte
	// metaScratch is a buffer for metas encoded only to be compared
	// (encodesTo).
	metaScratch []byte
	applied     int
	history     []delivered // accepted callbacks, for duplicates
	effects     map[string]interp.Effect

	// The receivers: effects performed, by ID.
	performed map[string]int
	// performedAt holds, per effect ID, faults at its last performance,
	// or staleHost if a stalled host performed it past its lease.
	performedAt map[string]int
	acked       map[string]bool     // effects a host acknowledged
	setups      map[uint64]string   // callback -> setup effect ID
	teardowns   map[uint64][]string // callback -> distinct teardown effect IDs
	// activity holds the attempts of activities the instance waited for
	// when it was loaded into the simulator (Verify): their effects are in
	// another store's outbox, so the simulator delivers their results.
	activity map[uint64]engine.EffectInfo
	// children are the children the instance started, by the callback
	// that waits for each (child.go).
	children map[uint64]*simChild

	disp    *dispatching // the dispatch under way, if any
	dispBuf dispatching  // what disp points to
	faults  int          // host crashes during a dispatch, and pauses: effects may be performed again
	token   uint64       // the highest fence token a host obtained

	crashes     int    // simulated crashes so far
	dueCrashes  int    // of which while the instance had something due
	invariantOK []byte // the last state Options.Invariant passed
	lastData    []byte // the record loaded last, and decoded
	lastRec     codec.Record
	reports     *reportTB // where a failing run's report goes, in a Check
	explorer    *explorer // the Check's memory across runs, if any
	swarm       []kind    // the run's swarm configuration, for the report
	goal        string    // the run's goal, for the report

	// Coverage of this run: events caused and waiting positions reached
	// (nil maps: not counted).
	visits       map[eventKey]int
	reached      map[string]int
	pendingCache pendingCache
	journalLog   []journalWant    // the committed transitions, for InvJournal
	journalOK    []journalChecked // journal entries checked against journalLog, by index
	ons          struct {         // customOns' list for def
		def  *dsl.Definition
		list []dsl.Node
	}
	ret        retentionState // the list and gc actions (retention.go)
	failure    *Violation
	replayHint string // how to replay a failure, when not from a rapid test
}

type delivered struct {
	ev    interp.Event
	label text
}

func newWorld(def *dsl.Definition, opts *config) *world {
	var st storage.Store = memory.New()
	if opts.store != nil {
		st = opts.store(st)
	}
	w := &world{
		opts: opts, def: def, store: st, clock: engine.NewFakeClock(simStart),
		ctx: context.Background(), effects: map[string]interp.Effect{}, performed: map[string]int{}, performedAt: map[string]int{}, acked: map[string]bool{},
		setups: map[uint64]string{}, teardowns: map[uint64][]string{}, activity: map[uint64]engine.EffectInfo{},
		hosts: make([]*simHost, max(opts.hosts, 1)),
	}
	if b, ok := opts.buffers.Get().(*runBuffers); ok {
		w.steps, w.trace = b.steps, b.trace
	} else {
		w.steps = make([]step, 0, 32)
	}
	w.restart()
	return w
}

// runBuffers are the step and trace slices of a run that passed, emptied,
// for a later run of the same Check: a run's steps are a few hundred
// bytes each, and allocating them afresh for every run was 6% of the
// bytes a check allocates.
type runBuffers struct {
	steps []step
	trace []text
}

// release hands the world's step and trace slices to later runs. The
// world must not be used afterwards (a passed run's last act).
func (w *world) release() {
	clear(w.steps) // (nothing kept alive from this run)
	clear(w.trace)
	w.opts.buffers.Put(&runBuffers{steps: w.steps[:0], trace: w.trace[:0]})
	w.steps, w.trace = nil, nil
}

// restart replaces every host by a new one over the same store, as a
// deploy does; nothing in memory survives.
func (w *world) restart() {
	for i := range w.hosts {
		w.restartHost(i)
	}
}

// restartHost replaces host i by a new process over the same store, as a
// restart after a crash does.
func (w *world) restartHost(i int) {
	w.hosts[i] = newHost(i, w.def, w.opts, w.store, w.clock, w)
}

func (w *world) fail(inv, path, format string, args ...any) {
	if w.failure == nil {
		w.failure = &Violation{Invariant: inv, Path: path, Detail: fmt.Sprintf(format, args...)}
	}
}

func (w *world) say(format string, args ...any) {
	w.trace = append(w.trace, say(format, args...))
}

// load reads the committed record. A record byte for byte the one loaded
// last (most steps change nothing) is not decoded again.
func (w *world) load() (storage.Instance, codec.Record) {
	si, err := w.store.Load(w.ctx, instanceID)
	if err != nil {
		w.fail(InvCrash, "", "the instance cannot be loaded: %v", err)
		return si, codec.Record{}
	}
	if w.lastData != nil && bytes.Equal(si.Data, w.lastData) {
		return si, w.lastRec
	}
	rec, err := codec.DecodeRecordAliasing(si.Data) // (si.Data is a copy of our own, kept unchanged as lastData)
	if err == nil {
		w.lastData, w.lastRec = si.Data, rec
	}
	if err != nil {
		w.fail(InvCrash, "", "the stored record does not decode: %v", err)
	}
	return si, rec
}

// storedMeta decodes a stored record's meta; the model's meta when the
// bytes are the model's (the common case: no decoding).
func (w *world) storedMeta(rec codec.Record) interp.Meta {
	if bytes.Equal(rec.Meta, w.metaB) {
		return w.meta
	}
	m, err := interp.DecodeMeta(rec.Meta)
	if err != nil {
		w.fail(InvCrash, "", "the stored meta does not decode: %v", err)
	}
	return m
}

// record notes in the run's last step what the store holds after it, for
// the replay to compare with.
func (w *world) record(si storage.Instance) {
	st := &w.steps[len(w.steps)-1]
	st.Version, st.Stored, st.Checked = si.Version, si.Data, true
}

// start begins the instance with input.
func (w *world) start(input any) {
	b, err := codec.Marshal(input)
	if err != nil {
		panic(fmt.Sprintf("simulate: the start state does not encode: %v", err))
	}
	ev := interp.Event{Kind: interp.EventStart, Time: w.clock.Now(), Instance: instanceID}
	if err := w.hosts[0].api.Start(w.ctx, w.def, instanceID, input); err != nil {
		if _, lerr := w.store.Load(w.ctx, instanceID); lerr == nil {
			w.fail(InvRejectedChange, "", "the host rejected the start (%v) but the store created the instance", err)
			return
		}
		w.fail(InvLiveness, "", "the instance does not start: %v", err)
		return
	}
	w.steps = append(w.steps, step{Kind: stepStart, Input: b})
	w.say("start with %+v", input)
	w.fold(b, ev, nil)
	w.version = 1
	si, rec := w.load()
	if w.failure == nil {
		w.record(si)
		w.compareWith(si, rec, nil, true)
	}
}

// fold applies ev to the model and keeps the result; state is the state to
// apply it to. The interpreter must be a function: when the host answered
// (host.ok), its transition was one application of ev to the same state
// and meta, and the model's is a second one, compared with it by
// compareWith and checkHostEffects; otherwise (the start, or a host that
// crashed) fold applies ev twice and compares.
func (w *world) fold(state []byte, ev interp.Event, host *hostAnswer) (interp.Result, bool) {
	return w.foldFrom(state, ev, host, nil)
}

// appliedOnce is one application of an event to the model's state and meta,
// made before fold (see committed).
type appliedOnce struct {
	res interp.Result
	err error
}

// foldFrom is fold with the first of its applications already made, when
// first is not nil: first must be interp.Apply of ev to state and the
// model's meta, with the same definition. The second application (or
// the host's, see fold) is compared with it as with one fold makes.
func (w *world) foldFrom(state []byte, ev interp.Event, host *hostAnswer, first *appliedOnce) (interp.Result, bool) {
	var r1 interp.Result
	var err1 error
	if first != nil {
		r1, err1 = first.res, first.err
	} else {
		r1, err1 = interp.Apply(w.def, state, w.meta, ev)
	}
	second := host == nil || !host.ok
	var r2 interp.Result
	err2 := err1
	if second {
		r2, err2 = interp.Apply(w.def, state, w.meta, ev)
	}
	switch {
	case (err1 == nil) != (err2 == nil):
		w.fail(InvDeterminism, w.where(), "%s\nApplied twice to the same state and meta, the %s event was accepted once and rejected once: %v / %v",
			hiddenInputNote, ev.Kind, err1, err2)
		return r1, false
	case err1 != nil && (host != nil && host.ok || w.crashes == 0):
		// The host's interpreter accepted what ours rejects, from the same
		// state: the answer depends on something outside the inputs.
		w.fail(InvDeterminism, w.where(), "%s\nThe host accepted and committed the %s event; applied again to the same state and meta it is rejected: %v",
			hiddenInputNote, ev.Kind, err1)
		return r1, false
	case err1 != nil:
		w.fail(InvInventedEvent, w.where(), "the store applied %s, which the interpreter rejects: %v / %v", ev.Kind, err1, err2)
		return r1, false
	}
	m1 := interp.EncodeMeta(r1.Meta)
	if second && (!bytes.Equal(r1.State, r2.State) || !w.encodesTo(&r2.Meta, m1) || !effectsEqual(r1.Effects, r2.Effects)) {
		path := w.changedPath(r1.Meta)
		if bytes.Equal(r1.State, r2.State) && w.encodesTo(&r2.Meta, m1) {
			path = effectsPath(r1.Effects, r2.Effects)
		}
		w.fail(InvDeterminism, path, "%s\nIn this run, the same (state, meta, %s event) gave different results (-first +second):\n%s%s%s",
			hiddenInputNote, ev.Kind, w.stateDiff(r1.State, r2.State), metaDiff(r1.Meta, r2.Meta), w.effectsDiffIf(r1.Effects, r2.Effects))
		return r1, false
	}
	for _, e := range r1.Effects {
		id := e.ID.String()
		if _, dup := w.effects[id]; dup {
			w.fail(InvEffects, e.Path, "effect ID %s was issued twice", id)
		}
		if outbox.Kept(e.Kind) && !(w.opts.noEnds && outbox.Ends(e.Kind)) { // (the model's instance has no parent)
			w.effects[id] = e
		}
	}
	if ev.Kind == interp.EventTerminate {
		w.checkTerminate(state, ev, r1)
	}
	w.countChildEnd(w.meta, ev)
	w.observe(w.meta, ev, r1.Meta)
	w.noteEnd(ev, r1.Meta)
	w.logTransition(ev, r1)
	w.state, w.meta, w.metaB = r1.State, r1.Meta, m1
	w.applied++
	if f := r1.Meta.Failure; f != nil && f.Panic {
		w.fail(InvPanic, f.Path, "user code panicked: %s", f.Message)
	}
	return r1, true
}

// encodesTo reports whether m encodes to b (interp.EncodeMeta), encoding
// it into a buffer of w's rather than a new one.
func (w *world) encodesTo(m *interp.Meta, b []byte) bool {
	var fits bool
	if w.metaScratch, fits = interp.AppendMeta(w.metaScratch[:0], m); !fits {
		return bytes.Equal(interp.EncodeMeta(*m), b)
	}
	return bytes.Equal(w.metaScratch, b)
}

func (w *world) effectsDiffIf(a, b []interp.Effect) string {
	if effectsEqual(a, b) {
		return ""
	}
	return effectsDiff(a, b)
}

// compareWith checks the stored instance against the model; host is the
// host's answer to the event just applied, if any, and committed says
// whether the step committed.
func (w *world) compareWith(si storage.Instance, rec codec.Record, host *hostAnswer, committed bool) {
	if si.Version != w.version {
		w.fail(InvCrash, "", "the store is at version %d, the model at %d", si.Version, w.version)
		return
	}
	if !bytes.Equal(rec.State, w.state) || !bytes.Equal(rec.Meta, w.metaB) {
		m := w.storedMeta(rec)
		if w.hiddenInput(host, rec) {
			w.fail(InvDeterminism, w.where(), "%s\nThe host committed one result and the model, applying the same event to the same state and meta, computed another (-model +stored):\n%s%s",
				hiddenInputNote, w.stateDiff(w.state, rec.State), metaDiff(w.meta, m))
			return
		}
		w.fail(InvCrash, w.where(), "the stored instance differs from the accepted events replayed without crashes (-replayed +stored):\n%s%s",
			w.stateDiff(w.state, rec.State), metaDiff(w.meta, m))
		return
	}
	// The stored meta is the model's. Until its next event migrates it, an
	// instance written by an older version holds the older state type: the
	// invariant waits for that. A state the invariant passed already is
	// not checked again.
	if w.opts.invariant != nil && int(max(w.meta.Version, 1)) == w.def.Version() && !bytes.Equal(rec.State, w.invariantOK) {
		s, err := w.decodeState(rec.State)
		if err == nil {
			err = w.opts.invariant(s)
		}
		if err != nil {
			w.fail(InvUser, w.where(), "%v\nstate: %+v", err, s)
		} else {
			w.invariantOK = rec.State
		}
	}
	w.checkDue(si, w.meta, committed, "after this step")
}

// apply sends ev through the host, arming crash first, and checks what the
// store did against what the host said.
func (w *world) apply(ev interp.Event, crash crashPoint, label text) (applied bool, err error) {
	ev.Time = w.clock.Now()
	via := w.via
	h := w.hosts[via]
	w.steps = append(w.steps, step{Kind: stepEvent, Event: ev, Crash: crash, Label: label, Host: via})
	h.store.armed, h.store.fired = crash, noCrash
	res, err := h.api.Apply(w.ctx, instanceID, ev)
	h.store.armed = noCrash
	si, rec := w.load()
	if w.failure != nil {
		return false, err
	}
	w.record(si)
	applied = si.Version == w.version+1
	crashed := h.store.fired != noCrash
	w.trace = append(w.trace, lazily(&eventLine{label: label, host: via, hosts: len(w.hosts), crashed: crashed, fired: h.store.fired, applied: applied, err: err}))
	switch {
	case si.Version != w.version && !applied:
		w.fail(InvInventedEvent, "", "the store version jumped from %d to %d on one event", w.version, si.Version)
	case err == nil && !applied:
		w.fail(InvLostEvent, w.where(), "the host acknowledged %q but the store does not have it", label.String())
	case err != nil && !crashed && !errors.Is(err, ErrCrash) && applied:
		w.fail(InvRejectedChange, w.where(), "the host rejected %q (%v) but the store applied it", label.String(), err)
	}
	if err != nil { // (pe escapes: declared here, it costs an allocation only for errors)
		var pe *interp.PanicError
		if errors.As(err, &pe) {
			w.fail(InvPanic, pe.Path, "an event handler panicked while handling %q: %v", label.String(), pe.Value)
		}
	}
	var host *hostAnswer
	var modelEffects []interp.Effect
	if applied {
		host = &hostAnswer{res: res, ok: err == nil && !crashed}
		w.version++
		if r, ok := w.fold(w.state, ev, host); ok {
			modelEffects = r.Effects
			if host.ok {
				w.steps[len(w.steps)-1].Effects = r.Effects // a fresh slice from Apply
			}
		}
		if ev.Kind == interp.EventCallback {
			w.history = append(w.history, delivered{ev: ev, label: label})
		}
	}
	if crashed || errors.Is(err, ErrCrash) {
		w.crash(via)
	}
	if w.failure == nil && applied && host.ok && ev.Kind == interp.EventTerminate {
		w.checkTerminateStored(rec)
	}
	if w.failure == nil {
		w.compareWith(si, rec, host, applied) // the crash changed nothing in the store
	}
	if applied {
		w.checkHostEffects(host, modelEffects)
	}
	return applied, err
}

// eventLine is the trace line of an event a host was given, formatted
// only when a report shows it (one allocation per event, where the parts
// made as texts took three or four).
type eventLine struct {
	label   text
	host    int
	hosts   int
	crashed bool
	fired   crashPoint
	applied bool
	err     error
}

func (l *eventLine) String() string {
	outcome := "accepted"
	switch {
	case l.crashed && l.applied:
		outcome = fmt.Sprintf("the host crashed %s; the store applied it", l.fired)
	case l.crashed:
		outcome = fmt.Sprintf("the host crashed %s; the store did not apply it", l.fired)
	case l.err != nil:
		outcome = "rejected: " + short(l.err)
	}
	if l.hosts > 1 {
		outcome = fmt.Sprintf("host %d: ", l.host) + outcome
	}
	return l.label.String() + ": " + outcome
}

// crashBetween crashes host i between events (why says why, for the
// trace), and records it for the replay, which crashes its host i there
// too.
func (w *world) crashBetween(i int, why string) {
	w.steps = append(w.steps, step{Kind: stepRestart, Host: i})
	w.say("host %d restarts %s", i, why)
	w.crash(i)
}

// crash loses everything host i had in memory: it restarts over the store.
func (w *world) crash(i int) {
	w.crashes++
	if !w.meta.Due.IsZero() {
		w.dueCrashes++
	}
	crashStore(w.store)
	w.restartHost(i)
	if w.failure == nil {
		si, rec := w.load()
		if m := w.storedMeta(rec); w.failure == nil {
			w.checkDue(si, m, true, "after the crash")
		}
	}
	if w.failure == nil {
		w.checkOutboxKept("after the crash")
	}
}

// checkOutboxKept checks, after a crash and before a GC (when, for the
// report), that every effect the model's instance committed and no host
// acknowledged is still in the store: in the outbox or among the dead
// letters. A store that loses outbox entries is caught there, rather than
// by whatever later trips over the loss (a GC deleting the instance,
// which would otherwise be reported as the GC's fault).
func (w *world) checkOutboxKept(when string) {
	kept := map[string]bool{}
	out, err := w.store.Outbox(w.ctx, 1000)
	if err != nil {
		w.fail(InvEffects, "", "%s the outbox cannot be read: %v", when, err)
		return
	}
	dead, err := w.store.DeadLetters(w.ctx, "", 1000)
	if err != nil {
		w.fail(InvEffects, "", "%s the dead letters cannot be read: %v", when, err)
		return
	}
	for _, e := range append(out, dead...) {
		if e.Instance == instanceID {
			kept[e.ID] = true
		}
	}
	var lost []string
	for id, e := range w.effects {
		if !w.acked[id] && !kept[id] {
			lost = append(lost, fmt.Sprintf("%s (%s at %q)", id, e.Kind, e.Path))
		}
	}
	if len(lost) > 0 {
		sort.Strings(lost)
		w.fail(InvEffects, "", "%s the store no longer holds effects no host acknowledged: %s", when, strings.Join(lost, ", "))
	}
}

// current is the model's meta as the current definition sees it: after a
// deploy, the engine migrates an instance at its next event, so pending
// callbacks and runnable threads are those of the migrated meta.
func (w *world) current() interp.Meta {
	if int(w.meta.Version) >= w.def.Version() || w.meta.Status.Finished() {
		return w.meta
	}
	up, err := interp.Upgrade(w.def, w.state, w.meta)
	if err != nil {
		return w.meta
	}
	return up.Meta
}

// waitsFor reports whether the model's instance waits for callback.
func (w *world) waitsFor(callback uint64) bool {
	for _, th := range w.current().Threads {
		for _, p := range th.Waits {
			if p.Callback == callback {
				return true
			}
		}
	}
	return false
}

// finalChecks runs once the liveness phase is over and the outbox drained.
func (w *world) finalChecks() {
	w.missingEffects()
	if w.failure == nil {
		w.finalWork()
	}
	if w.failure == nil {
		w.checkJournal()
	}
	if w.failure != nil {
		return
	}
	if w.meta.Status.Finished() {
		if w.checkChildren(); w.failure != nil {
			return
		}
		for cb, id := range w.setups {
			if len(w.teardowns[cb]) != 1 {
				w.fail(InvSetupTeardown, "", "setup %s of callback %d was torn down %d times by the end", id, cb, len(w.teardowns[cb]))
				return
			}
		}
	}
}

// missingEffects checks that every effect the accepted transitions
// emitted was acknowledged by a host (called after the outbox was
// drained), and that the effect of every activity still awaited is still
// in the outbox: it is acknowledged only once the activity's result is in.
func (w *world) missingEffects() {
	out, err := w.store.Outbox(w.ctx, 1000)
	if err != nil {
		w.fail(InvEffects, "", "the outbox cannot be read: %v", err)
		return
	}
	inOutbox := map[uint64]bool{}
	for _, se := range out {
		if oe, err := outbox.Decode(se); err == nil && oe.Kind == interp.EffectRunActivity {
			inOutbox[oe.Callback] = true
		}
	}
	for _, th := range w.current().Threads {
		for _, p := range th.Waits {
			if p.Kind != interp.Activity {
				continue
			}
			if _, ok := w.activity[p.Callback]; !ok && !inOutbox[p.Callback] {
				w.fail(InvEffects, th.Path, "the run-activity effect of callback %d left the outbox before its result was delivered: the activity will never run again", p.Callback)
				return
			}
		}
	}
	var missing []string
	for id, e := range w.effects {
		if !w.acked[id] && !(e.Kind == interp.EffectRunActivity && inOutbox[e.Callback]) {
			missing = append(missing, fmt.Sprintf("%s (%s at %q)", id, e.Kind, e.Path))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		w.fail(InvEffects, "", "committed effects never dispatched: %s", strings.Join(missing, ", "))
	}
}

// decodeState decodes state bytes into a new *S.
func (w *world) decodeState(b []byte) (any, error) {
	s := reflect.New(w.def.StateType())
	err := decode.Into("state", b, s.Interface())
	return s.Interface(), err
}

func (w *world) stateDiff(a, b []byte) string {
	sa, errA := w.decodeState(a)
	sb, errB := w.decodeState(b)
	if errA != nil || errB != nil {
		return fmt.Sprintf("state bytes %x vs %x\n", a, b)
	}
	if d := cmp.Diff(sa, sb); d != "" {
		return "state:\n" + d
	}
	if !bytes.Equal(a, b) {
		return fmt.Sprintf("state: equal values, different bytes %x vs %x\n", a, b)
	}
	return ""
}

func metaDiff(a, b interp.Meta) string {
	if d := cmp.Diff(a, b); d != "" {
		return "meta:\n" + d
	}
	return ""
}

// where names the positions of the model's threads, for reports.
func (w *world) where() string {
	var ps []string
	for _, th := range w.meta.Threads {
		ps = append(ps, th.Path)
	}
	return strings.Join(ps, ", ")
}

func (w *world) changedPath(m interp.Meta) string {
	var ps []string
	for _, th := range m.Threads {
		ps = append(ps, th.Path)
	}
	if len(ps) == 0 && m.Failure != nil {
		return m.Failure.Path
	}
	return strings.Join(ps, ", ")
}

// joined shows effect kinds as a list when formatted.
type joined []interp.EffectKind

func (j joined) String() string {
	s := make([]string, len(j))
	for i, k := range j {
		s[i] = k.String()
	}
	return strings.Join(s, ", ")
}

// shortError shows an error as short does, when formatted.
type shortError struct{ err error }

func (e shortError) String() string { return short(e.err) }

// short is the last part of an error chain, for trace lines.
func short(err error) string {
	var ce *interp.CallbackError
	if errors.As(err, &ce) {
		if ce.Err != nil {
			return ce.Reason.Error() + ": " + ce.Err.Error()
		}
		return ce.Reason.Error()
	}
	return err.Error()
}
