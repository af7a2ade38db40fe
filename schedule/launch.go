package schedule

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// maxExpand bounds how many missed fires one launch counts and runs: a
// schedule down for a year with a per-second spec does not loop for
// minutes. Fires beyond it are skipped uncounted.
const maxExpand = 10000

// runID is the instance ID of the run a fire starts: deterministic, so a
// launch performed again (the engine retries a setup until it is
// acknowledged) finds the run it started and starts no second one.
func runID(name string, f Fire) string {
	at := f.At.UTC().Format(time.RFC3339Nano)
	if f.Manual {
		return name + "@manual-" + at
	}
	return name + "@" + at
}

// launcher performs the launcher's setup effects: the engine side of a
// schedule. It implements engine.SetupHandler.
type launchHandler struct{ s *Scheduler }

// Setup launches what the request asks and answers the wait with a
// Launched. It is performed at least once per request: runs are started
// under deterministic IDs, and an answer to a wait that was resolved
// meanwhile is dropped (the next wait asks again).
func (h launchHandler) Setup(ctx context.Context, info engine.EffectInfo) error {
	var r launchRequest
	if err := info.Decode(&r); err != nil {
		return fmt.Errorf("schedule: launch request %s: %w", info.ID, err)
	}
	if !r.work() {
		return nil
	}
	sc := h.s
	inst, err := sc.e.Get(ctx, info.Instance)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !awaits(inst.Meta, info.Callback) {
		return nil // answered before (this is a retry), or resolved by a control event
	}
	out, err := sc.launch(ctx, r)
	if err != nil {
		return err
	}
	err = sc.e.Deliver(ctx, info.Instance, info.Callback, out, nil)
	if errors.Is(err, interp.ErrStaleCallback) || errors.Is(err, interp.ErrDuplicateCallback) || errors.Is(err, interp.ErrFinished) {
		return nil // the runs stand; their fires stay pending and the next launch finds them started
	}
	return err
}

// Teardown has nothing to undo: the runs a launch started stand.
func (launchHandler) Teardown(context.Context, engine.EffectInfo) error { return nil }

// awaits reports whether the instance waits for callback.
func awaits(m interp.Meta, callback uint64) bool {
	for _, th := range m.Threads {
		for _, p := range th.Waits {
			if p.Callback == callback {
				return true
			}
		}
	}
	return false
}

// launch starts the runs of r's pending fires (and of its buffered fire)
// under the overlap policy and the catch-up window, at the clock's time,
// and computes the next fire time.
func (sc *Scheduler) launch(ctx context.Context, r launchRequest) (Launched, error) {
	tm, err := r.Spec.timing()
	if err != nil {
		return Launched{}, fmt.Errorf("schedule %q: %w", r.Spec.Name, err)
	}
	now := sc.clock.Now()
	out := Launched{Next: r.Next, LastRun: r.LastRun, Buffered: r.Buffered, Recheck: r.Recheck}
	running, err := sc.running(ctx, r.LastRun)
	if err != nil {
		return Launched{}, err
	}
	started := func(id string) error {
		out.Started = append(out.Started, id)
		out.LastRun = id
		// A run may end as it starts (nothing to wait for): ask.
		running, err = sc.running(ctx, id)
		return err
	}
	if b := out.Buffered; b != nil {
		if !running {
			id := runID(r.Spec.Name, *b)
			if _, err := sc.start(ctx, r.Spec, id); err != nil {
				return Launched{}, err
			}
			if err := started(id); err != nil {
				return Launched{}, err
			}
			out.Buffered, out.Recheck = nil, time.Time{}
		} else {
			out.Recheck = now.Add(BufferPoll)
		}
	}
	fires, missed, scheduled := expand(r.Pending, tm, now, r.Spec.catchUp())
	out.Missed = missed
	for _, f := range fires {
		id := runID(r.Spec.Name, f)
		existed, err := sc.exists(ctx, id)
		if err != nil {
			return Launched{}, err
		}
		switch {
		case existed: // started by an earlier try of this launch
		case r.Spec.Overlap == OverlapAllowAll || !running:
			if existed, err = sc.start(ctx, r.Spec, id); err != nil {
				return Launched{}, err
			}
		case r.Spec.Overlap == OverlapBufferOne && out.Buffered == nil:
			out.Buffered, out.Recheck = &f, now.Add(BufferPoll)
			continue
		default:
			out.Skipped++
			continue
		}
		if err := started(id); err != nil {
			return Launched{}, err
		}
	}
	if !r.Paused && (out.Next.IsZero() || scheduled) {
		out.Next = tm.next(now)
		out.Exhausted = out.Next.IsZero()
	}
	if r.Paused {
		out.Next = time.Time{}
	}
	return out, nil
}

// expand lists the fires to run for the pending ones at now: a scheduled
// fire stands for itself and every later one up to now (those missed while
// no process ran the schedule); of those, fires older than the catch-up
// window are missed. Manual fires always run. scheduled reports whether a
// scheduled fire was pending (the next fire time is then to compute).
func expand(pending []Fire, tm timing, now time.Time, window time.Duration) (fires []Fire, missed int, scheduled bool) {
	oldest := now.Add(-window)
	for _, p := range pending {
		if p.Manual {
			fires = append(fires, p)
			continue
		}
		scheduled = true
		t := p.At
		for n := 0; !t.IsZero() && t.Before(oldest) && n < maxExpand; n++ {
			missed++
			t = tm.next(t)
		}
		if !t.IsZero() && t.Before(oldest) {
			t = tm.next(oldest.Add(-time.Nanosecond)) // beyond the count: jump
		}
		for n := 0; !t.IsZero() && !t.After(now) && n < maxExpand; n++ {
			fires = append(fires, Fire{At: t})
			t = tm.next(t)
		}
	}
	return fires, missed, scheduled
}

// running reports whether run id exists and has not finished.
func (sc *Scheduler) running(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	inst, err := sc.e.Get(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !inst.Meta.Status.Finished(), nil
}

func (sc *Scheduler) exists(ctx context.Context, id string) (bool, error) {
	_, err := sc.e.Get(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// start starts run id of the spec's workflow; existed reports that it had
// been started before.
func (sc *Scheduler) start(ctx context.Context, st stored, id string) (existed bool, _ error) {
	def := sc.defs[st.Workflow]
	if def == nil {
		return false, fmt.Errorf("schedule %q: workflow %q was not given to schedule.New in this process", st.Name, st.Workflow)
	}
	input := reflect.New(def.StateType())
	if len(st.Input) > 0 {
		if err := codec.Unmarshal(st.Input, input.Interface()); err != nil {
			return false, fmt.Errorf("schedule %q: input: %w", st.Name, err)
		}
	}
	err := sc.e.Start(ctx, def, id, input.Interface())
	if errors.Is(err, engine.ErrExists) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("schedule %q: start %q: %w", st.Name, id, err)
	}
	if sc.afterStart != nil {
		if err := sc.afterStart(id); err != nil {
			return false, err
		}
	}
	return false, nil
}
