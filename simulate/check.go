package simulate

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"pgregory.net/rapid"
)

// Check property-tests def: rapid draws sequences of actions (deliveries in
// any order, timers, activity results, clock jumps, duplicates, stale and
// unknown callbacks, crashes around commits and dispatches, a definition
// swap, cancellation), runs them through the real interpreter and engine
// over an in-memory store, and checks the invariants after every action;
// then a liveness phase drives the instance to its end. Each run draws its
// own weights for the kinds of action (swarm testing) and aims at an event
// no earlier run reached. A failure reports the broken invariant, where,
// and the shrunk trace in plain words; rapid prints the seed and saves a
// fail file to replay it.
//
// Check returns the [Coverage] its runs reached, and logs it through t when
// they passed; nil if opts is for another state type than def's.
func Check[S any](t rapid.TB, def *dsl.Definition, opts Options[S]) *Coverage {
	t.Helper()
	if st := reflect.TypeFor[S](); st != def.StateType() {
		t.Fatalf("simulate: Options are for state type %v, but workflow %q has state type %v", st, def.Name(), def.StateType())
		return nil
	}
	return checkConfig(t, def, opts.config())
}

// checkConfig is Check with the options made into cfg.
func checkConfig(t rapid.TB, def *dsl.Definition, cfg *config) *Coverage {
	t.Helper()
	tb := &reportTB{TB: t}
	x := newExplorer(def, cfg)
	limit := newBudget(t)
	rapid.Check(tb, func(rt *rapid.T) {
		if limit.over() && !x.frozen {
			return // the test's -timeout is near: pass the remaining checks untried
		}
		start := time.Now()
		run(rt, def, cfg, tb, x)
		limit.spent(time.Since(start))
	})
	if limit.skipped > 0 {
		t.Logf("weft: stopped after %d runs, %d left untried: the test's -timeout is near", x.runs, limit.skipped)
	}
	cov := x.coverage()
	if !t.Failed() {
		t.Logf("%s", cov)
	}
	if r, ok := t.(*Recorder); ok {
		r.setCoverage(cov)
	}
	return cov
}

// Fuzz returns a fuzz target for go test -fuzz: the fuzzer's bytes choose
// the actions.
func Fuzz[S any](def *dsl.Definition, opts Options[S]) func(t *testing.T, data []byte) {
	cfg := opts.config()
	return rapid.MakeFuzz(func(rt *rapid.T) { run(rt, def, cfg, nil, nil) })
}

// run is one run: a goal, a swarm configuration, a start state, random
// actions, the liveness phase and the replay.
func run(rt *rapid.T, def *dsl.Definition, opts *config, tb *reportTB, x *explorer) {
	goal := drawGoal(rt, x)
	a := &actions{goal: goal}
	// The order is the one rapid shrinks towards: plain deliveries first,
	// crashes last, so a shrunk trace keeps a crash only when the failure
	// needs it.
	kinds := []kind{
		{name: "deliver", act: func(rt *rapid.T) { a.deliver(rapidSource{rt}, noCrash) },
			ready: func() bool { return len(a.w.pending(interp.Custom)) > 0 }},
		{name: "timer", act: func(rt *rapid.T) { a.timer(rapidSource{rt}, noCrash) },
			ready: func() bool { return len(a.w.pending(interp.Timer)) > 0 }},
		{name: "child end", act: func(rt *rapid.T) { a.childEnd(rapidSource{rt}, noCrash) },
			ready: func() bool { return len(a.w.startedChildren()) > 0 }},
		{name: "child step", act: func(rt *rapid.T) { a.childStep(rapidSource{rt}) },
			ready: func() bool { return len(a.w.steppable()) > 0 }},
		// A dispatch is drawn at its weight when the store has work for a
		// host, and rarely (idle, weight 1) when it has none: then it
		// checks that the hosts invent nothing, which a few idle
		// dispatches per run check as well as many would.
		{name: "dispatch", act: a.dispatch, ready: a.hasWork, idle: true},
		{name: "clock", act: a.clock},
		{name: "stale", act: a.stale},
		{name: "unknown", act: a.unknown},
	}
	if !opts.noEarly {
		kinds = append(kinds, kind{name: "early", act: func(rt *rapid.T) { a.early(rapidSource{rt}, noCrash) },
			ready: func() bool { return len(a.w.earlyEvents()) > 0 }})
	}
	if !opts.noDuplicates {
		kinds = append(kinds, kind{name: "duplicate", act: a.duplicate, ready: func() bool { return len(a.w.history) > 0 }})
	}
	if !opts.noCancel {
		kinds = append(kinds, kind{name: "cancel", act: a.cancel})
	}
	if !opts.noTerminate {
		kinds = append(kinds, kind{name: "terminate", act: a.terminate})
	}
	// (A finished instance gets its new runs as one run in four ends,
	// below, leaving its last actions to those that look at a finished
	// one: gc, list.)
	kinds = append(kinds, kind{name: "new run", act: a.newRun, ready: func() bool { return !a.w.meta.Status.Finished() }})
	if len(def.Queries()) > 0 || (opts.upgrade != nil && len(opts.upgrade.Queries()) > 0) {
		kinds = append(kinds, kind{name: "query", act: a.query, ready: func() bool { return len(a.w.def.Queries()) > 0 }, light: true})
	}
	if opts.upgrade != nil {
		kinds = append(kinds, kind{name: "upgrade", act: a.swap, ready: func() bool { return a.w.def != opts.upgrade }})
	}
	var user []string
	for name := range opts.actions {
		user = append(user, name)
	}
	sort.Strings(user)
	for _, name := range user {
		act := opts.actions[name]
		kinds = append(kinds, kind{name: "user: " + name, act: func(rt *rapid.T) { act(rt, a.sim) }})
	}
	kinds = append(kinds, a.listingKinds()...)
	if !opts.noCrashes {
		kinds = append(kinds, kind{name: "crash", act: a.crash, ready: func() bool { return len(a.crashes()) > 0 }})
		if opts.hosts > 1 {
			// A stall stalls a host only where the store has work for it.
			kinds = append(kinds, kind{name: "stall", act: a.stall, ready: a.hasWork})
		}
	}
	a.kinds = drawSwarm(rt, kinds)

	w := newWorld(def, opts)
	w.reports, w.explorer = tb, x
	w.visits, w.reached = map[eventKey]int{}, map[string]int{}
	w.swarm = a.kinds
	if goal != nil {
		w.goal = goal.String()
	}
	a.w, a.sim = w, &Sim{w: w}
	if x != nil {
		defer x.merge(w)
	}
	input := reflect.New(def.StateType()).Elem().Interface()
	if opts.input != nil {
		input = opts.input(rt)
	}
	if !opts.noEarly && rapid.Bool().Draw(rt, "signal-with-start") {
		w.startWithSignal(rapidSource{rt}, input)
	} else {
		w.start(input)
	}
	w.check(rt)
	rt.Repeat(map[string]func(*rapid.T){"action": a.step, "": w.check})
	w.restartIfDue()
	w.liveness(rapidSource{rt}, a)
	w.check(rt)
	w.checkLifecycle()
	w.check(rt)
	// New runs over the ID (reuse.go) in one run in four: they cost a
	// quarter of a check, and a hundred checks still start some twenty
	// five.
	if ints(0, 3).Draw(rt, "new runs as the run ends") == 0 {
		w.checkNewRun()
		w.check(rt)
	}
	// The same steps on a fresh host must store the same bytes after every
	// step (FoundationDB's unseed check): nothing outside the recorded
	// inputs may matter.
	if v := replay(def, opts, w.steps); v != nil {
		w.fail(v.Invariant, v.Path, "%s", v.Detail)
	}
	w.check(rt)
	w.release() // the run passed: nothing reads its steps or trace again
}

// check reports the first broken invariant.
func (w *world) check(rt *rapid.T) {
	if w.failure == nil {
		return
	}
	report := w.report()
	if w.reports != nil {
		w.reports.failed(report)
	}
	if w.explorer != nil {
		w.explorer.frozen = true // rapid shrinks next: the same bits must make the same run
	}
	rt.Fatalf("%s", report)
}

func (w *world) report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "weft simulation of %q failed: %v\n", w.def.Name(), w.failure)
	o := w.opts
	fmt.Fprintf(&b, "options: crashes %v, duplicates %v, cancel %v, upgrade %v, liveness bound %d\n",
		onOff(!o.noCrashes), onOff(!o.noDuplicates), onOff(!o.noCancel), o.upgrade != nil, o.liveness)
	if len(w.swarm) > 0 {
		fmt.Fprintf(&b, "swarm (this run's action weights): %s\n", describeSwarm(w.swarm))
	}
	if w.goal != "" {
		fmt.Fprintf(&b, "goal (the event this run aimed at): %s\n", w.goal)
	}
	b.WriteString("trace:\n")
	for i, l := range w.trace {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, l)
	}
	if w.replayHint != "" {
		b.WriteString(w.replayHint)
	} else {
		b.WriteString("replay: rapid prints the seed (and, unless -rapid.nofailfile, the fail file) below; rerun with -rapid.seed=N or -rapid.failfile=FILE")
	}
	return b.String()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// pending is one callback the model's instance waits for.
type pending struct {
	thread string
	path   string
	p      interp.Pending
	on     dsl.Node // the On of a custom event or timer (zero if unknown)
}

// pending lists the callbacks of kind the model's instance waits for. The
// lists are computed once per model state (actions ask many times); the
// caller must not modify them.
func (w *world) pending(kind interp.TriggerKind) []pending {
	c := &w.pendingCache
	if !c.valid || c.applied != w.applied || c.def != w.def {
		*c = pendingCache{valid: true, applied: w.applied, def: w.def}
		threads := w.current().Threads
		// One array for every kind's list: count, then fill each kind's
		// part in order.
		var at [len(c.byKind) + 1]int
		for _, th := range threads {
			for _, p := range th.Waits {
				if int(p.Kind) < len(c.byKind) {
					at[p.Kind+1]++
				}
			}
		}
		for k := 1; k < len(at); k++ {
			at[k] += at[k-1]
		}
		if n := at[len(c.byKind)]; n > 0 {
			all := make([]pending, n)
			for k := range c.byKind {
				c.byKind[k] = all[at[k]:at[k]:at[k+1]]
			}
		}
		for _, th := range threads {
			for _, p := range th.Waits {
				if int(p.Kind) >= len(c.byKind) {
					continue
				}
				pe := pending{thread: th.ID, path: th.Path, p: p}
				if n, _ := w.def.Lookup(th.Path); n.Kind() == dsl.KindWait {
					for _, on := range n.Arms() {
						if on.Name() == p.Event {
							pe.on = on
						}
					}
				}
				c.byKind[p.Kind] = append(c.byKind[p.Kind], pe)
			}
		}
	}
	if int(kind) >= len(c.byKind) {
		return nil
	}
	return c.byKind[kind]
}

// pendingCache holds pending's lists for one model state: the model
// changes only by fold (applied) and by an upgrade (def).
type pendingCache struct {
	valid   bool
	applied int
	def     *dsl.Definition
	byKind  [5][]pending // by interp.TriggerKind

	earlyDone bool      // early holds earlyEvents' list
	early     []pending // see earlyEvents
}

type actions struct {
	w       *world
	work    workKnown // hasWork's answer for the step under way
	sim     *Sim
	probes  int       // events sent to the finished instance
	kinds   []kind    // the run's swarm configuration
	weights []int     // pickKind's buffer
	goal    *eventKey // the event the run aims at, if any
	tries   int       // attempts at the goal

	crashBuf []int                      // crashes' buffer
	eventBuf []func(source, crashPoint) // eventOptions' buffer
	// eventFns are the event actions eventOptions lists, made once (a
	// method value is a new closure each time it is taken).
	eventFns *eventFns
}

// eventFns are the actions' event methods as values.
type eventFns struct {
	deliver, timer, activity, childEnd, early func(source, crashPoint)
}

// workKnown is whether the store has work for a host, once asked in a
// step.
type workKnown struct {
	known, has bool
}

// hasWork reports whether the store has work for a host now, as a host's
// engine finds it (storage.Claims.NextWork, which Claim agrees with): an
// instance due or with a ready effect, held by no live lease. A dispatch
// without work claims nothing, and ProcessInstance then resumes nothing
// and performs nothing; a crash in it or a stall has nothing to hit. The
// answer is kept for the step under way (the ready kinds ask in turn).
// If the store cannot say, it answers yes: the action goes on, and the
// dispatch reports what fails.
func (a *actions) hasWork() bool {
	if !a.work.known {
		w := a.w
		now := w.clock.Now()
		next, err := w.store.NextWork(w.ctx, now)
		a.work = workKnown{known: true, has: err != nil || (!next.IsZero() && !next.After(now))}
	}
	return a.work.has
}

// done reports whether the instance has finished and has already been shown
// to reject late events: more of them would only repeat that check, so the
// remaining actions of the run are no-ops.
func (a *actions) done() bool {
	if !a.w.meta.Status.Finished() {
		return false
	}
	a.probes++
	return a.probes > 3
}

func (a *actions) deliver(src source, crash crashPoint) {
	a.deliverTo(src, pick(src, a.w.pending(interp.Custom), "event"), crash)
}

func (a *actions) deliverTo(src source, pe pending, crash crashPoint) {
	w := a.w
	payload, v := w.payload(src, pe)
	label := say("%v", deliverLine{pe, v})
	w.pickVia(src)
	w.apply(interp.Event{Kind: interp.EventCallback, Callback: pe.p.Callback, Payload: payload}, crash, label)
}

// deliverLine is the trace line of a delivery, kept as one value (its
// fields boxed one by one cost an allocation each, for every delivery).
type deliverLine struct {
	pe pending
	v  any
}

func (d deliverLine) String() string {
	return fmt.Sprintf("deliver %s(%+v) to thread %s at wait %q (callback %d)", d.pe.p.Event, d.v, d.pe.thread, d.pe.path, d.pe.p.Callback)
}

// payload draws an event's payload: the user's generator, else a value of
// the event's payload type.
func (w *world) payload(src source, pe pending) ([]byte, any) {
	var v any
	if gen, ok := w.opts.payloads[pe.p.Event]; ok && src.rapid() != nil {
		v = gen(src.rapid())
	} else if pt := pe.on.Payload(); pt != nil {
		v = valueOf(src, pt, pe.p.Event).Interface()
	}
	b, err := codec.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("simulate: payload for %q does not encode: %v", pe.p.Event, err))
	}
	return b, v
}

func (a *actions) timer(src source, crash crashPoint) {
	a.fire(src, pick(src, a.w.pending(interp.Timer), "timer"), crash)
}

// fire moves the clock to a pending timer's deadline and has a host's
// engine resume the instance: a timer fires by a Resume of an instance
// the store lists as due, not by its callback. A crash before commit
// kills the host at the commit (its second write, after the claim), a
// crash after commit at the write after it.
func (a *actions) fire(src source, pe pending, crash crashPoint) {
	w := a.w
	at := pe.p.At
	if !w.opts.noCrashes && w.dueCrashes == 0 && crash == noCrash {
		// The first timer of a run in which no host has crashed while
		// something was due: a host restarts first, so that the due index
		// is checked after a crash in every run a timer fires in (a store
		// that loses due entries on a crash is found by a default Check).
		if w.crashBetween(w.via, "before the timer is due"); w.failure != nil {
			return
		}
	}
	w.moveClock(at)
	// Activity attempts the host runs on the way succeed: failures are the
	// dispatch action's to draw, so that timers do not end runs early.
	args := dispatchArgs{host: w.pickHost(src), process: true, outcome: "success"}
	switch crash {
	case beforeCommit:
		args.crashAt = 2
	case afterCommit:
		args.crashAt = 3
	}
	w.dispatch(src, args, say("time for timer %s of thread %s at wait %q (due %s)", pe.p.Event, pe.thread, pe.path, dateTime(at)))
}

// pickHost draws a host (with one host, without a draw).
func (w *world) pickHost(src source) int {
	if len(w.hosts) == 1 || src == nil {
		return 0
	}
	return src.intn(0, len(w.hosts)-1, "host")
}

// pickVia draws the host the next event goes through.
func (w *world) pickVia(src source) { w.via = w.pickHost(src) }

// moveClock moves the simulated clock forward to t (never back).
func (w *world) moveClock(t time.Time) {
	if t.After(w.clock.Now()) {
		w.clock.Set(t)
		w.steps = append(w.steps, step{Kind: stepClock, To: t})
	}
}

// activity completes an attempt of an activity the instance waited for
// when it was loaded (Verify), whose effect is in another store's outbox,
// with success (the real activity run on its input), an error, or a
// timeout. Activities whose effects are in the simulated outbox are run by
// the engines' dispatch instead.
func (a *actions) activity(src source, crash crashPoint) {
	w := a.w
	var ready []engine.EffectInfo
	for _, pe := range w.pending(interp.Activity) {
		if info, ok := w.activity[pe.p.Callback]; ok {
			ready = append(ready, info)
		}
	}
	sort.Slice(ready, func(i, j int) bool { return ready[i].Callback < ready[j].Callback })
	info := pick(src, ready, "activity")
	outcome := pick(src, []string{"success", "error", "timeout"}, "outcome")
	w.finishActivity(src, info, outcome, crash)
}

func (w *world) finishActivity(src source, info engine.EffectInfo, outcome string, crash crashPoint) {
	w.moveClock(info.At)
	out, msg, shown := w.attempt(src, info, outcome)
	ev := interp.Event{Kind: interp.EventCallback, Callback: info.Callback, Payload: out, Error: msg}
	delete(w.activity, info.Callback)
	label := say("activity %q of thread %s, attempt %d: %s", info.Path, info.Thread, info.Attempt, shown)
	w.pickVia(src)
	w.apply(ev, crash, label)
}

// clockJumps are the clock action's jumps: mostly short, as a day fires
// every timer.
var clockJumps = []time.Duration{time.Second, time.Minute, 10 * time.Minute, time.Second, time.Minute, time.Hour, 24 * time.Hour}

func (a *actions) clock(rt *rapid.T) {
	if a.done() {
		return
	}
	w := a.w
	d := clockJumps[ints(0, len(clockJumps)-1).Draw(rt, "advance")]
	w.moveClock(w.clock.Now().Add(d))
	// A host wakes up and runs what is due, if the store has work now
	// (time moved: ask again); a dispatch with nothing to do is the
	// dispatch action's, drawn rarely.
	a.work.known = false
	if !a.hasWork() {
		w.say("advance the clock %v: the store has no work", d)
		return
	}
	src := rapidSource{rt}
	w.dispatch(src, dispatchArgs{host: w.pickHost(src), outcome: "success"}, say("advance the clock %v", d))
}

// dispatch has a host's engine do the work the store has for it.
func (a *actions) dispatch(rt *rapid.T) {
	src := rapidSource{rt}
	args := dispatchArgs{host: a.w.pickHost(src), process: ints(0, 1).Draw(rt, "RunDue or ProcessInstance") == 1}
	a.w.dispatch(src, args, say("dispatch"))
}

// stall has a host stall at its first effect past its lease, while
// another host takes the instance over.
func (a *actions) stall(rt *rapid.T) {
	w := a.w
	src := rapidSource{rt}
	h := w.pickHost(src)
	other := (h + 1 + ints(0, len(w.hosts)-2).Draw(rt, "other host")) % len(w.hosts)
	w.dispatch(src, dispatchArgs{host: h, process: true, pause: &pauseAt{host: h, other: other}}, say("dispatch, stalling"))
}

func (a *actions) duplicate(rt *rapid.T) {
	if a.done() {
		return
	}
	w := a.w
	d := pick(rapidSource{rt}, w.history, "duplicate")
	w.pickVia(rapidSource{rt})
	w.apply(d.ev, noCrash, say("again: %s", d.label))
}

func (a *actions) stale(rt *rapid.T) {
	if a.done() {
		return
	}
	w := a.w
	live := map[uint64]bool{}
	for _, th := range w.meta.Threads {
		for _, p := range th.Waits {
			live[p.Callback] = true
		}
	}
	var stale []uint64
	for cb := uint64(1); cb <= w.meta.NextCallback; cb++ {
		if !live[cb] && !slices.ContainsFunc(w.history, func(d delivered) bool { return d.ev.Callback == cb }) {
			stale = append(stale, cb)
		}
	}
	cb := pick(rapidSource{rt}, stale, "stale")
	w.pickVia(rapidSource{rt})
	w.apply(interp.Event{Kind: interp.EventCallback, Callback: cb}, noCrash, say("deliver stale callback %d", cb))
}

func (a *actions) unknown(rt *rapid.T) {
	if a.done() {
		return
	}
	w := a.w
	cb := w.meta.NextCallback + uint64(ints(1, 5).Draw(rt, "unknown"))
	w.pickVia(rapidSource{rt})
	w.apply(interp.Event{Kind: interp.EventCallback, Callback: cb}, noCrash, say("deliver unknown callback %d", cb))
}

// The crashes a crash action draws from.
const (
	crashBeforeCommit = iota
	crashAfterCommit
	crashMidDispatch
)

// crashes lists the crashes that can crash something now: a crash around
// a commit where an event can be sent (see eventWith), one in the middle
// of a dispatch where the store has work for a host. The list is the
// actions' buffer, valid until the next call.
func (a *actions) crashes() []int {
	a.crashBuf = a.crashBuf[:0]
	if len(a.eventOptions()) > 0 {
		a.crashBuf = append(a.crashBuf, crashBeforeCommit, crashAfterCommit)
	}
	if a.hasWork() {
		a.crashBuf = append(a.crashBuf, crashMidDispatch)
	}
	return a.crashBuf
}

func (a *actions) crash(rt *rapid.T) {
	switch pick(rapidSource{rt}, a.crashes(), "crash: before commit, after commit, mid-dispatch") {
	case crashBeforeCommit:
		a.eventWith(rt, beforeCommit)
	case crashAfterCommit:
		a.eventWith(rt, afterCommit)
	default:
		// The host dies at one of its writes after the claim: a commit,
		// the acknowledgement of what it performed, its release.
		src := rapidSource{rt}
		args := dispatchArgs{host: a.w.pickHost(src), process: ints(0, 1).Draw(rt, "RunDue or ProcessInstance") == 1,
			crashAt: 2 + ints(0, 4).Draw(rt, "write after the claim")}
		a.w.dispatch(src, args, say("dispatch, crashing"))
	}
}

// eventWith performs one event action that crashes at point.
func (a *actions) eventWith(rt *rapid.T, point crashPoint) {
	pick(rapidSource{rt}, a.eventOptions(), "crashing action")(rapidSource{rt}, point)
}

// eventOptions lists the event actions that can crash around a commit now.
func (a *actions) eventOptions() []func(source, crashPoint) {
	options := a.eventBuf[:0]
	fns := a.eventFns
	if fns == nil {
		fns = &eventFns{deliver: a.deliver, timer: a.timer, activity: a.activity, childEnd: a.childEnd, early: a.early}
		a.eventFns = fns
	}
	if len(a.w.pending(interp.Custom)) > 0 {
		options = append(options, fns.deliver)
	}
	if len(a.w.pending(interp.Timer)) > 0 {
		options = append(options, fns.timer)
	}
	if len(a.w.activity) > 0 {
		options = append(options, fns.activity)
	}
	if len(a.w.startedChildren()) > 0 {
		options = append(options, fns.childEnd) // the crash between a child's end and its parent's wake-up
	}
	if !a.w.opts.noEarly && len(a.w.earlyEvents()) > 0 {
		options = append(options, fns.early)
	}
	if len(options) == 0 && !a.w.opts.noCancel && a.w.meta.Status == interp.StatusRunning {
		// Activity results commit in a host's dispatch: where the instance
		// waits only for activities, a cancel is the event that can crash
		// (only there: a cancel ends most runs).
		options = append(options, func(src source, point crashPoint) {
			a.w.pickVia(src)
			a.w.apply(interp.Event{Kind: interp.EventCancel}, point, say("cancel"))
		})
	}
	a.eventBuf = options
	return options
}

func (a *actions) cancel(rt *rapid.T) {
	if a.done() {
		return
	}
	// Cancel ends most workflows at once; drawn at full rate it would cut
	// nearly every run short, so it goes through one time in eight.
	if ints(0, 7).Draw(rt, "cancel now") != 0 {
		return
	}
	a.w.pickVia(rapidSource{rt})
	a.w.apply(interp.Event{Kind: interp.EventCancel}, noCrash, say("cancel"))
}

func (a *actions) swap(rt *rapid.T) {
	w := a.w
	if w.def == w.opts.upgrade {
		rt.Skip("already upgraded")
	}
	w.upgrade()
}

func (w *world) upgrade() {
	w.def = w.opts.upgrade
	w.steps = append(w.steps, step{Kind: stepSwap})
	w.say("deploy the new definition (restart)")
	w.restart()
	if err := interp.Resolve(w.def, w.meta); err != nil && !w.meta.Status.Finished() {
		var pl *interp.PositionLostError
		path := ""
		if errors.As(err, &pl) {
			path = pl.Path
		}
		w.fail(InvPositions, path, "after the upgrade: %v", err)
	}
}

// liveness drives the instance with crashes and duplicates off until it
// ends or rests where the user allows, within the bound.
func (w *world) liveness(src source, a *actions) {
	if w.failure != nil {
		return
	}
	if w.ret.gone {
		w.goneChecks()
		return
	}
	w.say("liveness: deliver pending events until the instance ends")
	for i := 0; i < w.opts.liveness && w.failure == nil; i++ {
		if a.goalReady() {
			// Before the drain, which would run the activities a goal
			// such as "cancel while it runs" needs to find in flight.
			a.pursue(src)
			continue
		}
		w.drain(src, a)
		if w.meta.Status.Finished() {
			break
		}
		if a.goalReady() {
			a.pursue(src)
			continue
		}
		// Activities first: they are work in flight, not choices. (Those
		// with effects in the outbox ran in the drain; these are the
		// attempts of an instance loaded by Verify.)
		var acts []engine.EffectInfo
		for _, pe := range w.pending(interp.Activity) {
			if info, ok := w.activity[pe.p.Callback]; ok {
				acts = append(acts, info)
			}
		}
		if len(acts) > 0 {
			sort.Slice(acts, func(i, j int) bool { return acts[i].Callback < acts[j].Callback })
			w.finishActivity(src, acts[0], "success", noCrash)
			continue
		}
		// Children too: a started child ends on its own.
		if kids := w.startedChildren(); len(kids) > 0 {
			a.childEndAs(src, kids[0], "completed", noCrash)
			continue
		}
		var moves []func(source, crashPoint)
		events := len(w.pending(interp.Custom)) > 0
		if events && i < w.opts.liveness/2 {
			// Events three times as likely as timers: runs should get deep
			// into the workflow before a timeout ends it.
			moves = append(moves, a.deliver, a.deliver, a.deliver)
		}
		if events && i < w.opts.liveness/2 && a.pursuing() {
			// A run with a goal still open moves by events alone while it
			// can: a timeout would end it before the goal.
		} else if timers := w.pending(interp.Timer); len(timers) > 0 {
			moves = append(moves, a.timer)
		} else if len(w.pending(interp.Custom)) > 0 {
			// Late in the phase, events only where no timer can move on:
			// real time passes, so a workflow with a way out by timer takes it.
			moves = append(moves, a.deliver)
		}
		if len(moves) == 0 {
			if w.runnable() && w.nextDue() {
				w.dispatch(src, dispatchArgs{host: w.pickHost(src), outcome: "success"}, say("wait for the next due time"))
				continue
			}
			break
		}
		pick(src, moves, "liveness move")(src, noCrash)
	}
	w.drain(src, a)
	w.missingEffects() // a lost effect explains a stuck instance better than "stuck"
	if w.failure == nil && !w.meta.Status.Finished() && !w.resting() {
		w.fail(InvLiveness, w.where(), "after the liveness phase (at most %d deliveries) the instance is still %s, stuck at: %s",
			w.opts.liveness, w.meta.Status, describe(w.meta))
	}
	if w.failure == nil {
		w.finalChecks()
	}
}

// runnable reports whether a thread waits only for a Resume (a step retry
// or a budget yield).
func (w *world) runnable() bool {
	for _, th := range w.current().Threads {
		if th.Phase.Runnable() || th.Phase == interp.PhaseRetry {
			return true
		}
	}
	return false
}

func (w *world) resting() bool {
	if len(w.opts.resting) == 0 {
		return false
	}
	for _, th := range w.meta.Threads {
		if th.Phase != interp.PhaseWaiting || !slices.Contains(w.opts.resting, th.Path) {
			return false
		}
	}
	return true
}

func describe(m interp.Meta) string {
	var out []string
	for _, th := range m.Threads {
		s := fmt.Sprintf("thread %s at %q (%s)", th.ID, th.Path, th.Phase)
		var ws []string
		for _, p := range th.Waits {
			ws = append(ws, fmt.Sprintf("%s %s", p.Kind, p.Event))
		}
		if len(ws) > 0 {
			s += " waiting for " + strings.Join(ws, ", ")
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

// restartIfDue restarts the host that last acted, as a deploy or a crash
// would, before the liveness phase of a run that left the instance
// waiting for a time, when crashes are on: what the store's due index
// keeps across a restart is then checked in every such run (crash checks
// the index), not only in those whose swarm drew a crash while a timer
// was pending.
func (w *world) restartIfDue() {
	if w.failure != nil || w.opts.noCrashes || w.meta.Status.Finished() || w.meta.Due.IsZero() {
		return
	}
	w.crashBetween(w.via, "before the liveness phase")
}
