package schedule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// Scheduler creates and controls the schedules of one engine, and performs
// their launches. Make one per engine with [New], in every process that
// runs the engine over the store: any of them may perform a launch.
type Scheduler struct {
	e          *engine.Engine
	defs       map[string]*dsl.Definition
	clock      engine.Clock
	afterStart func(id string) error // tests: fail a launch after a start
}

// Option configures a [Scheduler].
type Option func(*Scheduler)

// WithClock sets the clock launches read to compute fire times and to
// judge missed fires (default the wall clock). Give it the engine's clock
// (engine.WithClock): tests drive both with one engine.FakeClock.
func WithClock(c engine.Clock) Option { return func(s *Scheduler) { s.clock = c } }

// wallClock is the default clock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) Timer(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// New registers the built-in [Workflow] and the launcher with e, and
// returns the engine's Scheduler. targets are the workflows schedules may
// start; each must be registered with e. Call it once per engine (a second
// call fails: the workflow is registered).
func New(e *engine.Engine, targets []*dsl.Definition, opts ...Option) (*Scheduler, error) {
	if e == nil {
		return nil, &SpecError{Field: "engine", Reason: "nil"}
	}
	s := &Scheduler{e: e, defs: map[string]*dsl.Definition{}, clock: wallClock{}}
	for _, d := range targets {
		if d == nil {
			return nil, &SpecError{Field: "targets", Reason: "a nil definition"}
		}
		s.defs[d.Name()] = d
	}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	if s.clock == nil {
		return nil, &SpecError{Field: "WithClock", Reason: "nil clock"}
	}
	if err := e.Register(Workflow); err != nil {
		return nil, fmt.Errorf("schedule: New: %w", err)
	}
	e.Handle(launchType, launchHandler{s})
	return s, nil
}

// InstanceID is the ID of the instance of schedule name.
func InstanceID(name string) string { return instancePrefix + name }

// Create creates the schedule described by spec. Its first fire is the
// first fire time after now (the launcher computes it when the engine
// performs the schedule's first effect). A name whose schedule was deleted
// can be used again.
//
// Errors: a *[SpecError] ([ErrInvalidSpec]) for a spec that cannot be
// used, [ErrExists] when a schedule has the name, and the engine's errors.
func (s *Scheduler) Create(ctx context.Context, spec Spec) error {
	st, err := spec.check(s.defs, s.clock.Now())
	if err != nil {
		return err
	}
	err = s.e.Start(ctx, Workflow, InstanceID(spec.Name), State{Spec: st, Paused: spec.Paused},
		engine.WithIDReuse(engine.IDReuseAfterFinished))
	if errors.Is(err, engine.ErrExists) {
		return fmt.Errorf("%w: %q: %w", ErrExists, spec.Name, err)
	}
	return err
}

// Pause stops the schedule firing until [Scheduler.Resume]; pausing a
// paused schedule does nothing. Fires already pending are still launched.
// Errors: [ErrNotFound], and the engine's.
func (s *Scheduler) Pause(ctx context.Context, name string) error {
	return s.send(ctx, name, "pause", pauseEvent{})
}

// Resume lets a paused schedule fire again, from the first fire time after
// now: fires that fell while it was paused are not caught up. Resuming a
// running schedule recomputes its next fire time and nothing else.
func (s *Scheduler) Resume(ctx context.Context, name string) error {
	return s.send(ctx, name, "resume", resumeEvent{})
}

// Trigger fires the schedule now, out of its timing, even while paused:
// the run (ID "NAME@manual-TIME") starts under the overlap policy.
func (s *Scheduler) Trigger(ctx context.Context, name string) error {
	return s.send(ctx, name, "trigger", triggerEvent{At: s.clock.Now().UTC()})
}

// Update replaces the schedule's spec (spec.Name names it; Paused is
// ignored: use Pause and Resume). Its next fire is computed anew from now.
func (s *Scheduler) Update(ctx context.Context, spec Spec) error {
	st, err := spec.check(s.defs, s.clock.Now())
	if err != nil {
		return err
	}
	return s.send(ctx, spec.Name, "update", updateEvent{Spec: st})
}

// Delete ends the schedule: it fires no more (runs it started go on), and
// its name can be used again by Create.
func (s *Scheduler) Delete(ctx context.Context, name string) error {
	return s.send(ctx, name, "delete", deleteEvent{})
}

func (s *Scheduler) send(ctx context.Context, name, event string, payload any) error {
	err := s.e.Send(ctx, InstanceID(name), event, payload, nil)
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, interp.ErrFinished) {
		return fmt.Errorf("%w: %q: %w", ErrNotFound, name, err)
	}
	return err
}

// Info is what a schedule's instance says about it.
type Info struct {
	Name     string
	Workflow string
	Cron     string
	Every    time.Duration
	TimeZone string
	Overlap  OverlapPolicy
	CatchUp  time.Duration // the window in force (DefaultCatchUp when the spec set none)
	Paused   bool
	Next     time.Time  // the next fire; zero while paused or until the engine computed it
	Pending  []Fire     // fires not launched yet
	Buffered *time.Time // OverlapBufferOne: the fire waiting for the last run to finish
	LastRun  string     // the ID of the last run started
	Recent   []string   // the IDs of the last runs started, newest last
	Started  int        // runs started
	Skipped  int        // fires skipped by the overlap policy
	Missed   int        // fires older than the catch-up window
}

// Get returns schedule name. Errors: [ErrNotFound] (also for a deleted
// schedule), and the engine's.
func (s *Scheduler) Get(ctx context.Context, name string) (Info, error) {
	inst, err := s.e.Get(ctx, InstanceID(name))
	if errors.Is(err, storage.ErrNotFound) {
		return Info{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if err != nil {
		return Info{}, err
	}
	if inst.Workflow != WorkflowName || inst.Meta.Status.Finished() {
		return Info{}, fmt.Errorf("%w: %q (its instance is %s)", ErrNotFound, name, inst.Meta.Status)
	}
	return infoOf(inst)
}

// List returns every schedule of the store, by name.
func (s *Scheduler) List(ctx context.Context) ([]Info, error) {
	var out []Info
	after := instancePrefix
	for {
		page, err := s.e.List(ctx, after, 500)
		if err != nil {
			return nil, err
		}
		for _, inst := range page {
			if !strings.HasPrefix(inst.ID, instancePrefix) {
				return out, nil
			}
			after = inst.ID
			if inst.Workflow != WorkflowName || inst.Meta.Status.Finished() {
				continue
			}
			info, err := infoOf(inst)
			if err != nil {
				return nil, err
			}
			out = append(out, info)
		}
		if len(page) < 500 {
			return out, nil
		}
	}
}

func infoOf(inst engine.Instance) (Info, error) {
	var st State
	if err := codec.Unmarshal(inst.State, &st); err != nil {
		return Info{}, fmt.Errorf("schedule: instance %q: %w", inst.ID, err)
	}
	sp := st.Spec
	info := Info{Name: sp.Name, Workflow: sp.Workflow, Cron: sp.Cron, Every: sp.Every, TimeZone: sp.TimeZone,
		Overlap: sp.Overlap, CatchUp: sp.catchUp(), Paused: st.Paused, Next: st.Next, Pending: st.Pending,
		LastRun: st.LastRun, Recent: st.Recent, Started: st.Started, Skipped: st.Skipped, Missed: st.Missed}
	if st.Buffered != nil {
		at := st.Buffered.At
		info.Buffered = &at
	}
	return info, nil
}
