package simulate

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/activity"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// dispatching is the state of a dispatch under way: the engine of a host
// is in RunDue or ProcessInstance, calling back into the world.
type dispatching struct {
	step    int    // its step in w.steps
	src     source // where activity outcomes are drawn from
	outcome string // "": drawn; else every activity attempt has it ("success", "error", "timeout")
	goal    string // attempts of the Call at this path have goalOutcome instead
	goalOut string
	pause   *pauseAt                // the host to stall, if any
	expect  [maxHosts]*interp.Event // per host: the activity result it is about to commit
	lines   []text                  // what happened, for the trace
	// aborted holds a panic of a draw in an engine's callback (rapid ends
	// a run that way): raised again once the engine returned, on rapid's
	// goroutine, instead of being delivered as the attempt's failure.
	aborted any
}

// pauseAt stalls host at its first effect until its lease has expired and
// host other has taken the instance over.
type pauseAt struct {
	host, other int
	done        bool
}

// attemptOutcome is one activity attempt's result in a dispatch,
// recorded for the replay.
type attemptOutcome struct {
	Payload []byte
	Error   string
}

// dispatchArgs says what a dispatch does.
type dispatchArgs struct {
	host    int
	process bool // ProcessInstance; else RunDue
	crashAt int  // the write at which the host dies (0: never)
	pause   *pauseAt
	outcome string // see dispatching.outcome
	// goalPath and goalOutcome: the attempts of the Call at goalPath have
	// goalOutcome (a run's goal: "success", "error" or "timeout").
	goalPath, goalOutcome string
}

// dispatch has a host's engine do the work the store has: RunDue (claim
// what has work, resume what is due, perform ready effects in order,
// acknowledge them under the lease) or ProcessInstance (the same for the
// instance, whether or not it is due). It returns what the engine did.
func (w *world) dispatch(src source, a dispatchArgs, label text) engine.Work {
	w.steps = append(w.steps, step{Kind: stepDispatch, Host: a.host, Process: a.process, CrashAt: a.crashAt})
	if a.pause != nil {
		w.steps[len(w.steps)-1].Pause, w.steps[len(w.steps)-1].Other = true, a.pause.other
	}
	// The world's buffer holds the dispatch (its lines go to the trace,
	// which keeps them), unless one is under way already.
	d := &w.dispBuf
	if w.disp != nil {
		d = new(dispatching)
	}
	*d = dispatching{step: len(w.steps) - 1, src: src, outcome: a.outcome, goal: a.goalPath, goalOut: a.goalOutcome,
		pause: a.pause}
	prev := w.disp
	w.disp = d
	work, err := w.runHost(a.host, a.process, a.crashAt)
	w.disp = prev
	if d.aborted != nil {
		panic(d.aborted)
	}
	h := w.hosts[a.host]
	died := h.store.dead
	w.trace = append(w.trace, lazily(&dispatchLine{label: label, host: a.host, process: a.process, work: work, lines: d.lines, died: died, crashAt: a.crashAt, err: err}))
	if died {
		w.faults++
		w.crash(a.host)
	} else if err != nil && !errors.Is(err, storage.ErrLeased) {
		w.fail(InvEffects, w.where(), "host %d's %s failed: %v", a.host, procName(a.process), err)
	}
	if w.failure == nil {
		si, rec := w.load()
		if w.failure == nil {
			w.record(si)
			w.compareWith(si, rec, nil, true)
		}
	}
	return work
}

// dispatchLine is the trace line of a dispatch, formatted only when a
// report shows it.
type dispatchLine struct {
	label   text
	host    int
	process bool
	work    engine.Work
	lines   []text // what happened in it
	died    bool
	crashAt int
	err     error
}

func (l *dispatchLine) String() string {
	var b strings.Builder
	b.WriteString(l.label.String())
	fmt.Fprintf(&b, ": host %d %s: %d transitions, %d effects", l.host, procName(l.process), l.work.Transitions, l.work.Effects)
	for i := 0; i < len(l.lines); {
		s := l.lines[i].String()
		n := 1
		for i+n < len(l.lines) && l.lines[i+n].String() == s {
			n++
		}
		b.WriteString("; ")
		b.WriteString(s)
		if n > 1 {
			fmt.Fprintf(&b, " (%d times)", n)
		}
		i += n
	}
	if l.died {
		fmt.Fprintf(&b, "; the host crashed at its write %d and restarts", l.crashAt)
	} else if l.err != nil {
		fmt.Fprintf(&b, "; %s", shortError{l.err})
	}
	return b.String()
}

func procName(process bool) string {
	if process {
		return "ProcessInstance"
	}
	return "RunDue"
}

// runHost calls host i's engine: ProcessInstance or RunDue, with the host
// dying at its crashAt-th write (0: never).
func (w *world) runHost(i int, process bool, crashAt int) (engine.Work, error) {
	h := w.hosts[i]
	h.store.crashAt, h.store.writes = crashAt, 0
	defer func() { h.store.crashAt = 0 }()
	if process {
		return h.e.ProcessInstance(w.ctx, instanceID)
	}
	return h.e.RunDue(w.ctx, dispatchLimit)
}

// pauseHere stalls host if the dispatch under way is to pause it at its
// first effect: the clock moves past its lease, and the other host takes
// the instance over and does its work, before host goes on (and finds its
// lease gone when it next writes).
func (w *world) pauseHere(host int) {
	d := w.disp
	if d == nil || d.pause == nil || d.pause.done || d.pause.host != host {
		return
	}
	d.pause.done = true
	w.faults++
	to := w.clock.Now().Add(leaseTTL + time.Second)
	w.clock.Set(to)
	w.steps[d.step].PauseTo = to
	d.lines = append(d.lines, say("host %d stalls past its lease (clock +%v) and host %d takes the instance over", host, leaseTTL+time.Second, d.pause.other))
	work, err := w.runHost(d.pause.other, true, 0)
	line := say("host %d is done (%d transitions, %d effects) and host %d goes on", d.pause.other, work.Transitions, work.Effects, host)
	if err != nil {
		line = join(line, "; ", say("%s", shortError{err}))
	}
	d.lines = append(d.lines, line)
	if err != nil && !errors.Is(err, storage.ErrLeased) {
		w.fail(InvEffects, w.where(), "host %d's ProcessInstance, taking over from a stalled host, failed: %v", d.pause.other, err)
	}
}

// perform is the receiver of setup, teardown and finishing effects: it
// de-duplicates by effect ID, as the contract tells receivers to, and
// checks that effects come once without faults, that setups and teardowns
// pair up, and that an instance's end comes after all of them.
func (w *world) perform(host int, info engine.EffectInfo) error {
	w.pauseHere(host)
	if w.disp != nil {
		w.disp.lines = append(w.disp.lines, lazily(&effectLine{host: host, kind: info.Kind, id: info.ID}))
	}
	if w.seen(host, info) {
		return nil
	}
	switch info.Kind {
	case interp.EffectSetup:
		if prev, ok := w.setups[info.Callback]; ok {
			w.fail(InvSetupTeardown, info.Path, "callback %d was set up twice, by %s and %s", info.Callback, prev, info.ID)
		}
		w.setups[info.Callback] = info.ID
	case interp.EffectTeardown:
		if _, ok := w.setups[info.Callback]; !ok {
			w.fail(InvSetupTeardown, info.Path, "teardown %s of callback %d, whose setup was never performed", info.ID, info.Callback)
		}
		w.teardowns[info.Callback] = append(w.teardowns[info.Callback], info.ID)
		if len(w.teardowns[info.Callback]) > 1 {
			w.fail(InvSetupTeardown, info.Path, "callback %d was torn down twice: %v", info.Callback, w.teardowns[info.Callback])
		}
	case interp.EffectCompleted, interp.EffectFailed, interp.EffectCanceled, interp.EffectTerminated:
		w.endAfterAll(info)
	case interp.EffectStartChild, interp.EffectEndChild:
		w.performChild(info)
	}
	return nil
}

// endAfterAll checks, as the instance's end is performed, that every setup
// and teardown it emitted was performed before: one still in the outbox
// was passed over; one gone from it unperformed was lost. (A new run over
// the instance's ID, reuse.go, emits effects after the old run's end: the
// end waits only for those committed before it.)
func (w *world) endAfterAll(info engine.EffectInfo) {
	end := w.effects[info.ID].ID.Seq
	var inOutbox map[string]bool
	for _, id := range sortedKeys(w.effects) {
		e := w.effects[id]
		if (e.Kind != interp.EffectSetup && e.Kind != interp.EffectTeardown) || w.performed[id] > 0 || e.ID.Seq > end {
			continue
		}
		if inOutbox == nil {
			inOutbox = map[string]bool{}
			out, err := w.store.Outbox(w.ctx, 1000)
			if err != nil {
				w.fail(InvEffects, "", "the outbox cannot be read: %v", err)
				return
			}
			for _, se := range out {
				inOutbox[se.ID] = true
			}
		}
		if !inOutbox[id] {
			w.fail(InvEffects, e.Path, "committed effects never dispatched: %s (%s at %q) left the outbox unperformed, and the instance's end (%s %s) was performed",
				id, e.Kind, e.Path, info.Kind, info.ID)
		} else {
			w.fail(InvSetupTeardown, e.Path, "the instance's end (%s %s) was performed before %s %s", info.Kind, info.ID, e.Kind, id)
		}
		return
	}
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// seen counts a performance of an effect by host and reports whether it
// was performed before: a repeat is allowed only where a fault explains
// it (and the receiver ignores it): a host crashed or stalled since the
// effect's last performance (before acknowledging it), the host is a
// stalled one going on past its lease (performing what it had read), or
// the last performance was such a host's (its acknowledgement was
// fenced).
func (w *world) seen(host int, info engine.EffectInfo) bool {
	w.performed[info.ID]++
	last, ok := w.performedAt[info.ID]
	d := w.disp
	stale := d != nil && d.pause != nil && d.pause.done && d.pause.host == host
	if stale {
		w.performedAt[info.ID] = staleHost
	} else {
		w.performedAt[info.ID] = w.faults
	}
	if n := w.performed[info.ID]; n > 1 {
		switch {
		case w.faults == 0:
			w.fail(InvEffects, info.Path, "effect %s (%s) was performed %d times, with no crash or stalled host to explain it", info.ID, info.Kind, n)
		case ok && last != staleHost && last == w.faults && !stale:
			w.fail(InvEffects, info.Path, "effect %s (%s) was performed %d times, with no crash or stalled host to explain it since its previous performance", info.ID, info.Kind, n)
		}
		return true
	}
	if _, ok := w.effects[info.ID]; !ok {
		w.fail(InvInventedEvent, info.Path, "effect %s (%s) was dispatched but no accepted transition emitted it", info.ID, info.Kind)
	}
	return false
}

// runActivity is the engines' ActivityRunner: it draws the attempt's outcome
// (success: the stub's result or the activity run on its input; an error;
// a timeout), records it for the replay, and tells the model what the
// engine is about to commit.
func (w *world) runActivity(host int, info engine.EffectInfo) (_ []byte, err error) {
	w.pauseHere(host)
	d := w.disp
	if d != nil {
		defer func() {
			if r := recover(); r != nil {
				d.aborted = r
				err = errAborted
			}
		}()
	}
	w.seen(host, info)
	var src source
	what := "success"
	if d != nil {
		src = d.src
		what = d.outcome
		if d.goal != "" && d.goal == info.Path {
			what = d.goalOut
		}
	}
	if what == "" {
		what = "success"
		if src != nil {
			what = pick(src, []string{"success", "error", "timeout"}, "outcome")
		}
	}
	out, msg, shown := w.attempt(src, info, what)
	ev := interp.Event{Kind: interp.EventCallback, Callback: info.Callback, Payload: out, Error: msg}
	if d != nil {
		d.expect[host] = &ev
		st := &w.steps[d.step]
		st.Outcomes = append(st.Outcomes, attemptOutcome{Payload: out, Error: msg})
		d.lines = append(d.lines, lazily(&effectLine{host: host, activity: true, path: info.Path, thread: info.Thread, attempt: info.Attempt, shown: shown}))
	}
	if msg != "" {
		return nil, errors.New(msg)
	}
	return out, nil
}

// effectLine is the line of an effect a host performed or an activity
// attempt it ran, in a dispatch's trace line.
type effectLine struct {
	host     int
	kind     interp.EffectKind
	id       string
	activity bool
	path     string
	thread   string
	attempt  uint32
	shown    string // an attempt's outcome
}

func (l *effectLine) String() string {
	if l.activity {
		return fmt.Sprintf("host %d runs activity %q of thread %s, attempt %d: %s", l.host, l.path, l.thread, l.attempt, l.shown)
	}
	return fmt.Sprintf("host %d performs %s %s", l.host, l.kind, l.id)
}

// errAborted is the outcome of an activity attempt whose draw ended the
// run (see dispatching.aborted).
var errAborted = errors.New("simulate: the run was aborted")

// attempt is an activity attempt's outcome what: its result or error
// message, and how to show it.
func (w *world) attempt(src source, info engine.EffectInfo, what string) (out []byte, msg, shown string) {
	switch what {
	case "error":
		return nil, "simulated failure", "error"
	case "timeout":
		return nil, "simulated timeout: context deadline exceeded", "timeout"
	}
	return w.succeed(src, w.def, info.Path, info.Data, "")
}

// succeed is a successful attempt of the activity at path of def on the
// snapshot data: the stub of Options.Activities for the path, or the
// activity run on its snapshot (whose own error makes the attempt fail; a
// panic breaks InvPanic, reported after who, if given).
func (w *world) succeed(src source, def *dsl.Definition, path string, data []byte, who string) (out []byte, msg, shown string) {
	if stub, ok := w.opts.activities[path]; ok {
		var v any
		if src != nil && src.rapid() != nil {
			v = stub(src.rapid())
		} else if n, _ := def.Lookup(path); n.Kind() == dsl.KindCall && n.Output() != nil && src != nil {
			v = valueOf(src, n.Output(), path).Interface()
		}
		b, err := codec.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("simulate: the stub result for %q does not encode: %v", path, err))
		}
		return b, "", fmt.Sprintf("success (stub: %+v)", v)
	}
	out, err := activity.Run(w.ctx, def, path, data)
	if errors.Is(err, dsl.ErrActivityPanic) {
		if who != "" {
			w.fail(InvPanic, path, "%s: %v", who, err)
		} else {
			w.fail(InvPanic, path, "%v", err)
		}
	}
	if err != nil {
		msg := err.Error()
		if msg == "" {
			msg = "activity failed"
		}
		return nil, msg, "error from the activity: " + msg
	}
	return out, "", "success"
}

// leased is told of every lease a host obtains.
func (w *world) leased(host int, l storage.Lease) {
	if l.Instance != instanceID {
		return
	}
	if l.Token <= w.token {
		w.fail(InvFencing, w.where(), "host %d got a lease with fence token %d, not above the last one issued (%d)", host, l.Token, w.token)
	}
	w.token = max(w.token, l.Token)
}

// wrote is told of every write of a host: it checks that a write under a
// superseded lease was fenced, notes acknowledgements, and folds a
// transition the engine committed on its own into the model.
func (w *world) wrote(host int, op string, l fence, ids []string, err error) {
	if l.leased && l.token < w.token && !errors.Is(err, storage.ErrFenced) {
		outcome := "succeeded"
		if err != nil {
			outcome = "failed with " + err.Error()
		}
		w.fail(InvFencing, w.where(), "host %d's %s under lease token %d, superseded by token %d, %s instead of failing with storage.ErrFenced",
			host, op, l.token, w.token, outcome)
	}
	d := w.disp
	if op != "commit" && d != nil {
		d.expect[host] = nil // a commit after this one is not that activity's
	}
	if err != nil {
		return
	}
	switch op {
	case "ack":
		for _, id := range ids {
			if w.acked[id] {
				// A store hands out only what it holds, and an effect's
				// successful acknowledgement removes it: a second one
				// means the store kept it. (A stalled host's late ack is
				// fenced, so it never gets here.)
				w.fail(InvEffects, w.where(), "effect %s was acknowledged again by host %d after an acknowledgement that succeeded: the store kept an acknowledged effect, and no crash or stalled host explains that", id, host)
				return
			}
			w.acked[id] = true
		}
	case "commit":
		if d != nil {
			w.committed(host)
		}
	}
}

// committed folds a transition the engine committed in a dispatch: the
// activity result the runner just returned, or else a due Resume.
func (w *world) committed(host int) {
	if w.failure != nil {
		return
	}
	d := w.disp
	ev := interp.Event{Kind: interp.EventResume, Time: w.clock.Now()}
	line := say("host %d resumes the instance", host)
	var first *appliedOnce // an application of ev made already
	if x := d.expect[host]; x != nil {
		ev, d.expect[host] = *x, nil
		ev.Time = w.clock.Now()
		line = say("host %d commits the activity's result (callback %d)", host, ev.Callback)
		if ev.Error == "" {
			// A result the Call cannot take (it does not decode) is
			// delivered by the engine as a failed attempt instead.
			res, err := interp.Apply(w.def, w.state, w.meta, ev)
			if errors.Is(err, interp.ErrRejected) {
				ev.Payload, ev.Error = nil, "result rejected: engine: "+interp.EventCallback.String()+" of "+strconv.Quote(instanceID)+": "+err.Error()
				line = say("host %d commits the activity's result (callback %d), rejected: %s", host, ev.Callback, shortError{err})
			} else {
				// The event the model folds: this is the first of the
				// two applications fold compares.
				first = &appliedOnce{res: res, err: err}
			}
		}
	}
	d.lines = append(d.lines, line)
	w.version++
	if _, ok := w.foldFrom(w.state, ev, nil, first); !ok {
		return
	}
	si, rec := w.load() // what the store made of the commit (it normalizes Due)
	if w.failure == nil {
		w.compareWith(si, rec, nil, true)
	}
	if ev.Kind == interp.EventCallback && w.failure == nil {
		w.history = append(w.history, delivered{ev: ev, label: say("the result of callback %d", ev.Callback)})
	}
}

// drain has the hosts, in turn, do all the work the store has now, each
// activity attempt succeeding, and moves the clock past what holds work
// back other than the instance's own due time (a timer is the liveness
// phase's choice): the lease of a host that crashed, an effect's retry
// backoff, the start of an activity's next attempt.
func (w *world) drain(src source, a *actions) {
	for round := 0; round < 64 && w.failure == nil; round++ {
		now := w.clock.Now()
		next, err := w.store.NextWork(w.ctx, now)
		if err != nil {
			w.fail(InvEffects, "", "the store's next work time cannot be read: %v", err)
			return
		}
		if next.IsZero() {
			return
		}
		if next.After(now) {
			out, err := w.store.Outbox(w.ctx, 1)
			if err != nil {
				w.fail(InvEffects, "", "the outbox cannot be read: %v", err)
				return
			}
			si, _ := w.load()
			if len(out) == 0 && next.Equal(si.Due) {
				return // the instance's own due time: not the drain's to reach
			}
			w.moveClock(next.Add(storage.DuePrecision - time.Nanosecond))
		}
		args := dispatchArgs{host: round % len(w.hosts), outcome: "success"}
		if a != nil && a.pursuing() && (a.goal.kind == evActivityOK || a.goal.kind == evActivityFailed) {
			// The goal's activity gets the goal's outcome, not the drain's.
			args.goalPath, args.goalOutcome = a.goal.path, "success"
			if a.goal.kind == evActivityFailed {
				args.goalOutcome = pick(src, []string{"error", "timeout"}, "goal outcome")
			}
		}
		if work := w.dispatch(src, args, say("drain")); work.Transitions+work.Effects == 0 && round >= len(w.hosts) {
			return // the hosts find nothing they can do: what is left is for the checks to explain
		}
	}
}

// finalWork checks, once the liveness phase drained the store, that
// nothing is left in the outbox but the effects of activities the
// instance still waits for, that nothing was dead-lettered, and that the
// store knows of no work but the instance's own due time.
func (w *world) finalWork() {
	out, err := w.store.Outbox(w.ctx, 1000)
	if err != nil {
		w.fail(InvEffects, "", "the outbox cannot be read: %v", err)
		return
	}
	for _, se := range out {
		oe, err := outbox.Decode(se)
		if err != nil || oe.Kind != interp.EffectRunActivity || !w.waitsFor(oe.Callback) {
			w.fail(InvEffects, oe.Path, "effect %s (%s) is still in the outbox after the liveness phase drained it", se.ID, oe.Kind)
			return
		}
	}
	dead, err := w.store.DeadLetters(w.ctx, "", 10)
	if err != nil || len(dead) > 0 {
		w.fail(InvEffects, "", "the store holds dead letters (%d, %v); the simulated receivers never fail for good", len(dead), err)
		return
	}
	si, _ := w.load()
	next, err := w.store.NextWork(w.ctx, w.clock.Now())
	if err != nil || (!next.IsZero() && !next.Equal(si.Due)) {
		w.fail(InvEffects, w.where(), "after the liveness phase the store has work at %s (%v), and the instance is due at %s",
			showDue(next), err, showDue(si.Due))
	}
}

// staleHost marks, in world.performedAt, a performance by a stalled host
// past its lease.
const staleHost = -1
