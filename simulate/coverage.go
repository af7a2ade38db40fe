package simulate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

// Coverage is what the runs of one [Check] reached: the statements where a
// thread can wait (Wait, Call, WaitFor, Join) and the events the simulator
// can cause (each event of each Wait delivered or fired, each activity
// succeeding and failing, a cancellation while a thread waits at each
// statement, and each way the instance can end). A thread passes through
// steps, branches and loops inside one transition, where the simulator
// cannot see it; the positions listed are where the instance can be found
// between transitions.
type Coverage struct {
	Workflow  string
	Runs      int     // runs that completed (passing or not)
	Positions []Visit // every waiting statement, in definition order
	Events    []Visit // every event, in definition order
}

// Visit is a statement path or an event and how often the runs reached it;
// zero means never.
type Visit struct {
	// Name is a statement path (`"cart/shop" (wait)`) or an event:
	// `deliver add at "cart/shop"`, `timer timeout at "cart/shop"`,
	// `activity "pay" succeeds`, `activity "pay" fails`,
	// `cancel at "confirm"`, `end completed`.
	Name  string
	Count int
}

// Missed returns the names of the positions and events no run reached.
func (c *Coverage) Missed() []string {
	var out []string
	for _, vs := range [][]Visit{c.Positions, c.Events} {
		for _, v := range vs {
			if v.Count == 0 {
				out = append(out, v.Name)
			}
		}
	}
	return out
}

// String is the report: a summary line, then every position and event with
// its count, those never reached marked "never".
func (c *Coverage) String() string {
	var b strings.Builder
	hit := func(vs []Visit) int {
		n := 0
		for _, v := range vs {
			if v.Count > 0 {
				n++
			}
		}
		return n
	}
	fmt.Fprintf(&b, "coverage of %q after %d runs: %d of %d waiting positions, %d of %d events\n",
		c.Workflow, c.Runs, hit(c.Positions), len(c.Positions), hit(c.Events), len(c.Events))
	for _, sec := range []struct {
		title string
		vs    []Visit
	}{{"positions", c.Positions}, {"events", c.Events}} {
		b.WriteString(sec.title + ":\n")
		for _, v := range sec.vs {
			if v.Count == 0 {
				fmt.Fprintf(&b, "  never  %s\n", v.Name)
			} else {
				fmt.Fprintf(&b, "  %5d  %s\n", v.Count, v.Name)
			}
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// eventKind says what kind of event an eventKey names.
type eventKind uint8

const (
	evDeliver eventKind = iota + 1
	evTimer
	evActivityOK
	evActivityFailed
	evCancel
	evTerminate
	evEnd
	evChildEnd // a child's end reaches the parent (name: the child's status); counted, not a goal
)

// eventKey is an event as coverage counts it: kind, the On's or the end's
// name, and the statement path.
type eventKey struct {
	kind eventKind
	name string
	path string
}

func (k eventKey) String() string {
	switch k.kind {
	case evDeliver:
		return fmt.Sprintf("deliver %s at %q", k.name, k.path)
	case evTimer:
		return fmt.Sprintf("timer %s at %q", k.name, k.path)
	case evActivityOK:
		return fmt.Sprintf("activity %q succeeds", k.path)
	case evActivityFailed:
		return fmt.Sprintf("activity %q fails", k.path)
	case evCancel:
		return fmt.Sprintf("cancel at %q", k.path)
	case evTerminate:
		return fmt.Sprintf("terminate at %q", k.path)
	case evChildEnd:
		return fmt.Sprintf("child at %q %s", k.path, k.name)
	}
	return "end " + k.name
}

// explorer is one Check's memory across its runs: what the definition
// offers, what earlier runs reached, and the goals still open.
type explorer struct {
	workflow  string
	positions []string // waiting statements, in definition order
	posKind   map[string]string
	events    []eventKey // every event, in definition order
	goals     []eventKey // the events a run can aim at (not ends)

	seenPos    map[string]int
	seenEvents map[eventKey]int
	runs       int
	rejected   int  // runs skipped because their goal was already reached
	frozen     bool // a run failed: rapid is shrinking, goals no longer steer
}

func newExplorer(def *dsl.Definition, opts *config) *explorer {
	x := &explorer{workflow: def.Name(), posKind: map[string]string{}, seenPos: map[string]int{}, seenEvents: map[eventKey]int{}}
	seen := map[eventKey]bool{}
	add := func(k eventKey) {
		if !seen[k] {
			seen[k] = true
			x.events = append(x.events, k)
		}
	}
	for _, d := range []*dsl.Definition{def, opts.upgrade} {
		if d == nil {
			continue
		}
		visit := func(cleanup bool) func(n dsl.Node) bool {
			return func(n dsl.Node) bool {
				path, kind := n.Path(), n.Kind()
				switch kind {
				case dsl.KindWait, dsl.KindCall, dsl.KindWaitFor, dsl.KindJoin, dsl.KindChild:
					if _, ok := x.posKind[path]; !ok {
						x.positions = append(x.positions, path)
						x.posKind[path] = kind.String()
					}
				}
				switch kind {
				case dsl.KindWait:
					for _, on := range n.Arms() {
						switch on.Trigger() {
						case dsl.TriggerTimer:
							add(eventKey{evTimer, on.Name(), path})
						case dsl.TriggerCustom:
							add(eventKey{evDeliver, on.Name(), path})
						}
					}
				case dsl.KindCall:
					add(eventKey{evActivityOK, "", path})
					add(eventKey{evActivityFailed, "", path})
				}
				waits := kind == dsl.KindWait || kind == dsl.KindCall || kind == dsl.KindWaitFor || kind == dsl.KindJoin
				if waits && !cleanup && !opts.noCancel {
					add(eventKey{evCancel, "", path})
				}
				if waits && !opts.noTerminate { // (a canceling instance can be terminated in its cleanup)
					add(eventKey{evTerminate, "", path})
				}
				return true
			}
		}
		d.Root().Walk(visit(false))
		if c, ok := d.Cleanup(); ok {
			c.Walk(visit(true))
		}
	}
	for _, k := range x.events {
		x.goals = append(x.goals, k)
	}
	for _, p := range x.positions { // child ends: counted, not goals (no goal pursues them)
		if x.posKind[p] == dsl.KindChild.String() {
			for _, s := range []interp.Status{interp.StatusCompleted, interp.StatusFailed, interp.StatusCanceled, interp.StatusTerminated} {
				x.events = append(x.events, eventKey{evChildEnd, s.String(), p})
			}
		}
	}
	for _, s := range []interp.Status{interp.StatusCompleted, interp.StatusFailed, interp.StatusCanceled, interp.StatusTerminated} {
		if (s != interp.StatusCanceled || !opts.noCancel) && (s != interp.StatusTerminated || !opts.noTerminate) {
			x.events = append(x.events, eventKey{kind: evEnd, name: s.String()})
		}
	}
	return x
}

// open reports whether some goal has not been reached yet.
func (x *explorer) open() bool {
	for _, g := range x.goals {
		if x.seenEvents[g] == 0 {
			return true
		}
	}
	return false
}

// steer reports whether a run aiming at goal should be skipped, so that
// rapid draws another: its goal was reached by earlier runs while others
// are still open. Skipping only ever happens in a fresh run with a memory
// of earlier runs: replays of a seed or a fail file start with none and
// shrinking runs are frozen, so they all run exactly as the bits say.
func (x *explorer) steer(goal eventKey) bool {
	if x.frozen || x.seenEvents[goal] == 0 || x.rejected >= 4*(x.runs+1) || !x.open() {
		return false
	}
	x.rejected++
	return true
}

// merge adds a run's visits to the Check's memory.
func (x *explorer) merge(w *world) {
	if x.frozen {
		return
	}
	x.runs++
	for p, n := range w.reached {
		if _, ok := x.posKind[p]; ok {
			x.seenPos[p] += n
		}
	}
	for k, n := range w.visits {
		x.seenEvents[k] += n
	}
}

// coverage is the report of what the runs reached.
func (x *explorer) coverage() *Coverage {
	c := &Coverage{Workflow: x.workflow, Runs: x.runs}
	for _, p := range x.positions {
		c.Positions = append(c.Positions, Visit{Name: fmt.Sprintf("%q (%s)", p, x.posKind[p]), Count: x.seenPos[p]})
	}
	known := map[eventKey]bool{}
	for _, k := range x.events {
		known[k] = true
		c.Events = append(c.Events, Visit{Name: k.String(), Count: x.seenEvents[k]})
	}
	// Events of paths the definitions do not have (a thread ID's path
	// after a migration, say) are listed after the others.
	var extra []Visit
	for k, n := range x.seenEvents {
		if !known[k] {
			extra = append(extra, Visit{Name: k.String(), Count: n})
		}
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].Name < extra[j].Name })
	c.Events = append(c.Events, extra...)
	return c
}

// observe records the events a transition caused, from the model's meta
// before (pre) and after (post) it: which wait was answered and how, which
// positions the instance was canceled at, how it ended, and where its
// threads wait now.
func (w *world) observe(pre interp.Meta, ev interp.Event, post interp.Meta) {
	if w.visits == nil {
		return
	}
	switch ev.Kind {
	case interp.EventCallback:
		for _, th := range pre.Threads {
			for _, p := range th.Waits {
				if p.Callback != ev.Callback {
					continue
				}
				switch p.Kind {
				case interp.Custom:
					w.visits[eventKey{evDeliver, p.Event, th.Path}]++
				case interp.Timer:
					w.visits[eventKey{evTimer, p.Event, th.Path}]++
				case interp.Activity:
					if ev.Error == "" {
						w.visits[eventKey{evActivityOK, "", th.Path}]++
					} else {
						w.visits[eventKey{evActivityFailed, "", th.Path}]++
					}
				case interp.Child:
					var o interp.ChildOutcome
					if codec.Unmarshal(ev.Payload, &o) == nil {
						w.visits[eventKey{evChildEnd, o.Status.String(), th.Path}]++
					}
				}
			}
		}
	case interp.EventResume:
		// A Resume fires every timer that is due; the answered ones are
		// the newest entries of Recent.
		for _, th := range pre.Threads {
			for _, p := range th.Waits {
				if p.Kind == interp.Timer && !p.At.After(ev.Time) && recent(post, p.Callback) {
					w.visits[eventKey{evTimer, p.Event, th.Path}]++
				}
			}
		}
	case interp.EventCancel, interp.EventTerminate:
		k := evCancel
		if ev.Kind == interp.EventTerminate {
			k = evTerminate
		}
		for _, th := range pre.Threads {
			if th.Phase == interp.PhaseWaiting {
				w.visits[eventKey{k, "", th.Path}]++
			}
		}
	}
	if post.Status.Finished() && !pre.Status.Finished() {
		w.visits[eventKey{kind: evEnd, name: post.Status.String()}]++
	}
	for _, th := range post.Threads {
		if th.Phase == interp.PhaseWaiting {
			w.reached[th.Path]++
		}
	}
}

func recent(m interp.Meta, callback uint64) bool {
	for _, cb := range m.Recent {
		if cb == callback {
			return true
		}
	}
	return false
}
