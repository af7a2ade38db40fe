package simulate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"pgregory.net/rapid"
)

// Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012; TigerBeetle's
// VOPR): every run draws its own configuration, a weight for each kind of
// action, zero switching the kind off. A run where timers and cancellation
// are off goes deep into the workflow; one with crashes weighted up
// hammers recovery. Uniform choice among all actions makes every run the
// same average mix, and a bug that needs a rare combination (cancel, but
// only after the payment went through) waits for a rare run.
//
// On top of that each run aims at a goal: an event (a delivery at a given
// wait, an activity failing, a cancellation while a thread waits at a
// given statement) that no earlier run of the same Check reached. The run
// takes the goal's action whenever it can; the liveness phase, which
// drives the instance through its waits, takes it too.

// kind is one kind of action and its weight in a run's swarm.
type kind struct {
	name   string
	weight int // 0: off in this run
	act    func(*rapid.T)
	ready  func() bool // whether the kind has something to act on now; nil: always
	// idle marks an action worth taking now and then with nothing to
	// act on: while ready says no, a kind the swarm has on weighs 1
	// (instead of nothing).
	idle bool
	// light marks an action that looks rather than drives (a listing, a
	// query, a GC at the end): it draws a weight of at most 1, so that
	// it does not take the steps of a run from the actions that find
	// bugs by moving the instance and crashing its hosts.
	light bool
}

// maxWeight is the largest weight a kind draws; 0 switches it off.
const maxWeight = 4

// drawSwarm draws the run's configuration over kinds. Deliveries and
// activity results, the actions that make progress, count double. If
// every kind is off, deliveries are on: a run must be able to do
// something.
func drawSwarm(rt *rapid.T, kinds []kind) []kind {
	on := 0
	for i := range kinds {
		hi := maxWeight
		if kinds[i].light {
			hi = 1
		}
		kinds[i].weight = ints(0, hi).Draw(rt, kinds[i].name)
		if kinds[i].name == "deliver" || kinds[i].name == "activity" {
			kinds[i].weight *= 2
		}
		on += kinds[i].weight
	}
	if on == 0 {
		kinds[0].weight = 1
	}
	return kinds
}

// pickKind draws one kind by weight among those with something to act on
// (so that a run whose swarm weighs timers up does not stop early for want
// of a timer) and, at a small weight, the idle kinds that have nothing to
// act on, falling back to every kind that is ready, then to all.
// Kinds are in the order rapid shrinks towards (deliveries first, crashes
// last).
func pickKind(rt *rapid.T, kinds []kind, weights []int) kind {
	total := 0
	// Kinds by index: a kind is a large value, and this runs at every
	// action.
	for i := range kinds {
		if k := &kinds[i]; k.weight > 0 && (k.ready == nil || k.ready()) {
			weights[i] = k.weight
			total += k.weight
		}
	}
	if total == 0 {
		for i := range kinds {
			if k := &kinds[i]; k.ready == nil || k.ready() {
				weights[i] = 1
				total++
			}
		}
	}
	if total == 0 {
		for i := range weights {
			weights[i] = 1
		}
		total = len(weights)
	} else {
		// Idle kinds come on top, at weight 1: never the only choice
		// while another kind has something to act on.
		for i := range kinds {
			if k := &kinds[i]; k.weight > 0 && k.idle && weights[i] == 0 {
				weights[i] = 1
				total++
			}
		}
	}
	n := ints(0, total-1).Draw(rt, "action")
	for i := range kinds {
		if n < weights[i] {
			return kinds[i]
		}
		n -= weights[i]
	}
	panic("simulate: unreachable")
}

// describeSwarm is the configuration line of a failure report.
func describeSwarm(kinds []kind) string {
	var parts []string
	for _, k := range kinds {
		if k.weight == 0 {
			parts = append(parts, k.name+" off")
		} else {
			parts = append(parts, fmt.Sprintf("%s %d", k.name, k.weight))
		}
	}
	return strings.Join(parts, ", ")
}

// step is one action of a run: the goal's when it is at hand (three times
// in four), else a kind drawn by the swarm's weights.
func (a *actions) step(rt *rapid.T) {
	if a.w.ret.gone {
		return // a GC deleted the instance: nothing is left to act on
	}
	if a.goalReady() && ints(0, 3).Draw(rt, "pursue the goal") > 0 {
		a.pursue(rapidSource{rt})
		return
	}
	if len(a.weights) != len(a.kinds) {
		a.weights = make([]int, len(a.kinds))
	}
	clear(a.weights)
	a.work.known = false // the store may have changed since the last step
	k := pickKind(rt, a.kinds, a.weights)
	k.act(rt)
	a.work.known = false
}

// goalReady reports whether the run's goal is open and its action can be
// taken now.
func (a *actions) goalReady() bool {
	w := a.w
	if a.goal == nil || a.tries >= maxTries || w.visits[*a.goal] > 0 || w.meta.Status.Finished() {
		return false
	}
	g := *a.goal
	switch g.kind {
	case evDeliver:
		return a.goalWaits(interp.Custom)
	case evTimer:
		return a.goalWaits(interp.Timer)
	case evActivityOK, evActivityFailed:
		return len(a.goalActivities()) > 0
	case evCancel, evTerminate:
		// A cancel needs a running instance; a terminate also ends one
		// that is canceling (in its cleanup).
		canceling := g.kind == evTerminate && w.meta.Status == interp.StatusCanceling
		if w.meta.Status != interp.StatusRunning && !canceling {
			return false
		}
		for _, th := range w.current().Threads {
			if th.Path == g.path && th.Phase == interp.PhaseWaiting {
				return true
			}
		}
	}
	return false
}

// pursuing reports whether the run has a goal it has not reached and may
// still try.
func (a *actions) pursuing() bool {
	return a.goal != nil && a.tries < maxTries && a.w.visits[*a.goal] == 0
}

// goalWaits reports whether goalPending(k) has any, without listing them
// (goalReady asks at every action).
func (a *actions) goalWaits(k interp.TriggerKind) bool {
	for _, pe := range a.w.pending(k) {
		if pe.path == a.goal.path && pe.p.Event == a.goal.name {
			return true
		}
	}
	return false
}

func (a *actions) goalPending(k interp.TriggerKind) []pending {
	var out []pending
	for _, pe := range a.w.pending(k) {
		if pe.path == a.goal.path && pe.p.Event == a.goal.name {
			out = append(out, pe)
		}
	}
	return out
}

// goalActivities lists the attempts of the goal's activity the instance
// waits for: those whose effects are in the outbox, for a host's engine
// to run, and those of an instance loaded by Verify (external).
func (a *actions) goalActivities() []goalAttempt {
	var out []goalAttempt
	var inOutbox map[uint64]engine.EffectInfo
	for _, pe := range a.w.pending(interp.Activity) {
		if pe.path != a.goal.path {
			continue
		}
		if info, ok := a.w.activity[pe.p.Callback]; ok {
			out = append(out, goalAttempt{info: info, external: true})
			continue
		}
		if inOutbox == nil {
			inOutbox = a.w.outboxActivities()
		}
		if info, ok := inOutbox[pe.p.Callback]; ok {
			out = append(out, goalAttempt{info: info})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].info.Callback < out[j].info.Callback })
	return out
}

// goalAttempt is an activity attempt the goal may take.
type goalAttempt struct {
	info     engine.EffectInfo
	external bool // its effect is in another store (Verify): the simulator delivers its result
}

// outboxActivities returns the run-activity effects in the outbox, by
// callback.
func (w *world) outboxActivities() map[uint64]engine.EffectInfo {
	out := map[uint64]engine.EffectInfo{}
	effects, err := w.store.Outbox(w.ctx, 1000)
	if err != nil {
		w.fail(InvEffects, "", "the outbox cannot be read: %v", err)
		return out
	}
	for _, se := range effects {
		if oe, err := outbox.Decode(se); err == nil && oe.Kind == interp.EffectRunActivity {
			out[oe.Callback] = effectInfo(se, &oe)
		}
	}
	return out
}

// effectInfo is the EffectInfo the engine would hand a runner for the
// outbox entry oe of se (without a fence token): what the engine's
// dispatcher tells its handlers, for an effect the simulator performs
// itself.
func effectInfo(se storage.Effect, oe *outbox.Entry) engine.EffectInfo {
	return engine.EffectInfo{
		ID: se.ID, Kind: oe.Kind, Instance: se.Instance, Workflow: oe.Workflow, Thread: oe.Thread,
		Path: oe.Path, Event: oe.Event, Type: oe.Type, Callback: oe.Callback, Data: oe.Data, Error: oe.Error,
		Attempt: oe.Attempt, At: oe.NotBefore(), Timeout: oe.AttemptTimeout(), Child: oe.Child, OnEnd: dsl.ParentEndPolicy(oe.OnEnd),
	}
}

// finishGoalActivity completes the goal's activity attempt g with
// outcome: through a host's engine if its effect is in the outbox (the
// clock moves to when the attempt may start), else by delivering it.
func (a *actions) finishGoalActivity(src source, g goalAttempt, outcome string) {
	w := a.w
	if g.external {
		w.finishActivity(src, g.info, outcome, noCrash)
		return
	}
	w.moveClock(g.info.At)
	args := dispatchArgs{host: w.pickHost(src), process: true, goalPath: g.info.Path, goalOutcome: outcome}
	label := say("run activity %q (the run's goal)", g.info.Path)
	// The goal's dispatch has work, and is often the first to take it: it
	// stalls when a draw from 0 to maxWeight falls below the run's stall
	// weight (never if stalls are off), so that a run aiming at an
	// activity still stalls a host in it.
	if sw := a.weightOf("stall"); sw > 0 && src.intn(0, maxWeight, "stall the goal's host") < sw {
		other := (args.host + 1 + src.intn(0, len(w.hosts)-2, "other host")) % len(w.hosts)
		args.pause = &pauseAt{host: args.host, other: other}
		label = say("run activity %q (the run's goal), stalling", g.info.Path)
	}
	w.dispatch(src, args, label)
}

// weightOf is the run's swarm weight of the kind of action name (0 if the
// run has no such kind).
func (a *actions) weightOf(name string) int {
	for _, k := range a.kinds {
		if k.name == name {
			return k.weight
		}
	}
	return 0
}

// maxTries bounds the attempts at a goal in one run: a delivery whose
// payloads the handler keeps rejecting must not stall the run.
const maxTries = 4

// pursue takes the goal's action; goalReady must hold.
func (a *actions) pursue(src source) {
	w := a.w
	a.tries++
	g := *a.goal
	switch g.kind {
	case evDeliver:
		a.deliverTo(src, pick(src, a.goalPending(interp.Custom), "goal event"), noCrash)
	case evTimer:
		a.fire(src, pick(src, a.goalPending(interp.Timer), "goal timer"), noCrash)
	case evActivityOK:
		a.finishGoalActivity(src, pick(src, a.goalActivities(), "goal activity"), "success")
	case evActivityFailed:
		a.finishGoalActivity(src, pick(src, a.goalActivities(), "goal activity"), pick(src, []string{"error", "timeout"}, "goal outcome"))
	case evCancel:
		w.apply(interp.Event{Kind: interp.EventCancel}, noCrash, say("cancel (the run's goal: %s)", g))
	case evTerminate:
		w.apply(interp.Event{Kind: interp.EventTerminate, Reason: "simulated", By: "simulator"}, noCrash, say("terminate (the run's goal: %s)", g))
	}
}

// drawGoal draws the run's goal among every goal of the definition; the
// explorer skips the run when the goal was reached before and others are
// still open.
func drawGoal(rt *rapid.T, x *explorer) *eventKey {
	if x == nil || len(x.goals) == 0 {
		return nil
	}
	g := x.goals[ints(0, len(x.goals)-1).Draw(rt, "goal")]
	if x.steer(g) {
		rt.Skip("goal reached by an earlier run")
	}
	return &g
}
