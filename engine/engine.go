package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/journal"
	"github.com/weftflow/weft/storage"
)

// Engine hosts workflow definitions over a [storage.Store]: it starts
// instances, turns calls and timers into interpreter events, commits each
// result atomically with its effects, and performs the effects. Make one
// with [New]; it is safe for concurrent use.
type Engine struct {
	store     storage.Store
	clock     Clock
	log       *slog.Logger
	workers   int
	poll      time.Duration
	finish    FinishFunc
	noEnds    bool // WithoutEndEffects: a parentless instance's end needs no effect
	backoff   backoff
	metrics   Metrics
	migrate   bool      // Run calls MigrateAll when it starts
	retention retention // which finished instances GC deletes, and how often Run does (retention.go)

	runner          ActivityRunner // wraps activity attempts (activityrunner.go); nil: run the definition's function
	noConflictPause bool           // retry at once after a commit conflict (WithoutConflictPause)

	shared      *leaseConf    // Run and Drain work through leases (leases.go); nil: this process alone
	leaseFails  leaseFailures // consecutive failures of the work on leased instances (leasebackoff.go)
	maxAttempts int           // tries of an effect before it is dead-lettered; 0: no limit
	scheduler   Scheduler     // hands wake-ups to a delayed-call service (scheduler.go); nil: none
	dead        atomic.Int32  // what this engine knows of dead letters in the store (deadletters.go)

	maxPayload int // bytes of an encoded payload or start input
	maxState   int // bytes of an encoded state
	inboxLimit int // buffered events per instance (WithInboxLimit); 0: interp.DefaultInboxLimit

	// journals are the journal policies by workflow (journal.go); nil:
	// none of its own. journalAll is the policy of every other workflow,
	// if hasJournalAll (WithJournal("", ...), kept out of the map so that
	// an engine with only that option allocates none).
	journals      map[string]journal.Policy
	journalAll    journal.Policy
	hasJournalAll bool

	mu       sync.Mutex               // held by Register and Handle while they publish a new registry
	reg      atomic.Pointer[registry] // the definitions and handlers (registry.go)
	children ChildRunner              // WithChildRunner; nil: children start in the store

	cache   recordCache   // the records last committed or loaded here; checked by the store before use
	kick    chan struct{} // a wake-up for the run loop: something was committed or finished
	rescan  atomic.Bool   // the run loop must read the store again before it sleeps
	driving atomic.Bool   // Run or Drain is active
	// sleepsUntil is when the run loop reads the store next (Unix ns, on
	// the engine's clock) while it waits for that; 0 while it reads, or
	// with no loop. A commit due later needs no wake-up (see dueWakes).
	sleepsUntil atomic.Int64

	work work       // in-flight jobs, retry times and running activity attempts
	seen seenOutbox // outbox entries decoded by the driver's last scan
	hot  hotPath    // effects committed here, handed to Run without a scan
	acks acks       // acknowledgements of effects, written in batches

	wakeHub awaitHub // wake-ups from the store shared by Await calls (await.go)
}

// discardLog is the logger of an engine without WithLogger. A Logger is
// immutable, so every engine can share it.
var discardLog = slog.New(slog.DiscardHandler)

// New returns an engine over store. Register definitions before starting
// or loading their instances, then drive it with [Engine.Run] (production)
// or [Engine.Drain] (tests).
//
// A nil store, a nil option, or an option given a value it cannot use
// (see each option) is an error: an *[OptionError] matching
// [ErrInvalidOption], naming the option and its value.
func New(store storage.Store, opts ...Option) (*Engine, error) {
	if isNil(store) {
		return nil, invalid("store", store, "the store must not be nil")
	}
	e := &Engine{
		store:       store,
		clock:       realClock{},
		log:         discardLog,
		workers:     128,
		poll:        time.Second,
		backoff:     backoff{initial: time.Second, max: time.Minute},
		metrics:     NopMetrics{},
		maxPayload:  DefaultMaxPayload,
		maxState:    DefaultMaxState,
		maxAttempts: DefaultMaxAttempts,
		kick:        make(chan struct{}, 1),
	}
	e.hot.queueLimit, e.hot.setupLimit = maxQueued, maxSetups
	e.work.sweepAt = sweepEvery
	e.reg.Store(&registry{})
	for i, o := range opts {
		if o == nil {
			return nil, invalid(fmt.Sprintf("option %d", i), nil, "an option must not be nil")
		}
		if err := o(e); err != nil {
			return nil, err
		}
	}
	if e.noEnds && e.finish != nil {
		return nil, invalid("WithoutEndEffects", true, "an engine with a finish hook (WithFinish) needs its end effects")
	}
	return e, nil
}

// Register makes definitions known by name, so that stored instances of
// them can be loaded. It registers all or none: it fails if a definition is
// nil, with [ErrDuplicate] if a name is already registered or appears
// twice, and with [ErrUnregistered] if a definition's Child statements
// start a workflow that is neither registered nor among defs.
func (e *Engine) Register(defs ...*dsl.Definition) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range defs {
		if d == nil {
			return errors.New("engine: register: nil definition")
		}
	}
	next := e.reg.Load().clone()
	if err := next.add(defs); err != nil {
		return err
	}
	e.reg.Store(next)
	return nil
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

// dueWakes reports whether a commit that made an instance due at due
// must wake the run loop: unless the loop sleeps until a read of the
// store that is no later. The loop clears sleepsUntil before it reads, so
// a commit it may have missed finds 0 here, or a deadline published after
// that read (and wakes it if due is earlier). A wake-up per Start of an
// instance whose timer is a day away made the loop read the store once per
// Start, alongside the caller.
func (e *Engine) dueWakes(due time.Time) bool {
	if due.IsZero() {
		return false
	}
	until := e.sleepsUntil.Load()
	return until == 0 || due.UnixNano() < until
}

// signal wakes the run loop without asking for a read of the store: for
// work handed to it in memory (see hotPath).
func (e *Engine) signal() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}
