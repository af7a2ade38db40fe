package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/storage"
)

// Engine hosts workflow definitions over a [storage.Store]: it starts
// instances, turns calls and timers into interpreter events, commits each
// result atomically with its effects, and performs the effects. Make one
// with [New]; it is safe for concurrent use.
type Engine struct {
	store   storage.Store
	clock   Clock
	log     *slog.Logger
	workers int
	poll    time.Duration
	finish  FinishFunc
	backoff backoff
	metrics Metrics
	migrate bool // Run calls MigrateAll when it starts

	shared      *leaseConf   // Run and Drain work through leases (leases.go); nil: this process alone
	maxAttempts int          // tries of an effect before it is dead-lettered; 0: no limit
	dead        atomic.Int32 // what this engine knows of dead letters in the store (deadletters.go)

	maxPayload int // bytes of an encoded payload or start input
	maxState   int // bytes of an encoded state

	mu       sync.RWMutex
	defs     map[string]*dsl.Definition
	handlers map[string]SetupHandler

	locks   instanceLocks
	cache   recordCache   // the records last committed or loaded here; checked by the store before use
	kick    chan struct{} // a wake-up for the run loop: something was committed or finished
	rescan  atomic.Bool   // the run loop must read the store again before it sleeps
	driving atomic.Bool   // Run or Drain is active

	work work       // in-flight jobs, retry times and running activity attempts
	seen seenOutbox // outbox entries decoded by the driver's last scan
	hot  hotPath    // effects committed here, handed to Run without a scan
	acks acks       // acknowledgements of effects, written in batches
}

// Option configures an [Engine] at [New].
type Option func(*Engine)

// WithClock sets the clock (default: the wall clock). Use a [FakeClock] in
// tests.
func WithClock(c Clock) Option { return func(e *Engine) { e.clock = c } }

// WithLogger sets the logger for effect failures and retries (default: discard).
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithWorkers sets how many goroutines [Engine.Run] uses to resume instances,
// run activities and call handlers (default 128). Values below 1 mean 1.
//
// A worker spends most of its time waiting: for the store to commit a
// transition, or for an activity or handler. A store with group commit
// (storage/bolt) shares one fsync among all commits in flight, so durable
// throughput grows with the number of workers: on a 2-core machine whose
// disk does 3,500 fsyncs/s, 8 workers give about 6,500 checkpointed
// transitions/s and 128 about 45,000 (docs/performance-durable.md). The number also bounds how many
// activities and handlers run at once.
func WithWorkers(n int) Option { return func(e *Engine) { e.workers = max(n, 1) } }

// WithPollInterval sets how often [Engine.Run] looks at the store when
// nothing woke it (default 1s). Work committed through this engine wakes it
// at once, and it sleeps only until the next known due time, so the interval
// matters mostly for work committed by other processes.
func WithPollInterval(d time.Duration) Option {
	return func(e *Engine) {
		if d > 0 {
			e.poll = d
		}
	}
}

// WithFinish sets a hook called once an instance has completed, failed or
// been canceled, with the Completed, Failed or Canceled effect. Like every
// effect it is at least once: an error retries it with backoff, and the
// EffectInfo.ID lets it de-duplicate.
func WithFinish(f FinishFunc) Option { return func(e *Engine) { e.finish = f } }

// WithMigrateOnRun makes [Engine.Run] call [Engine.MigrateAll] when it
// starts, so that after a deploy every instance written by an older
// definition version is migrated at once rather than at its next event.
// Failures are logged; Run goes on.
func WithMigrateOnRun() Option { return func(e *Engine) { e.migrate = true } }

// WithRetryBackoff sets the delays between attempts of a failed effect
// (handler, hook, activity delivery) or a failed resume: initial after the
// first failure, doubling up to maxDelay (defaults 1s and 1m). initial must
// be positive and maxDelay at least initial, or the option is ignored.
// Failed activity attempts are not retried by this: the Call's retry
// policy, in the definition, decides.
func WithRetryBackoff(initial, maxDelay time.Duration) Option {
	return func(e *Engine) {
		if initial > 0 && maxDelay >= initial {
			e.backoff = backoff{initial: initial, max: maxDelay}
		}
	}
}

// New returns an engine over store. Register definitions before starting
// or loading their instances, then drive it with [Engine.Run] (production)
// or [Engine.Drain] (tests).
func New(store storage.Store, opts ...Option) *Engine {
	e := &Engine{
		store:       store,
		clock:       realClock{},
		log:         slog.New(slog.DiscardHandler),
		workers:     128,
		poll:        time.Second,
		backoff:     backoff{initial: time.Second, max: time.Minute},
		metrics:     NopMetrics{},
		maxPayload:  DefaultMaxPayload,
		maxState:    DefaultMaxState,
		maxAttempts: DefaultMaxAttempts,
		defs:        map[string]*dsl.Definition{},
		handlers:    map[string]SetupHandler{},
		kick:        make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(e)
	}
	e.work.init()
	return e
}

// Register makes definitions known by name, so that stored instances of
// them can be loaded. It registers all or none: it fails if a definition is
// nil, or with [ErrDuplicate] if a name is already registered or appears
// twice.
func (e *Engine) Register(defs ...*dsl.Definition) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]bool{}
	for _, d := range defs {
		if d == nil {
			return errors.New("engine: register: nil definition")
		}
		if e.defs[d.Name()] != nil || seen[d.Name()] {
			return fmt.Errorf("%w: %q", ErrDuplicate, d.Name())
		}
		seen[d.Name()] = true
	}
	for _, d := range defs {
		e.defs[d.Name()] = d
	}
	return nil
}

// definition returns the registered definition named name.
func (e *Engine) definition(name string) *dsl.Definition {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.defs[name]
}

// definitionOf returns the definition of an instance's workflow.
func (e *Engine) definitionOf(workflow, id string) (*dsl.Definition, error) {
	if d := e.definition(workflow); d != nil {
		return d, nil
	}
	return nil, fmt.Errorf("%w: %q (instance %q)", ErrUnregistered, workflow, id)
}

// wake tells the run loop that there may be new work in the store: it
// reads the due index and the outbox again.
func (e *Engine) wake() {
	e.rescan.Store(true)
	e.signal()
}

// signal wakes the run loop without asking for a read of the store: for
// work handed to it in memory (see hotPath).
func (e *Engine) signal() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}
