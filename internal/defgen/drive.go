package defgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/activity"
	"github.com/weftflow/weft/interp"
	"pgregory.net/rapid"
)

// sentinels are the documented errors of interp.Apply, by name.
var sentinels = []struct {
	name string
	err  error
}{
	{"unknown callback", interp.ErrUnknownCallback},
	{"duplicate callback", interp.ErrDuplicateCallback},
	{"stale callback", interp.ErrStaleCallback},
	{"not due", interp.ErrNotDue},
	{"rejected", interp.ErrRejected},
	{"finished", interp.ErrFinished},
	{"position lost", interp.ErrPositionLost},
	{"bad event", interp.ErrBadEvent},
	{"corrupt", interp.ErrCorrupt},
	{"migration", interp.ErrMigration},
	{"inbox full", interp.ErrInboxFull},
	{"unknown event", interp.ErrUnknownEvent},
}

// inboxLimit is the inbox limit of the runner's Signal events: small, so
// that full inboxes happen.
const inboxLimit = 3

// CheckInterp drives d through interp.Apply directly, with a random
// sequence of events drawn from what the meta says is pending: the start;
// resumes when due and too early; callbacks for pending timers (on time and
// early), custom events (payloads accepted, rejected and undecodable) and
// activities (the real result, a drawn one, an error, an undecodable one);
// duplicate, stale and unknown callbacks; a second start; cancel; a deploy
// of the same definition as version 2; and an event after the end. It fails t if any transition breaks one of these:
//
//   - Apply never panics (the panic is reported with the definition);
//   - every meta it returns resolves in the definition (interp.Resolve),
//     and interp.Upgrade to the same version leaves the instance as it is;
//   - every error is the documented sentinel for what was sent;
//   - Apply is deterministic (the same input twice gives identical bytes)
//     and leaves its inputs alone;
//   - the meta's hand-written encoding equals the generic codec's and
//     decodes back to the same meta; the state decodes and re-encodes to the
//     same bytes;
//   - a transition runs at most the budget's statements, yields (ResumeAt,
//     Meta.Yielded, Meta.Due now) exactly when it spent it all and left a
//     thread runnable, and a runnable thread always has Meta.Due by now;
//   - effect IDs are unique and numbered by transition and index;
//   - every setup is torn down exactly once, when its wait resolves or the
//     instance ends; timers and activities are cancelled only while pending;
//   - threads are sorted, at most [MaxThreads] live, and a finished instance
//     has none, no due time and exactly one finishing effect.
//
// It returns what the run covered.
func CheckInterp(t *rapid.T, d *Def) Stats {
	r := &runner{t: t, d: d, def: d.Definition, now: Epoch, seen: map[interp.EffectID]bool{},
		setups: map[uint64]bool{}, timers: map[uint64]bool{}, activities: map[uint64][]byte{},
		issued: map[uint64]bool{}, events: map[string]*event{}}
	r.index(d.main)
	r.index(d.cancel)
	r.stats.Add(d.Static)
	r.run()
	r.stats.Runs = 1
	if r.stats.MaxLive >= 5 {
		r.stats.RunsFive = 1
	}
	return r.stats
}

type runner struct {
	t     *rapid.T
	d     *Def
	def   *dsl.Definition // d's definition, or the same as version 2 after a deploy
	state []byte
	meta  interp.Meta
	now   time.Time
	trace []string
	stats Stats

	seen       map[interp.EffectID]bool
	setups     map[uint64]bool   // setups emitted and not torn down
	timers     map[uint64]bool   // timers started, not cancelled, still pending
	activities map[uint64][]byte // activity attempts pending, with their input
	issued     map[uint64]bool   // every callback ID seen pending
	events     map[string]*event // every event of the definition, by name

	scratch             interp.Scratch // ApplyWith's, for the whole run
	last                *interp.Result // ApplyWith's last accepted result
	lastState, lastMeta []byte         // its state and encoded meta when returned
}

func (r *runner) index(ss []*stmt) {
	for _, s := range ss {
		for _, e := range s.events {
			r.events[e.name] = e
			r.index(e.body)
		}
		for _, a := range s.arms {
			r.index(a.body)
		}
		r.index(s.body)
	}
}

func (r *runner) fatalf(format string, args ...any) {
	r.t.Helper()
	state := "zero"
	if len(r.state) > 0 {
		var s State
		if err := codec.Unmarshal(r.state, &s); err != nil {
			state = fmt.Sprintf("undecodable (%v)", err)
		} else {
			state = s.String()
		}
	}
	r.t.Fatalf("%s\n\ndefinition:\n%s\ntrace (accepted transitions and errors):\n  %s\nstate before: %s\nmeta before: %+v",
		fmt.Sprintf(format, args...), r.d.Source(), strings.Join(r.trace, "\n  "), state, r.meta)
}

type pendingWait struct {
	thread string
	p      interp.Pending
}

func (r *runner) pendings() []pendingWait {
	var out []pendingWait
	for _, th := range r.meta.Threads {
		for _, p := range th.Waits {
			out = append(out, pendingWait{th.ID, p})
		}
	}
	return out
}

func (r *runner) run() {
	var init []byte
	if rapid.Bool().Draw(r.t, "initial state") {
		s := State{}
		for i := range s.C {
			s.C[i] = rapid.IntRange(-2, 9).Draw(r.t, "C")
		}
		s.F[0] = rapid.Bool().Draw(r.t, "F0")
		var err error
		if init, err = codec.Marshal(s); err != nil {
			r.fatalf("encode the initial state: %v", err)
		}
	}
	r.state = init
	r.apply("start", interp.Event{Kind: interp.EventStart, Instance: "gen-1"}, nil)
	steps := rapid.IntRange(30, 150).Draw(r.t, "steps")
	for range steps {
		if r.meta.Status.Finished() || (len(r.pendings()) == 0 && r.meta.Due.IsZero() && chance(r.t, "stop when stuck", 80)) {
			break // ended, or stuck (a WaitFor or Join that never holds)
		}
		r.step()
	}
	if r.meta.Status.Finished() {
		r.stats.Finished = map[string]int{r.meta.Status.String(): 1}
		kind := rapid.SampledFrom([]interp.EventKind{interp.EventResume, interp.EventCallback, interp.EventCancel, interp.EventStart}).Draw(r.t, "after the end")
		want := interp.ErrFinished
		if kind == interp.EventStart {
			want = interp.ErrBadEvent
		}
		r.apply("event after the end", interp.Event{Kind: kind, Callback: 1}, want)
	}
}

func (r *runner) step() {
	pend := r.pendings()
	var acts []string
	if len(pend) > 0 {
		acts = append(acts, "callback", "callback")
	}
	if !r.meta.Due.IsZero() {
		acts = append(acts, "resume when due", "resume when due")
	}
	acts = append(acts, "resume now", "advance clock", "unknown callback")
	if len(r.events) > 0 {
		acts = append(acts, "signal")
	}
	if chance(r.t, "rare action", 5) {
		acts = append(acts, "cancel", "start again")
		if r.def == r.d.Definition {
			acts = append(acts, "deploy version 2")
		}
	}
	var old []uint64
	for id := range r.issued {
		if !slices.ContainsFunc(pend, func(w pendingWait) bool { return w.p.Callback == id }) {
			old = append(old, id)
		}
	}
	slices.Sort(old)
	if len(old) > 0 {
		acts = append(acts, "old callback")
	}
	act := rapid.SampledFrom(acts).Draw(r.t, "action")
	if r.stats.Actions == nil {
		r.stats.Actions = map[string]int{}
	}
	r.stats.Actions[act]++
	switch act {
	case "callback":
		r.callback(rapid.SampledFrom(pend).Draw(r.t, "pending"))
	case "resume when due":
		if due := r.meta.Due; due.After(r.now) {
			r.now = due
		}
		r.apply("resume when due", interp.Event{Kind: interp.EventResume}, nil)
	case "resume now":
		var want error = interp.ErrNotDue
		if (!r.meta.Due.IsZero() && !r.meta.Due.After(r.now)) || int(max(r.meta.Version, 1)) < r.def.Version() {
			want = nil // something is due, or the resume only migrates the instance
		}
		r.apply("resume now", interp.Event{Kind: interp.EventResume}, want)
	case "advance clock":
		r.now = r.now.Add(rapid.SampledFrom([]time.Duration{time.Second, time.Minute, time.Hour, 26 * time.Hour}).Draw(r.t, "by"))
	case "unknown callback":
		id := r.meta.NextCallback + uint64(rapid.IntRange(1, 3).Draw(r.t, "beyond"))
		if chance(r.t, "zero id", 20) {
			id = 0
		}
		r.apply("unknown callback", interp.Event{Kind: interp.EventCallback, Callback: id, Payload: mustMarshal(1)}, interp.ErrUnknownCallback)
	case "old callback":
		id := rapid.SampledFrom(old).Draw(r.t, "old id")
		var want error = interp.ErrStaleCallback
		if slices.Contains(r.meta.Recent, id) {
			want = interp.ErrDuplicateCallback
		}
		r.apply("old callback", interp.Event{Kind: interp.EventCallback, Callback: id, Payload: mustMarshal(1)}, want)
	case "cancel":
		var want error
		if r.meta.Status == interp.StatusCanceling {
			want = interp.ErrBadEvent
		}
		r.apply("cancel", interp.Event{Kind: interp.EventCancel}, want)
	case "deploy version 2":
		// The same statements as a new version: the next event migrates
		// the instance with no migration to apply.
		up, err := r.d.Upgraded(2)
		if err != nil {
			r.fatalf("the same definition as version 2 does not compile: %v", err)
		}
		r.def = up
		r.trace = append(r.trace, "deploy the same definition as version 2")
	case "start again":
		r.apply("start again", interp.Event{Kind: interp.EventStart, Instance: "gen-1"}, interp.ErrBadEvent)
	case "signal":
		r.signal()
	}
}

// signal sends a custom event by name: to the first thread waiting for
// it, else to the inbox.
func (r *runner) signal() {
	var names []string
	for n, e := range r.events {
		if e.kind == KSignal || e.kind == KCustom || e.kind == KCustomSetup {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		names = append(names, "none") // only timers: a name no wait takes
	}
	slices.Sort(names)
	name := rapid.SampledFrom(names).Draw(r.t, "signal")
	if chance(r.t, "unknown name", 5) {
		name += "?"
	}
	ev := interp.Event{Kind: interp.EventSignal, Name: name, InboxLimit: inboxLimit}
	v := rapid.IntRange(-2, 15).Draw(r.t, "payload")
	ev.Payload = mustMarshal(v)
	label := fmt.Sprintf("signal %q", name)
	var want error
	switch e, cb := r.events[name], r.waitingFor(name); {
	case e == nil || e.kind == KAfter || e.kind == KAt:
		want = interp.ErrUnknownEvent
	case cb != 0:
		label += fmt.Sprintf(" (to callback %d)", cb)
		if v < e.reject || (e.panics && v == 13) {
			want = interp.ErrRejected
		}
	case len(r.meta.Inbox) >= inboxLimit:
		want = interp.ErrInboxFull
	default:
		label += " (buffered)"
	}
	r.apply(label, ev, want)
}

// waitingFor is the callback a Signal of the event named name answers: the
// first thread's, in ID order, that waits for it; 0 if none.
func (r *runner) waitingFor(name string) uint64 {
	for _, w := range r.pendings() {
		if w.p.Kind == interp.Custom && w.p.Event == name {
			return w.p.Callback
		}
	}
	return 0
}

func mustMarshal(v any) []byte {
	b, err := codec.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// undecodable is CBOR that does not decode into an int.
var undecodable = mustMarshal("not an int")

func (r *runner) callback(w pendingWait) {
	p := w.p
	ev := interp.Event{Kind: interp.EventCallback, Callback: p.Callback}
	label := fmt.Sprintf("callback %d (%s %q of thread %s)", p.Callback, p.Kind, p.Event, w.thread)
	switch p.Kind {
	case interp.Timer:
		at := p.At
		if rapid.IntRange(0, 3).Draw(r.t, "early") > 0 && at.After(r.now) {
			r.now = at
		}
		var want error
		if at.After(r.now) {
			want = interp.ErrNotDue
		}
		r.apply(label, ev, want)
	case interp.Custom:
		e := r.events[p.Event]
		if e == nil {
			r.fatalf("the meta has a pending custom event %q the definition does not have", p.Event)
		}
		var want error
		if chance(r.t, "undecodable", 15) {
			ev.Payload, want = undecodable, interp.ErrRejected
		} else {
			v := rapid.IntRange(-2, 15).Draw(r.t, "payload")
			ev.Payload = mustMarshal(v)
			if v < e.reject || (e.panics && v == 13) {
				want = interp.ErrRejected
			}
		}
		r.apply(label, ev, want)
	case interp.Activity:
		var want error
		switch rapid.IntRange(0, 4).Draw(r.t, "activity outcome") {
		case 0:
			ev.Error = "drawn failure"
		case 1:
			ev.Payload, want = undecodable, interp.ErrRejected
		case 2:
			ev.Payload = mustMarshal(rapid.IntRange(-5, 20).Draw(r.t, "result"))
		default:
			out, err := activity.Run(context.Background(), r.def, r.threadPath(w.thread), r.activities[p.Callback])
			if err != nil {
				ev.Error = err.Error()
			} else {
				ev.Payload = out
			}
		}
		r.apply(label, ev, want)
	}
}

func (r *runner) threadPath(id string) string {
	for _, th := range r.meta.Threads {
		if th.ID == id {
			return th.Path
		}
	}
	return ""
}

// apply sends ev twice, checks the two answers agree and, if want is nil,
// that the event was accepted, else that it failed with want.
func (r *runner) apply(label string, ev interp.Event, want error) {
	r.t.Helper()
	ev.Time = r.now
	stateBefore := bytes.Clone(r.state)
	metaBefore := interp.EncodeMeta(r.meta)
	spentBefore := r.d.spent.Load()
	res1, err1 := r.safeApply(label, ev, nil)
	spent := r.d.spent.Load() - spentBefore
	// The second time through ApplyWith, in the run's one Scratch: it
	// must answer as Apply does, however the calls before left it, and
	// only the effects of its last result may live in it.
	res2, err2 := r.safeApply(label, ev, &r.scratch)
	if !bytes.Equal(stateBefore, r.state) || !bytes.Equal(metaBefore, interp.EncodeMeta(r.meta)) {
		r.fatalf("%s: Apply modified its inputs", label)
	}
	if r.last != nil && (!bytes.Equal(r.last.State, r.lastState) || !bytes.Equal(interp.EncodeMeta(r.last.Meta), r.lastMeta)) {
		r.fatalf("%s: ApplyWith changed the state or meta of the result it returned before", label)
	}
	if err2 == nil {
		r.last, r.lastState, r.lastMeta = &res2, bytes.Clone(res2.State), interp.EncodeMeta(res2.Meta)
	}
	if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
		r.fatalf("%s: nondeterministic error: %v, then %v", label, err1, err2)
	}
	if err1 == nil {
		if !bytes.Equal(res1.State, res2.State) || !bytes.Equal(interp.EncodeMeta(res1.Meta), interp.EncodeMeta(res2.Meta)) ||
			!bytes.Equal(mustMarshal(res1.Effects), mustMarshal(res2.Effects)) {
			r.fatalf("%s: nondeterministic result (-first +second):\n%s", label, cmp.Diff(res1, res2))
		}
	}
	if err1 != nil {
		name := ""
		for _, s := range sentinels {
			if errors.Is(err1, s.err) {
				name = s.name
				break
			}
		}
		if name == "" {
			r.fatalf("%s: Apply returned an undocumented error: %v", label, err1)
		}
		if r.stats.Errors == nil {
			r.stats.Errors = map[string]int{}
		}
		r.stats.Errors[name]++
		r.trace = append(r.trace, fmt.Sprintf("%v %s: rejected: %v", ev.Time.Format(time.DateTime), label, err1))
		var ce *interp.CallbackError
		if ev.Kind == interp.EventCallback && name != "finished" && (!errors.As(err1, &ce) || ce.Callback != ev.Callback) {
			r.fatalf("%s: the error of a refused callback is not a *interp.CallbackError naming callback %d: %#v", label, ev.Callback, err1)
		}
		if want == nil {
			r.fatalf("%s: want it accepted, got %v", label, err1)
		}
		if !errors.Is(err1, want) {
			r.fatalf("%s: want %v, got %v", label, want, err1)
		}
		return
	}
	r.trace = append(r.trace, fmt.Sprintf("%v %s: accepted, %d effects, %d threads", ev.Time.Format(time.DateTime), label, len(res1.Effects), len(res1.Meta.Threads)))
	if want != nil {
		r.fatalf("%s: want %v, got it accepted", label, want)
	}
	r.accepted(label, ev, res1, spent)
}

// safeApply applies ev with Apply, or with ApplyWith in sc if sc is not nil.
func (r *runner) safeApply(label string, ev interp.Event, sc *interp.Scratch) (res interp.Result, err error) {
	r.t.Helper()
	if sc != nil {
		r.guard("interp.ApplyWith on "+label, func() { res, err = interp.ApplyWith(sc, r.def, r.state, r.meta, ev) })
		return res, err
	}
	r.guard("interp.Apply on "+label, func() { res, err = interp.Apply(r.def, r.state, r.meta, ev) })
	return res, err
}

// accepted checks the invariants of an accepted transition and adopts it.
func (r *runner) accepted(label string, ev interp.Event, res interp.Result, spent int64) {
	m := res.Meta
	if m.Seq != r.meta.Seq+1 {
		r.fatalf("%s: Seq went from %d to %d", label, r.meta.Seq, m.Seq)
	}
	// Codecs.
	enc := interp.EncodeMeta(m)
	if generic := mustMarshal(m); !bytes.Equal(enc, generic) {
		r.fatalf("%s: EncodeMeta differs from codec.Marshal of the meta:\n%x\n%x", label, enc, generic)
	}
	dec, err := interp.DecodeMeta(enc)
	if err != nil {
		r.fatalf("%s: DecodeMeta of an encoded meta: %v", label, err)
	}
	if diff := cmp.Diff(m, dec, cmpopts.EquateEmpty()); diff != "" {
		r.fatalf("%s: meta round trip (-encoded +decoded):\n%s", label, diff)
	}
	var s State
	if err := codec.Unmarshal(res.State, &s); err != nil {
		r.fatalf("%s: the new state does not decode: %v", label, err)
	}
	if again := mustMarshal(s); !bytes.Equal(again, res.State) {
		r.fatalf("%s: state round trip changed the bytes:\n%x\n%x", label, res.State, again)
	}
	// Budget.
	yielded := false
	for _, e := range res.Effects {
		if e.Kind == interp.EffectResumeAt && e.Thread == "" {
			yielded = true
		}
	}
	if spent > int64(r.d.Budget) {
		r.fatalf("%s: ran %d budgeted statements, budget %d", label, spent, r.d.Budget)
	}
	if yielded && (spent != int64(r.d.Budget) || m.Yielded == "" || m.Due.IsZero() || m.Due.After(ev.Time)) {
		r.fatalf("%s: yielded after %d of %d statements (Yielded %q, Due %v)", label, spent, r.d.Budget, m.Yielded, m.Due)
	}
	if !yielded && m.Yielded != "" {
		r.fatalf("%s: no yield, but Meta.Yielded is %q", label, m.Yielded)
	}
	// Effects.
	answered := ev.Callback // the callback the event answers, if any
	if ev.Kind == interp.EventSignal {
		answered = r.waitingFor(ev.Name)
	}
	buffered := 0 // events the inbox gained, and lost to a wait or a drop
	if ev.Kind == interp.EventSignal && answered == 0 {
		buffered = 1
	}
	inInbox := map[string]int{}
	for _, b := range r.meta.Inbox {
		inInbox[b.Event]++
	}
	if buffered == 1 {
		inInbox[ev.Name]++
	}
	taken, dropped := 0, 0
	finishing := 0
	replies := 0
	for i, e := range res.Effects {
		want := interp.EffectID{Instance: m.Instance, Seq: m.Seq, Index: uint32(i)}
		if e.ID != want || r.seen[e.ID] {
			r.fatalf("%s: effect %d (%s) has ID %v, want %v, unique", label, i, e.Kind, e.ID, want)
		}
		r.seen[e.ID] = true
		switch e.Kind {
		case interp.EffectSetup:
			if r.setups[e.Callback] {
				r.fatalf("%s: second setup of callback %d", label, e.Callback)
			}
			r.setups[e.Callback] = true
		case interp.EffectTeardown:
			if !r.setups[e.Callback] {
				r.fatalf("%s: teardown of callback %d, which has no setup standing", label, e.Callback)
			}
			delete(r.setups, e.Callback)
		case interp.EffectStartTimer:
			r.timers[e.Callback] = true
		case interp.EffectCancelTimer:
			if !r.timers[e.Callback] {
				r.fatalf("%s: cancel of timer %d, which is not pending", label, e.Callback)
			}
			delete(r.timers, e.Callback)
		case interp.EffectRunActivity:
			r.activities[e.Callback] = e.Data
		case interp.EffectCancelActivity:
			if _, ok := r.activities[e.Callback]; !ok {
				r.fatalf("%s: cancel of activity %d, which is not pending", label, e.Callback)
			}
			delete(r.activities, e.Callback)
		case interp.EffectReply:
			if e.Callback == answered {
				replies++
				break
			}
			// Else a wait took a buffered event as it opened.
			if inInbox[e.Event] == 0 {
				r.fatalf("%s: reply to callback %d (event %q), which neither this event nor a buffered one answers", label, e.Callback, e.Event)
			}
			inInbox[e.Event]--
			taken++
		case interp.EffectDropped:
			if inInbox[e.Event] == 0 {
				r.fatalf("%s: dropped event %q, which is not buffered", label, e.Event)
			}
			inInbox[e.Event]--
			dropped++
		case interp.EffectCompleted, interp.EffectFailed, interp.EffectCanceled:
			finishing++
		}
	}
	if answered != 0 && r.pendingKind(answered) == interp.Custom && replies != 1 {
		r.fatalf("%s: an accepted custom event gave %d replies", label, replies)
	}
	// No buffered event is lost or invented: the inbox holds what it held,
	// plus what was buffered, minus what waits took and what was dropped.
	if want := len(r.meta.Inbox) + buffered - taken - dropped; len(m.Inbox) != want {
		r.fatalf("%s: the inbox holds %d events, want %d (%d before, %d buffered, %d taken, %d dropped)",
			label, len(m.Inbox), want, len(r.meta.Inbox), buffered, taken, dropped)
	}
	if len(m.Inbox) > inboxLimit {
		r.fatalf("%s: the inbox holds %d events, over the limit of %d", label, len(m.Inbox), inboxLimit)
	}
	if r.stats.Actions != nil && taken > 0 {
		r.stats.Actions["buffered event taken"] += taken
	}
	// Pending waits against what the effects left standing.
	setups, timers, acts := map[uint64]bool{}, map[uint64]bool{}, map[uint64]bool{}
	live := 0
	for i, th := range m.Threads {
		live++
		if i > 0 && m.Threads[i-1].ID >= th.ID {
			r.fatalf("%s: threads not sorted by unique ID: %q before %q", label, m.Threads[i-1].ID, th.ID)
		}
		// A runnable thread is left by a yield, in this transition or an
		// earlier one (a callback runs only the thread it wakes).
		if th.Phase.Runnable() && (m.Due.IsZero() || m.Due.After(ev.Time)) {
			r.fatalf("%s: thread %s is runnable but Due is %v", label, th.ID, m.Due)
		}
		if th.Phase == interp.PhaseRetry && (m.Due.IsZero() || m.Due.After(th.At)) {
			r.fatalf("%s: thread %s retries at %v but Due is %v", label, th.ID, th.At, m.Due)
		}
		for _, p := range th.Waits {
			r.issued[p.Callback] = true
			switch {
			case p.Kind == interp.Timer:
				timers[p.Callback] = true
				if !r.timers[p.Callback] {
					r.fatalf("%s: timer %d is pending but was never started", label, p.Callback)
				}
				if m.Due.IsZero() || m.Due.After(p.At) {
					r.fatalf("%s: timer %d is due at %v but Meta.Due is %v", label, p.Callback, p.At, m.Due)
				}
			case p.Kind == interp.Activity:
				acts[p.Callback] = true
				if _, ok := r.activities[p.Callback]; !ok {
					r.fatalf("%s: activity %d is pending but was never run", label, p.Callback)
				}
			case p.Setup:
				setups[p.Callback] = true
			}
		}
	}
	for id := range r.setups {
		if !setups[id] {
			r.fatalf("%s: the setup of callback %d stands, but its wait is resolved (it was never torn down)", label, id)
		}
	}
	for id := range setups {
		if !r.setups[id] {
			r.fatalf("%s: callback %d is pending with a setup that was never emitted", label, id)
		}
	}
	for id := range r.timers {
		if !timers[id] {
			delete(r.timers, id) // fired
		}
	}
	for id := range r.activities {
		if !acts[id] {
			delete(r.activities, id) // answered
		}
	}
	if live > MaxThreads {
		r.fatalf("%s: %d live threads, more than the generator's cap of %d", label, live, MaxThreads)
	}
	r.stats.MaxLive = max(r.stats.MaxLive, live)
	if m.Status.Finished() {
		if len(m.Inbox) != 0 {
			r.fatalf("%s: finished (%s) with %d buffered events left", label, m.Status, len(m.Inbox))
		}
		if len(m.Threads) != 0 || !m.Due.IsZero() || finishing != 1 {
			r.fatalf("%s: finished (%s) with %d threads, Due %v and %d finishing effects", label, m.Status, len(m.Threads), m.Due, finishing)
		}
		last := res.Effects[len(res.Effects)-1].Kind
		if want := map[interp.Status]interp.EffectKind{interp.StatusCompleted: interp.EffectCompleted, interp.StatusFailed: interp.EffectFailed, interp.StatusCanceled: interp.EffectCanceled}[m.Status]; last != want {
			r.fatalf("%s: finished %s, but the last effect is %s", label, m.Status, last)
		}
	} else if finishing != 0 {
		r.fatalf("%s: a finishing effect, but the status is %s", label, m.Status)
	}
	// The instance resolves in its own definition, and upgrading it to the
	// version that wrote it changes nothing.
	r.guard(label+": interp.Resolve", func() {
		if err := interp.Resolve(r.def, m); err != nil {
			r.fatalf("%s: interp.Resolve of the new meta: %v", label, err)
		}
	})
	r.guard(label+": interp.Upgrade", func() {
		up, err := interp.Upgrade(r.def, res.State, m)
		if err != nil || !bytes.Equal(up.State, res.State) || !bytes.Equal(interp.EncodeMeta(up.Meta), enc) || len(up.Effects) != 0 {
			r.fatalf("%s: interp.Upgrade to the same version changed the instance (error %v, %d effects)", label, err, len(up.Effects))
		}
	})
	r.stats.Transitions++
	r.state, r.meta = res.State, m
}

// guard runs fn, reporting a panic in it as a failure with the definition.
func (r *runner) guard(label string, fn func()) {
	r.t.Helper()
	defer func() {
		if p := recover(); p != nil {
			r.fatalf("%s panicked: %v\n%s", label, p, debug.Stack())
		}
	}()
	fn()
}

// pendingKind is the kind of callback id in the meta before the transition.
func (r *runner) pendingKind(id uint64) interp.TriggerKind {
	for _, w := range r.pendings() {
		if w.p.Callback == id {
			return w.p.Kind
		}
	}
	return 0
}
