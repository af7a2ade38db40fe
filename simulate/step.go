package simulate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// step is one recorded input of a run, with every value it drew, so the run
// can be replayed without rapid, and what the run's store held after it.
type step struct {
	Kind  stepKind
	Input []byte       // start: the encoded start state
	Event interp.Event // event: what was applied (Time included); start: the signal-with-start event, if any
	Crash crashPoint   // event: where the host crashed
	Label text
	Host  int       // event, dispatch, new run, restart: the host
	To    time.Time // clock: where the clock moved
	// new run: the ID reuse policy of the Start (Input is its input,
	// Event its start event)
	Reuse engine.IDReusePolicy
	// collect: the retention period of the GC, and whether it deleted
	// the instance
	Keep time.Duration
	Gone bool

	// dispatch: ProcessInstance (else RunDue), the write at which the host
	// died (0: none), whether it stalled past its lease for host Other to
	// take over (the clock then moved to PauseTo), and the outcomes of the
	// activity attempts, in the order the engines ran them.
	Process  bool
	CrashAt  int
	Pause    bool
	Other    int
	PauseTo  time.Time
	Outcomes []attemptOutcome

	// start, event: the stored instance after the step, and (when the host
	// answered) the effects of the transition.
	Version uint64
	Stored  []byte
	Effects []interp.Effect
	Checked bool // Version and Stored were recorded
}

type stepKind uint8

const (
	stepStart stepKind = iota
	stepEvent
	stepDispatch
	stepClock
	stepSwap
	stepNewRun
	stepRestart // a host crashes between events
	stepCollect // a GC with retention (retention.go)
)

// replay runs a passing run's steps again on a fresh store and a fresh
// host (FoundationDB's unseed check) and compares, after every step, the
// stored instance byte for byte and the transition's effects with the
// run's: nothing outside the recorded inputs may matter. The run already
// checked every other invariant on the same inputs; the replay looks only
// for a difference, and names the first step where one appears.
func replay(def *dsl.Definition, opts *config, steps []step) *Violation {
	var st storage.Store = memory.New()
	if opts.store != nil {
		st = opts.store(st)
	}
	r := &replayer{def: def, opts: opts, store: st, clock: engine.NewFakeClock(simStart), ctx: context.Background(),
		hosts: make([]*simHost, max(opts.hosts, 1))}
	r.restart()
	for i := range steps {
		s := &steps[i]
		switch s.Kind {
		case stepStart:
			v := reflect.New(def.StateType())
			if err := decode.Into("state", s.Input, v.Interface()); err != nil {
				return &Violation{Invariant: InvReplay, Detail: fmt.Sprintf("the recorded start state does not decode: %v", err)}
			}
			start := func() error { return r.hosts[0].api.Start(r.ctx, r.def, instanceID, v.Elem().Interface()) }
			if s.Event.Name != "" {
				start = func() error { return r.signalWithStart(v.Elem().Interface(), s.Event) }
			}
			if err := start(); err != nil {
				return r.diverged(i, s, fmt.Sprintf("the instance does not start: %v", err))
			}
		case stepEvent:
			r.moveClock(s.Event.Time)
			h := r.hosts[s.Host]
			h.store.armed, h.store.fired = s.Crash, noCrash
			res, err := h.api.Apply(r.ctx, instanceID, s.Event)
			h.store.armed = noCrash
			if h.store.fired != noCrash || errors.Is(err, ErrCrash) {
				r.crash(s.Host)
			} else if s.Effects != nil && err == nil && !effectsEqual(s.Effects, res.Effects) {
				return r.diverged(i, s, "the transition's effects differ (-run +replay):\n"+effectsDiff(s.Effects, res.Effects))
			}
		case stepDispatch:
			r.step, r.next, r.paused = s, 0, false
			h := r.hosts[s.Host]
			h.store.crashAt, h.store.writes = s.CrashAt, 0
			if s.Process {
				_, _ = h.e.ProcessInstance(r.ctx, instanceID)
			} else {
				_, _ = h.e.RunDue(r.ctx, dispatchLimit)
			}
			h.store.crashAt = 0
			r.step = nil
			if h.store.dead {
				r.crash(s.Host)
			}
			if r.problem != "" {
				return r.diverged(i, s, r.problem)
			}
		case stepNewRun:
			r.moveClock(s.Event.Time)
			v := reflect.New(r.def.StateType()) // (the deployed definition's, after an upgrade)
			if err := decode.Into("state", s.Input, v.Interface()); err != nil {
				return &Violation{Invariant: InvReplay, Detail: fmt.Sprintf("the recorded start state does not decode: %v", err)}
			}
			_ = startWithVia(r.hosts[s.Host]).StartWith(r.ctx, r.def, instanceID, v.Elem().Interface(), engine.WithIDReuse(s.Reuse)) // (refused or not, as in the run: compare says)
		case stepRestart:
			r.crash(s.Host)
		case stepCollect:
			if v := r.collect(i, s); v != nil {
				return v
			}
		case stepClock:
			r.moveClock(s.To)
		case stepSwap:
			r.def = opts.upgrade
			r.restart()
		}
		if s.Checked {
			if v := r.compare(i, s); v != nil {
				return v
			}
		}
	}
	return nil
}

// replayer is the fresh store and hosts of a replay. It is the hosts'
// receiver: activity attempts get the run's outcomes, in order, and a
// host the run stalled stalls again at the same point.
type replayer struct {
	def   *dsl.Definition
	opts  *config
	store storage.Store
	clock *engine.FakeClock
	hosts []*simHost
	ctx   context.Context

	step    *step  // the dispatch being replayed
	next    int    // its next activity outcome
	paused  bool   // its stalled host has stalled
	problem string // how the replay's dispatch differed from the run's
}

func (r *replayer) restart() {
	for i := range r.hosts {
		r.hosts[i] = newHost(i, r.def, r.opts, r.store, r.clock, r)
	}
}

func (r *replayer) crash(i int) {
	crashStore(r.store)
	r.hosts[i] = newHost(i, r.def, r.opts, r.store, r.clock, r)
}

func (r *replayer) moveClock(t time.Time) {
	if t.After(r.clock.Now()) {
		r.clock.Set(t)
	}
}

// collect runs the GC of step i as the run did (see world.collect): the
// instance must be deleted, or kept, as it was in the run. The start over
// a deleted instance that may follow is then replayed over the tombstone.
func (r *replayer) collect(i int, s *step) *Violation {
	e, err := engine.New(r.store, engine.WithClock(stillClock{r.clock}), engine.WithRetention(s.Keep))
	if err != nil {
		panic(err) // as in world.collect
	}
	_, _ = e.GC(r.ctx) // (what it did is what the run's did: checked below)
	_, err = r.store.Load(r.ctx, instanceID)
	switch gone := errors.Is(err, storage.ErrNotFound); {
	case err != nil && !gone:
		return r.diverged(i, s, fmt.Sprintf("after the GC the instance cannot be loaded: %v", err))
	case gone && !s.Gone:
		return r.diverged(i, s, "the replay's GC deleted the instance, which the run's kept")
	case !gone && s.Gone:
		return r.diverged(i, s, "the replay's GC kept the instance, which the run's deleted")
	}
	return nil
}

// pauseHere stalls host as the run did.
func (r *replayer) pauseHere(host int) {
	s := r.step
	if s == nil || !s.Pause || r.paused || host != s.Host {
		return
	}
	r.paused = true
	r.moveClock(s.PauseTo)
	_, _ = r.hosts[s.Other].e.ProcessInstance(r.ctx, instanceID)
}

func (r *replayer) perform(host int, _ engine.EffectInfo) error {
	r.pauseHere(host)
	return nil
}

func (r *replayer) runActivity(host int, info engine.EffectInfo) ([]byte, error) {
	r.pauseHere(host)
	if r.step == nil || r.next >= len(r.step.Outcomes) {
		if r.problem == "" {
			r.problem = fmt.Sprintf("the engine ran activity %q (effect %s), which the run's dispatch did not", info.Path, info.ID)
		}
		return nil, errors.New("simulate: replay diverged")
	}
	o := r.step.Outcomes[r.next]
	r.next++
	if o.Error != "" {
		return nil, errors.New(o.Error)
	}
	return o.Payload, nil
}

func (r *replayer) wrote(int, string, fence, []string, error) {}

func (r *replayer) leased(int, storage.Lease) {}

// compare checks the stored instance against the run's after step i.
func (r *replayer) compare(i int, s *step) *Violation {
	si, err := r.store.Load(r.ctx, instanceID)
	if err != nil {
		return r.diverged(i, s, fmt.Sprintf("the instance cannot be loaded: %v", err))
	}
	if si.Version == s.Version && bytes.Equal(si.Data, s.Stored) {
		return nil
	}
	detail := fmt.Sprintf("the store is at version %d, the run's was at %d", si.Version, s.Version)
	if si.Version == s.Version {
		detail = "the stored instance differs (-run +replay):\n" + recordDiff(r.def, s.Stored, si.Data)
	}
	return r.diverged(i, s, detail)
}

func (r *replayer) diverged(i int, s *step, detail string) *Violation {
	what := s.Label.String()
	switch s.Kind {
	case stepStart:
		what = "start"
	case stepNewRun:
		what = "new run (" + s.Reuse.String() + ")"
	case stepDispatch:
		what = "dispatch"
	case stepCollect:
		what = "collect"
	}
	return &Violation{Invariant: InvReplay, Detail: fmt.Sprintf(
		"replaying the run's steps on fresh hosts diverged at step %d (%s): %s", i+1, what, detail)}
}

// recordDiff shows how two encoded records differ: state and meta.
func recordDiff(def *dsl.Definition, a, b []byte) string {
	ra, errA := codec.DecodeRecord(a)
	rb, errB := codec.DecodeRecord(b)
	if errA != nil || errB != nil {
		return fmt.Sprintf("record bytes %x vs %x (%v / %v)\n", a, b, errA, errB)
	}
	w := &world{def: def}
	out := w.stateDiff(ra.State, rb.State)
	ma, errA := interp.DecodeMeta(ra.Meta)
	mb, errB := interp.DecodeMeta(rb.Meta)
	if errA != nil || errB != nil {
		return out + fmt.Sprintf("meta bytes %x vs %x\n", ra.Meta, rb.Meta)
	}
	return out + metaDiff(ma, mb)
}

// Sim is what a user's action sees: a way to send events to the simulated
// instance and read its state.
type Sim struct {
	w interface {
		send(event string, payload any) error
		stateAny() (any, error)
	}
}

// Send delivers the custom event named event with payload to the first
// thread waiting for it, through the simulated host. It returns the host's
// error (a rejection, say) or an error if nobody waits for event: unlike
// engine.Send it does not buffer such an event (the simulator's own early
// sends do that; see [Options.NoEarlySends]).
func (s *Sim) Send(event string, payload any) error { return s.w.send(event, payload) }

// State returns the committed state (a *S).
func (s *Sim) State() (any, error) { return s.w.stateAny() }

func (w *world) send(event string, payload any) error {
	for _, pe := range w.pending(interp.Custom) {
		if pe.p.Event != event {
			continue
		}
		b, err := codec.Marshal(payload)
		if err != nil {
			return err
		}
		_, err = w.apply(interp.Event{Kind: interp.EventCallback, Callback: pe.p.Callback, Payload: b}, noCrash,
			say("user action: deliver %s%+v to thread %s at wait %q", event, payload, pe.thread, pe.path))
		return err
	}
	return fmt.Errorf("simulate: no thread waits for %q", event)
}

func (w *world) stateAny() (any, error) { return w.decodeState(w.state) }
