package simulate

import (
	"sync"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/storage"
	"pgregory.net/rapid"
)

// Options configures [Check]. The zero value simulates everything the
// simulator knows, with payloads drawn from each event's payload type.
type Options[S any] struct {
	// Input draws the start state; nil starts from the zero S.
	Input func(t *rapid.T) S
	// Payloads draws the payload of a custom event, by the name of its On.
	// Events not listed get values drawn from their payload type.
	Payloads map[string]func(t *rapid.T) any
	// Activities stands in for Call activities, by the Call's path: a
	// successful attempt draws its result from the function instead of
	// running the activity (whose side effects do not belong in a test).
	// Calls not listed run for real on their input.
	Activities map[string]func(t *rapid.T) any
	// Invariant is checked on the committed state after every action.
	Invariant func(s *S) error
	// Resting lists the wait paths where the workflow may legitimately rest
	// at the end of the liveness phase (a service loop that waits forever).
	Resting []string
	// Upgrade is a newer definition of the same workflow. When set, the
	// simulator may swap to it mid-flight (a deploy) and checks that every
	// parked thread still resolves.
	Upgrade *dsl.Definition

	// Hosts is how many engines share the simulated store (default 2; at
	// most 8), as processes on several machines do. Each is a real engine
	// made WithLeases: the simulator's dispatch actions call its RunDue or
	// ProcessInstance, so due resumes and effects are claimed, ordered,
	// performed and acknowledged by the engine's own code, and a host can
	// crash mid-dispatch or stall past its lease while another takes over.
	// With one host, nothing stalls (there is no one to take over).
	Hosts int

	// NoCrashes, NoDuplicates and NoCancel turn those actions off.
	NoCrashes, NoDuplicates, NoCancel bool
	// NoEarlySends turns off sends of custom events no thread waits for
	// yet, which the host buffers in the instance's inbox until a wait
	// that takes them opens (see interp.Buffered). They are on by
	// default: engine.Send buffers such events in production too.
	NoEarlySends bool
	// NoTerminate turns off the terminate action (an engine.Terminate:
	// the instance ends at once, running no workflow code, its open setups
	// torn down), and the new runs that terminate a running instance
	// (engine.IDReuseTerminateRunning).
	NoTerminate bool
	// WithoutEndEffects makes every host engine.WithoutEndEffects, with
	// no finish hook, as the hosts of a service that has none: the end of
	// an instance with no parent is then a commit with no effect, and the
	// simulator expects none (a child's end stays an effect, which tells
	// its parent).
	WithoutEndEffects bool
	// LivenessSteps bounds the liveness phase (default 200 deliveries).
	LivenessSteps int

	// Actions are extra actions drawn alongside the built-in ones.
	Actions map[string]func(t *rapid.T, s *Sim)

	// Store wraps the in-memory store the simulated hosts write to (once
	// per run: every host shares the result), to check a storage adapter's
	// behaviour; if the result implements interface{ Crash() }, it is
	// called at every simulated crash of a host.
	Store func(storage.Store) storage.Store
	// Host wraps each simulated host (an engine) for the events the
	// simulator sends it (Start and Apply), to check a host's behaviour.
	// Dispatch (RunDue, ProcessInstance) is always the engine's own. The
	// Host given to the wrapper also has the engine's Await, Query and
	// SignalWithStart methods, and its Start with options as StartWith; a
	// wrapper that has them too is awaited and queried through them
	// (InvAwait, InvQuery), starts its runs with an event and new runs
	// over a taken ID through them (InvSignalWithStart, InvNewRun,
	// InvIDReuse), otherwise the engine does.
	Host func(Host) Host
}

// defaultHosts and maxHosts bound Options.Hosts.
const (
	defaultHosts = 2
	maxHosts     = 8
)

// simStart is the simulated clock's start.
var simStart = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

// config is Options without the type parameter: the world works on any
// state through the definition's state type.
type config struct {
	regMu                             sync.Mutex
	regs                              map[*dsl.Definition]registration // see registration
	input                             func(*rapid.T) any
	payloads                          map[string]func(*rapid.T) any
	activities                        map[string]func(*rapid.T) any
	invariant                         func(any) error
	resting                           []string
	upgrade                           *dsl.Definition
	noCrashes, noDuplicates, noCancel bool
	noEarly                           bool
	noTerminate                       bool
	noEnds                            bool // hosts run engine.WithoutEndEffects, with no finish hook
	liveness                          int
	hosts                             int
	actions                           map[string]func(*rapid.T, *Sim)
	store                             func(storage.Store) storage.Store
	host                              func(Host) Host
	buffers                           sync.Pool    // *runBuffers of passed runs, for the next ones
	journalViews                      journalViews // journal entries decoded by the runs
}

func (o Options[S]) config() *config {
	c := &config{payloads: o.Payloads, activities: o.Activities, resting: o.Resting, upgrade: o.Upgrade, noCrashes: o.NoCrashes,
		noDuplicates: o.NoDuplicates, noCancel: o.NoCancel, noEarly: o.NoEarlySends, noTerminate: o.NoTerminate, noEnds: o.WithoutEndEffects,
		liveness: o.LivenessSteps, actions: o.Actions,
		store: o.Store, host: o.Host}
	if c.liveness <= 0 {
		c.liveness = 200
	}
	c.hosts = min(o.Hosts, maxHosts)
	if c.hosts <= 0 {
		c.hosts = defaultHosts
	}
	if o.Input != nil {
		c.input = func(t *rapid.T) any { return o.Input(t) }
	}
	if o.Invariant != nil {
		c.invariant = func(s any) error {
			if v, ok := s.(*S); ok {
				return o.Invariant(v)
			}
			return nil // after an upgrade to another state type
		}
	}
	return c
}
