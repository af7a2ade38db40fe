package simulate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/journal"
	"github.com/weftflow/weft/storage"
)

// VerifyOptions configures [Verify].
type VerifyOptions struct {
	// Schedules is how many random schedules drive each running instance
	// forward under the new definition, after the static checks pass. Zero
	// runs the static checks only.
	Schedules int
	// Seed makes the schedules reproducible; each instance derives its own
	// seeds from it and its ID.
	Seed uint64
	// Resting and LivenessSteps are as in [Options].
	Resting       []string
	LivenessSteps int
	// Replay also runs each instance's journal (package journal), where
	// the store keeps one, through def: an instance whose recorded events
	// def handles differently (other effects, a rejection, a lost
	// position) is broken, with cause CauseReplay.
	Replay bool
	// Recorded are the versions that wrote the stored instances (today's
	// definitions): a replay starts an instance with the version that
	// started it, and def meets it at its next event, through its
	// migrations, as the deploy will (see journal.StartedBy).
	Recorded []*dsl.Definition
}

// InstanceReport is the verdict on one stored instance.
type InstanceReport struct {
	ID       string   `json:"id"`
	Workflow string   `json:"workflow"`
	Status   string   `json:"status"`
	OK       bool     `json:"ok"`
	Cause    string   `json:"cause,omitempty"`  // what breaks: "position lost", "state does not decode", ...
	Path     string   `json:"path,omitempty"`   // where, when known
	Detail   string   `json:"detail,omitempty"` // the error, or the simulation's report
	Migrated []uint32 `json:"migrated,omitempty"`
	// Dropped names the buffered events (interp.Buffered) the upgrade
	// drops because no wait of the new version takes their name, in inbox
	// order. The instance is still OK: the drop is what the deploy does.
	Dropped []string `json:"dropped,omitempty"`
}

// VerifySummary counts the reports.
type VerifySummary struct {
	Instances int `json:"instances"` // instances of the definition's workflow
	OK        int `json:"ok"`
	Broken    int `json:"broken"`
	Skipped   int `json:"skipped"` // instances of other workflows
	// With VerifyOptions.Replay: instances whose journal was replayed,
	// and instances that have none (they are checked without it).
	Replayed  int `json:"replayed,omitempty"`
	NoJournal int `json:"noJournal,omitempty"`
}

// Causes reported by [Verify].
const (
	CauseRecord    = "record does not decode"
	CausePosition  = "position lost"
	CauseState     = "state does not decode"
	CauseMigration = "migration failed"
	CauseSimulated = "simulation failed"
	CauseInternal  = "interpreter error" // a bug in weft itself (interp.ErrInternal), not in the instance
	CauseReplay    = "replay differs"    // the journal's recorded events go otherwise under def
)

// Verify checks every instance of def's workflow in store against def, a
// new definition with its migrations, before it is deployed: the state
// decodes into the new state type (after upcasting), every thread position
// and pending wait resolves (after migrations), and, with Schedules > 0, the
// simulator drives each running instance forward under def, together
// with the children it waits for, run from their own records in store.
// Nothing in store is written; a bbolt file copied from production can be opened
// read-only for it.
//
// It streams: instances are read page by page and each verdict is passed to
// each (which may be nil) as soon as it is known, so memory does not grow
// with the number of instances. It returns the summary and the first error
// from the store or from each.
func Verify(ctx context.Context, store storage.Store, def *dsl.Definition, opts VerifyOptions, each func(InstanceReport) error) (VerifySummary, error) {
	var sum VerifySummary
	cfg := &config{resting: opts.Resting, liveness: opts.LivenessSteps, noCrashes: true, noDuplicates: true, noCancel: true, noTerminate: true}
	if cfg.liveness <= 0 {
		cfg.liveness = 200
	}
	const page = 256
	for after := ""; ; {
		insts, err := store.List(ctx, after, page)
		if err != nil {
			return sum, fmt.Errorf("simulate: verify: %w", err)
		}
		for _, si := range insts {
			if si.Workflow != def.Name() {
				sum.Skipped++
				continue
			}
			rep := verifyOne(ctx, store, si, def, cfg, opts)
			if opts.Replay && rep.OK {
				if rep, err = replayOne(ctx, store, def, opts, rep, &sum); err != nil {
					return sum, err
				}
			}
			sum.Instances++
			if rep.OK {
				sum.OK++
			} else {
				sum.Broken++
			}
			if each != nil {
				if err := each(rep); err != nil {
					return sum, err
				}
			}
		}
		if len(insts) < page {
			return sum, nil
		}
		after = insts[len(insts)-1].ID
		if err := ctx.Err(); err != nil {
			return sum, err
		}
	}
}

func verifyOne(ctx context.Context, store storage.Store, si storage.Instance, def *dsl.Definition, cfg *config, opts VerifyOptions) InstanceReport {
	rep := InstanceReport{ID: si.ID, Workflow: si.Workflow, Status: si.Status}
	rec, err := codec.DecodeRecord(si.Data)
	var meta interp.Meta
	if err == nil {
		meta, err = interp.DecodeMeta(rec.Meta)
	}
	if err != nil {
		rep.Cause, rep.Detail = CauseRecord, err.Error()
		return rep
	}
	res, err := interp.Upgrade(def, rec.State, meta)
	var lost *interp.PositionLostError
	switch {
	case errors.As(err, &lost):
		if meta.Status.Finished() {
			break // finished instances have no positions to lose
		}
		rep.Cause, rep.Path, rep.Detail = CausePosition, lost.Path, err.Error()
		return rep
	case errors.Is(err, interp.ErrMigration):
		rep.Cause, rep.Detail = CauseMigration, err.Error()
		return rep
	case errors.Is(err, interp.ErrInternal):
		rep.Cause, rep.Detail = CauseInternal, err.Error()
		return rep
	case err != nil:
		rep.Cause, rep.Detail = CauseState, fmt.Sprintf("into %v: %v", def.StateType(), err)
		return rep
	default:
		rep.Migrated = res.Meta.Migrated[len(meta.Migrated):]
		for _, e := range res.Effects {
			if e.Kind == interp.EffectDropped {
				rep.Dropped = append(rep.Dropped, e.Event)
			}
		}
	}
	if opts.Schedules > 0 && !meta.Status.Finished() {
		h := fnv.New64a()
		h.Write([]byte(si.ID))
		for i := range opts.Schedules {
			w := newWorld(def, cfg)
			w.replayHint = fmt.Sprintf("replay: verify again with the same seed (%d) and --schedules %d", opts.Seed, opts.Schedules)
			w.startFrom(si, res)
			w.loadChildren(ctx, store)
			w.liveness(newSeeded(opts.Seed^h.Sum64()+uint64(i)), &actions{w: w})
			if w.failure != nil {
				rep.Cause, rep.Path = CauseSimulated+": "+w.failure.Invariant, w.failure.Path
				rep.Detail = fmt.Sprintf("schedule %d of %d (seed %d): %s", i+1, opts.Schedules, opts.Seed, w.report())
				return rep
			}
		}
	}
	rep.OK = true
	return rep
}

// startFrom puts a stored instance, upgraded to the world's definition,
// into the world's empty store and takes it as the model's starting point.
// Setups it is waiting on were performed before the simulation began.
func (w *world) startFrom(si storage.Instance, up interp.Result) {
	if !up.Meta.Started.IsZero() {
		w.clock.Set(up.Meta.Started)
	}
	metaB := interp.EncodeMeta(up.Meta)
	var err error
	si.Data, err = codec.EncodeRecord(codec.Record{Workflow: si.Workflow, State: up.State, Meta: metaB})
	if err == nil {
		si.ID, si.Due = instanceID, storedDue(up.Meta)
		_, err = w.store.Create(w.ctx, si, nil)
	}
	if err != nil {
		w.fail(InvCrash, "", "the stored instance cannot be loaded into the simulator: %v", err)
		return
	}
	for _, th := range up.Meta.Threads {
		for _, p := range th.Waits {
			if p.Setup {
				w.setups[p.Callback] = "(before the simulation)"
			}
			if p.Kind == interp.Child {
				// Started by its start-child effect in production.
				c := w.childOf(p.Callback)
				c.id, c.workflow, c.path, c.onEnd = p.Child, p.Type, th.Path, dsl.ParentEndPolicy(p.OnEnd)
				c.started = append(c.started, "(before the simulation)")
			}
			if p.Kind == interp.Activity {
				// Its effect is in the production outbox, not in this store:
				// the runner starts out knowing the attempt, on today's state.
				w.activity[p.Callback] = engine.EffectInfo{Kind: interp.EffectRunActivity, Instance: instanceID,
					Workflow: si.Workflow, Thread: th.ID, Path: th.Path, Callback: p.Callback,
					Data: up.State, Attempt: p.Attempt, At: p.At}
			}
		}
	}
	w.version, w.state, w.meta, w.metaB = 1, up.State, up.Meta, metaB
	w.say("stored instance %s, upgraded: %s, %s", up.Meta.Instance, up.Meta.Status, describe(up.Meta))
}

// replayOne replays the journal of the instance rep reports on through
// def, and returns rep broken with CauseReplay if it diverges. Errors are
// the store's.
func replayOne(ctx context.Context, store storage.Store, def *dsl.Definition, opts VerifyOptions, rep InstanceReport, sum *VerifySummary) (InstanceReport, error) {
	n, div, err := journal.ReplayStored(ctx, store, def, rep.ID, journal.StartedBy(opts.Recorded...))
	switch {
	case errors.Is(err, journal.ErrNoJournal):
		sum.NoJournal++
		return rep, nil
	case errors.Is(err, codec.ErrCorrupt):
		rep.OK, rep.Cause, rep.Detail = false, CauseReplay, err.Error()
		sum.Replayed++
		return rep, nil
	case err != nil:
		return rep, fmt.Errorf("simulate: verify %q: %w", rep.ID, err)
	}
	sum.Replayed++
	if div != nil {
		rep.OK, rep.Cause = false, CauseReplay
		rep.Detail = fmt.Sprintf("after %d recorded events replayed alike, %v", n, div)
	}
	return rep, nil
}
