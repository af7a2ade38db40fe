package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// The scheduler hook. A host without a run loop (a serverless function)
// learns when an instance has work next from a wake-up: when a commit
// leaves an instance due at a time nobody was told about, the engine adds
// a wake-up effect to the commit's outbox entries, and performing it hands
// (instance, time) to the host's delayed-call service. Being an outbox
// effect, it is durable with the commit and performed at least once,
// retried from the store with backoff and dead-lettered like every other
// effect. The interpreter knows nothing of it: the engine derives it from
// the meta the commit writes, under an effect kind of its own.

// wakeupKind is the engine's own effect kind for wake-ups. The
// interpreter's kinds count up from 1; the engine's count down from 255,
// so the two cannot meet.
const wakeupKind = outbox.Wakeup

// KindName names an effect kind for people: interp's names, and "wake-up"
// for the engine's own wake-up effects, which interp does not know.
func KindName(k interp.EffectKind) string {
	if k == wakeupKind {
		return "wake-up"
	}
	return k.String()
}

// ErrNoScheduler: a wake-up effect (written by an engine made
// [WithScheduler]) is performed by an engine without a scheduler. It
// stays in the outbox and is retried like an effect without a handler, so
// an engine with a scheduler still performs it.
var ErrNoScheduler = errors.New("engine: no scheduler for a wake-up")

// Wakeup asks the host's delayed-call service to call the engine back
// about Instance at At: to call [Engine.ProcessInstance] for it (or
// [Engine.RunDue]) at that time. An At at or before the time of the call
// means as soon as possible.
type Wakeup struct {
	// ID identifies the wake-up, the same on every retry: a task queue
	// that names tasks can use it to take each wake-up once.
	ID       string
	Instance string
	At       time.Time
	// Fence is the fence token of the lease the wake-up is handed over
	// under (see [EffectInfo].Fence); 0 without leases.
	Fence uint64
}

// Scheduler hands a wake-up to a delayed-call service (a cloud task
// queue, a cron service with one-off jobs, a message queue with delivery
// delays). It is called at least once per wake-up, with backoff while it
// fails; it should return once the service has accepted the call, and
// de-duplicate on Wakeup.ID if the service can. A call that comes early,
// or late, or twice, is harmless: processing an instance with nothing due
// does nothing, and the wake-ups of later commits follow.
type Scheduler func(ctx context.Context, w Wakeup) error

// WithScheduler makes every commit that leaves an instance due at a new
// time (a timer set, a step retry scheduled, a resume after the statement
// budget) hand (instance, due time) to s, as a durable effect of the
// commit; and likewise the start time of an activity attempt delayed by
// its retry policy. With it, a host needs no run loop and no polling: the
// calls s schedules, to [Engine.ProcessInstance] or [Engine.RunDue], fire
// the timers. An instance that is due now and stays due (a chain of
// resumes) gets no new wake-up: the one-shot call that resumes it goes on
// while it is due.
//
// A failed effect's next attempt is kept in the store, not in a commit,
// and gets no wake-up: [Work].Next of the one-shot calls tells when it is,
// and a periodic run-due call (every minute, say) is the backstop for it
// and for wake-ups lost by the service. A nil s is invalid.
func WithScheduler(s Scheduler) Option {
	return func(e *Engine) error {
		if s == nil {
			return invalid("WithScheduler", s, "the scheduler must not be nil (leave the option out for none)")
		}
		e.scheduler = s
		return nil
	}
}

// withWakeups appends to effects, the outbox entries of a transition of
// instance id whose result is res, the wake-ups it needs if the engine
// has a scheduler: one for the instance's due time if it differs from
// before (the due time the instance had) and is not the continuation of
// a due instance, and one for each activity attempt the transition
// delays. Their indices follow the interpreter's effects in the
// transition's sequence number, so their IDs are unique and stable.
func (e *Engine) withWakeups(id, workflow string, before time.Time, res *interp.Result, effects []storage.Effect) ([]storage.Effect, error) {
	if e.scheduler == nil {
		return effects, nil
	}
	now := e.clock.Now()
	var ats []time.Time
	due := res.Meta.Due
	stillDue := !before.IsZero() && !before.After(now) && !due.After(now)
	if !due.IsZero() && !due.Equal(before) && !stillDue {
		ats = append(ats, due)
	}
	for _, ef := range res.Effects {
		if ef.Kind == interp.EffectRunActivity && ef.At.After(now) && !hasTime(ats, ef.At) {
			ats = append(ats, ef.At)
		}
	}
	for i, at := range ats {
		oe := outbox.Entry{Kind: wakeupKind, Workflow: workflow, At: storableDue(at).UnixNano()}
		data, err := oe.Encode()
		if err != nil {
			return nil, fmt.Errorf("engine: instance %q: encode wake-up: %w", id, err)
		}
		eid := interp.EffectID{Instance: id, Seq: res.Meta.Seq, Index: uint32(len(res.Effects) + i)}
		effects = append(effects, storage.Effect{ID: eid.String(), Instance: id, Data: data})
	}
	return effects, nil
}

func hasTime(ts []time.Time, t time.Time) bool {
	for _, u := range ts {
		if u.Equal(t) {
			return true
		}
	}
	return false
}

// wakeup performs a wake-up effect: it hands it to the scheduler.
func (e *Engine) wakeup(ctx context.Context, info EffectInfo) (err error) {
	if e.scheduler == nil {
		return fmt.Errorf("%w (effect %s)", ErrNoScheduler, info.ID)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("engine: wake-up effect %s: scheduler panic: %v", info.ID, r)
		}
	}()
	if err := e.scheduler(ctx, Wakeup{ID: info.ID, Instance: info.Instance, At: info.At, Fence: info.Fence}); err != nil {
		return fmt.Errorf("engine: wake-up effect %s: %w", info.ID, err)
	}
	return nil
}
