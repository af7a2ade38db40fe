package simulate

import (
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

	// NoCrashes, NoDuplicates and NoCancel turn those actions off.
	NoCrashes, NoDuplicates, NoCancel bool
	// LivenessSteps bounds the liveness phase (default 200 deliveries).
	LivenessSteps int

	// Actions are extra actions drawn alongside the built-in ones.
	Actions map[string]func(t *rapid.T, s *Sim)

	// Store wraps the in-memory store the simulated host writes to, to check
	// a storage adapter's behaviour; if the result implements
	// interface{ Crash() }, it is called at every simulated crash.
	Store func(storage.Store) storage.Store
	// Host wraps the simulated host (the engine), to check a host's behaviour.
	Host func(Host) Host
}

// simStart is the simulated clock's start.
var simStart = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

// config is Options without the type parameter: the world works on any
// state through the definition's state type.
type config struct {
	input                             func(*rapid.T) any
	payloads                          map[string]func(*rapid.T) any
	activities                        map[string]func(*rapid.T) any
	invariant                         func(any) error
	resting                           []string
	upgrade                           *dsl.Definition
	noCrashes, noDuplicates, noCancel bool
	liveness                          int
	actions                           map[string]func(*rapid.T, *Sim)
	store                             func(storage.Store) storage.Store
	host                              func(Host) Host
}

func (o Options[S]) config() *config {
	c := &config{payloads: o.Payloads, activities: o.Activities, resting: o.Resting, upgrade: o.Upgrade, noCrashes: o.NoCrashes,
		noDuplicates: o.NoDuplicates, noCancel: o.NoCancel, liveness: o.LivenessSteps, actions: o.Actions,
		store: o.Store, host: o.Host}
	if c.liveness <= 0 {
		c.liveness = 200
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
