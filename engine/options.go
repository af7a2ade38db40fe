package engine

import (
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/weftflow/weft/codec"
)

// Option configures an [Engine] at [New]. An option given a value it cannot
// use makes New fail with an *[OptionError] matching [ErrInvalidOption];
// no value is ever silently replaced by a default.
type Option func(*Engine) error

// OptionError reports an option (or the store) given to [New] with a value
// it cannot use. It matches [ErrInvalidOption].
type OptionError struct {
	Option string // the option's name, "WithPollInterval", or "store"
	Value  any    // the value it was given
	Reason string // what a valid value is
}

// Error names the option, its value and what a valid value is.
func (e *OptionError) Error() string {
	return fmt.Sprintf("engine: invalid option: %s(%s): %s", e.Option, e.value(), e.Reason)
}

func (e *OptionError) value() string {
	if isNil(e.Value) {
		return "nil"
	}
	return fmt.Sprint(e.Value)
}

// Is reports whether target is [ErrInvalidOption].
func (e *OptionError) Is(target error) bool { return target == ErrInvalidOption }

func invalid(option string, value any, reason string) error {
	return &OptionError{Option: option, Value: value, Reason: reason}
}

// isNil reports whether v is nil or a nil pointer, map, slice, channel or
// function in an interface: a typed nil Clock or Metrics fails as late and
// as badly as an untyped one.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}

// WithClock sets the clock (default: the wall clock). Use a [FakeClock] in
// tests. A nil clock is invalid.
func WithClock(c Clock) Option {
	return func(e *Engine) error {
		if isNil(c) {
			return invalid("WithClock", c, "the clock must not be nil")
		}
		e.clock = c
		return nil
	}
}

// WithLogger sets the logger for effect failures and retries (default:
// discard). A nil logger is invalid; leave the option out to discard.
func WithLogger(l *slog.Logger) Option {
	return func(e *Engine) error {
		if l == nil {
			return invalid("WithLogger", l, "the logger must not be nil (leave the option out to discard logs)")
		}
		e.log = l
		return nil
	}
}

// WithWorkers sets how many goroutines [Engine.Run] uses to resume instances,
// run activities and call handlers (default 128). n must be at least 1.
//
// A worker spends most of its time waiting: for the store to commit a
// transition, or for an activity or handler. A store with group commit
// (storage/bolt) shares one fsync among all commits in flight, so durable
// throughput grows with the number of workers while instances wait for
// them: on a 2-core machine whose disk does 3,500–3,900 fsyncs/s, with
// 1,000 instances in flight, 8 workers give about 6,500 checkpointed
// transitions/s, 128 about 50,000 and 512 about 65,000
// (docs/performance-durable.md). On the memory store, whose commits wait
// for no disk, more workers than the default only queue on its lock. The
// number also bounds how many activities and handlers run at once.
func WithWorkers(n int) Option {
	return func(e *Engine) error {
		if n < 1 {
			return invalid("WithWorkers", n, "the number of workers must be at least 1")
		}
		e.workers = n
		return nil
	}
}

// WithPollInterval sets how often [Engine.Run] looks at the store when
// nothing woke it (default 1s); d must be positive. Work committed through
// this engine wakes it at once, and it sleeps only until the next known due
// time, so the interval matters mostly for work committed by other
// processes.
func WithPollInterval(d time.Duration) Option {
	return func(e *Engine) error {
		if d <= 0 {
			return invalid("WithPollInterval", d, "the poll interval must be positive")
		}
		e.poll = d
		return nil
	}
}

// WithFinish sets a hook called once an instance has completed, failed or
// been canceled, with the Completed, Failed or Canceled effect. Like every
// effect it is at least once: an error retries it with backoff, and the
// EffectInfo.ID lets it de-duplicate. A nil hook is invalid; leave the
// option out for none.
func WithFinish(f FinishFunc) Option {
	return func(e *Engine) error {
		if f == nil {
			return invalid("WithFinish", f, "the hook must not be nil (leave the option out for none)")
		}
		e.finish = f
		return nil
	}
}

// WithoutEndEffects says that no process sharing the engine's store has a
// finish hook ([WithFinish]), so that an instance's end needs no outbox
// effect unless the instance is a child (its parent must hear of it).
// The engine then commits such ends with no effect: no outbox entry, no
// worker performing it, no acknowledgement (a quarter of the CPU of a
// workflow that waits for a signal and ends). The end still wakes the
// store's watchers, so [Engine.Await] in any process hears of it.
//
// By default an end is always an effect, even in an engine without a
// hook: the process that performs it may be another one, with a hook (a
// service's Run, after `weft terminate` ended an instance from the
// command line). Set this option only when that cannot be; with a finish
// hook it is invalid.
func WithoutEndEffects() Option {
	return func(e *Engine) error {
		e.noEnds = true
		return nil
	}
}

// WithMigrateOnRun makes [Engine.Run] call [Engine.MigrateAll] when it
// starts, so that after a deploy every instance written by an older
// definition version is migrated at once rather than at its next event.
// Failures are logged; Run goes on.
func WithMigrateOnRun() Option {
	return func(e *Engine) error {
		e.migrate = true
		return nil
	}
}

// WithRetryBackoff sets the delays between attempts of a failed effect
// (handler, hook, activity delivery) or a failed resume: initial after the
// first failure, doubling up to maxDelay (defaults 1s and 1m). initial must
// be positive and maxDelay at least initial.
// Failed activity attempts are not retried by this: the Call's retry
// policy, in the definition, decides.
func WithRetryBackoff(initial, maxDelay time.Duration) Option {
	return func(e *Engine) error {
		if initial <= 0 {
			return invalid("WithRetryBackoff", fmt.Sprintf("%v, %v", initial, maxDelay), "the initial delay must be positive")
		}
		if maxDelay < initial {
			return invalid("WithRetryBackoff", fmt.Sprintf("%v, %v", initial, maxDelay), "the maximum delay must be at least the initial delay")
		}
		e.backoff = backoff{initial: initial, max: maxDelay}
		return nil
	}
}

// WithMaxPayload sets the largest event payload the engine accepts, in
// encoded bytes: the payload of [Engine.Send] and [Engine.Deliver], and the
// input of [Engine.Start] (default [DefaultMaxPayload]). A larger one is
// refused with a *[TooLargeError] before anything is loaded. n must be
// positive; values above codec.MaxBytes mean codec.MaxBytes, which the
// codec enforces whatever the options say.
func WithMaxPayload(n int) Option {
	return func(e *Engine) error {
		if err := checkLimit("WithMaxPayload", n); err != nil {
			return err
		}
		e.maxPayload = min(n, codec.MaxBytes)
		return nil
	}
}

// WithMaxState sets the largest workflow state the engine commits, in
// encoded bytes (default [DefaultMaxState]). A transition whose new state
// is larger is refused with a *[TooLargeError]: nothing is written, the
// instance keeps its last committed state and meta, no effect is queued,
// and other events can still be applied. n must be positive; values above
// codec.MaxBytes mean codec.MaxBytes, which the codec enforces whatever the
// options say.
func WithMaxState(n int) Option {
	return func(e *Engine) error {
		if err := checkLimit("WithMaxState", n); err != nil {
			return err
		}
		e.maxState = min(n, codec.MaxBytes)
		return nil
	}
}

func checkLimit(option string, n int) error {
	if n < 1 {
		return invalid(option, n, "the limit must be at least 1 byte")
	}
	return nil
}

// WithMetrics makes the engine report its work to m (see [Metrics]). A nil
// m is invalid; leave the option out (or pass [NopMetrics]) to count
// nothing.
func WithMetrics(m Metrics) Option {
	return func(e *Engine) error {
		if isNil(m) {
			return invalid("WithMetrics", m, "the metrics must not be nil (leave the option out to count nothing)")
		}
		e.metrics = m
		return nil
	}
}
