package simulate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/journal"
	"github.com/weftflow/weft/storage"
)

// The simulated hosts are real engines (package engine) sharing the run's
// store, each made WithLeases, as processes on several machines would be.
// Events (deliveries, cancels, duplicates) go through a host's Apply; the
// outbox and the due index are worked on only by the engines' own
// synchronous core, RunDue and ProcessInstance: their claims, leases,
// fencing, ordering of effects and acknowledgements are what the
// simulator runs, not a copy of them. The simulator is the receiver of the
// effects (each engine's SetupHandler, finish hook and ActivityRunner), and
// it watches every write a host makes, to fold the transitions an engine
// commits on its own (due resumes, activity results) into the model and to
// check that writes under a superseded lease are fenced.

// leaseTTL is the simulated hosts' lease time to live.
const leaseTTL = time.Minute

// dispatchLimit is how many instances a simulated RunDue claims.
const dispatchLimit = 4

// simHost is one simulated process: an engine over its own handle of the
// run's store.
type simHost struct {
	e     *engine.Engine
	api   Host // e, or the user's wrapper of it (Options.Host)
	store *hostStore
}

// newHost makes the engine of host i over base, with the simulator's clock,
// one worker (so that a run is one deterministic sequence) and hooks
// calling back into r.
func newHost(i int, def *dsl.Definition, opts *config, base storage.Store, clock *engine.FakeClock, r receiver) *simHost {
	st := &hostStore{Store: base, host: i, r: r}
	rc := &receiverOf{r: r, host: i}
	end := engine.WithFinish(rc.finish)
	if opts.noEnds {
		end = engine.WithoutEndEffects()
	}
	e, err := engine.New(st, engine.WithClock(stillClock{clock}), engine.WithWorkers(1),
		engine.WithLeases(hostName(i), leaseTTL), engine.WithMaxAttempts(0),
		engine.WithRetryBackoff(time.Second, time.Minute),
		end, engine.WithActivityRunner(rc.activity), engine.WithChildRunner(rc), engine.WithoutConflictPause(),
		engine.WithJournal("", journal.Policy{})) // checked by InvJournal
	if err != nil {
		panic(err) // a store, clock and options of our own: cannot be invalid
	}
	reg := opts.registration(def)
	if err := registerAll(e, reg.children); err != nil {
		panic(err) // definitions by distinct names: cannot collide
	}
	if err := e.Register(def); err != nil {
		panic(err) // one definition: cannot collide
	}
	for _, typ := range reg.types {
		e.Handle(typ, rc)
	}
	h := &simHost{e: e, api: engineHost{e}, store: st}
	if opts.host != nil {
		h.api = opts.host(h.api)
	}
	return h
}

// hostNames are the lease owner names of the first hosts (hosts restart
// at every simulated crash).
var hostNames = [...]string{"host-0", "host-1", "host-2", "host-3"}

// hostName is host i's lease owner name.
func hostName(i int) string {
	if i < len(hostNames) {
		return hostNames[i]
	}
	return fmt.Sprintf("host-%d", i)
}

// stillClock is the simulator's clock as the engines see it: it reads the
// fake clock, and its timers never fire. The engines' only timers are
// lease renewals, which would race with the simulator for the clock in
// goroutines of their own; a simulated host works on a lease in no
// simulated time, unless the simulator pauses it (see world.pause), and
// then it must not renew.
type stillClock struct{ c *engine.FakeClock }

func (s stillClock) Now() time.Time { return s.c.Now() }

func (stillClock) Timer(time.Duration) (<-chan time.Time, func()) { return nil, func() {} }

// receiver is who performs the effects the engines hand out, and watches
// their writes: the world (checking) or a replay (repeating the run's
// outcomes).
type receiver interface {
	// perform is a setup, teardown or finishing effect performed by host.
	perform(host int, info engine.EffectInfo) error
	// runActivity runs an activity attempt for host.
	runActivity(host int, info engine.EffectInfo) ([]byte, error)
	// wrote is told of each write of host: op, the fence token of the
	// lease it was made under (if any), the IDs (for "ack"), and its
	// outcome.
	wrote(host int, op string, l fence, ids []string, err error)
	// leased is told of each lease a host obtained.
	leased(host int, l storage.Lease)
}

// fence is the fence token of the lease a write was made under, if any.
type fence struct {
	token  uint64
	leased bool
}

// fenceOf is the fence of a write under l (nil: none).
func fenceOf(l *storage.Lease) fence {
	if l == nil {
		return fence{}
	}
	return fence{token: l.Token, leased: true}
}

// receiverOf adapts a receiver to one host's engine hooks.
type receiverOf struct {
	r    receiver
	host int
}

func (rc *receiverOf) Setup(_ context.Context, info engine.EffectInfo) error {
	return rc.r.perform(rc.host, info)
}

func (rc *receiverOf) Teardown(_ context.Context, info engine.EffectInfo) error {
	return rc.r.perform(rc.host, info)
}

func (rc *receiverOf) finish(_ context.Context, info engine.EffectInfo) error {
	return rc.r.perform(rc.host, info)
}

// activity is the host's ActivityRunner. It leaves the engine's run
// alone: the receiver draws the attempt's outcome and, for a success,
// runs the function itself, in the simulator's context, which no
// wall-clock timeout ends.
func (rc *receiverOf) activity(_ context.Context, info engine.EffectInfo, _ func(context.Context) ([]byte, error)) ([]byte, error) {
	return rc.r.runActivity(rc.host, info)
}

// hostStore is one host's handle of the run's store. It crashes the host
// at an armed point of its next commit (events), or from its crashAt-th
// write on (dispatch: the process dies there, and every later write of it
// fails, as engine/hosts_test.go's crashable does), and tells the receiver
// of every write.
type hostStore struct {
	storage.Store
	host  int
	r     receiver
	armed crashPoint
	fired crashPoint // the point of the last crash, for the trace

	crashAt int // the write at which the process dies (0: never)
	writes  int // writes since crashAt was set
	dead    bool
}

// write counts a write and reports whether the process is dead by now.
func (s *hostStore) write() error {
	if s.dead {
		return ErrCrash
	}
	s.writes++
	if s.crashAt > 0 && s.writes >= s.crashAt {
		s.dead = true
		return ErrCrash
	}
	return nil
}

func (s *hostStore) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	if err := s.write(); err != nil {
		return 0, err
	}
	point := s.armed
	s.armed = noCrash
	if point == beforeCommit {
		s.fired = point
		return 0, ErrCrash
	}
	v, err := s.Store.Commit(ctx, c)
	s.r.wrote(s.host, "commit", fenceOf(c.Lease), nil, err)
	if err == nil && point == afterCommit {
		s.fired = point
		return 0, ErrCrash
	}
	return v, err
}

func (s *hostStore) AckLeased(ctx context.Context, l storage.Lease, ids ...string) error {
	if err := s.write(); err != nil {
		return err
	}
	err := s.Store.AckLeased(ctx, l, ids...)
	s.r.wrote(s.host, "ack", fenceOf(&l), ids, err)
	return err
}

func (s *hostStore) Retry(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	if err := s.write(); err != nil {
		return err
	}
	err := s.Store.Retry(ctx, l, id, r)
	s.r.wrote(s.host, "retry", fenceOf(&l), []string{id}, err)
	return err
}

func (s *hostStore) DeadLetter(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	if err := s.write(); err != nil {
		return err
	}
	err := s.Store.DeadLetter(ctx, l, id, r)
	s.r.wrote(s.host, "dead-letter", fenceOf(&l), []string{id}, err)
	return err
}

// AckRelease is one write: the store's own AckRelease if it has one (the
// engine takes it when its instance's work ends), else the two calls the
// engine would make.
func (s *hostStore) AckRelease(ctx context.Context, l storage.Lease, ids ...string) error {
	ar, ok := s.Store.(storage.AckReleaser)
	if !ok {
		if err := s.AckLeased(ctx, l, ids...); err != nil {
			return err
		}
		return s.Release(ctx, l)
	}
	if err := s.write(); err != nil {
		return err
	}
	err := ar.AckRelease(ctx, l, ids...)
	s.r.wrote(s.host, "ack", fenceOf(&l), ids, err)
	s.r.wrote(s.host, "release", fenceOf(&l), nil, err)
	return err
}

// PendingWithDead is the store's, or Pending with dead letters possible.
func (s *hostStore) PendingWithDead(ctx context.Context, l storage.Lease, limit int) ([]storage.Effect, bool, error) {
	if pd, ok := s.Store.(storage.PendingWithDead); ok {
		return pd.PendingWithDead(ctx, l, limit)
	}
	effects, err := s.Store.Pending(ctx, l, limit)
	return effects, true, err
}

// Release releases a batch lease by lease, so that the fencing check sees
// each (it is one write for the crash points).
func (s *hostStore) Release(ctx context.Context, ls ...storage.Lease) error {
	if err := s.write(); err != nil {
		return err
	}
	var errs []error
	for i := range ls {
		err := s.Store.Release(ctx, ls[i:i+1]...)
		s.r.wrote(s.host, "release", fenceOf(&ls[i]), nil, err)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *hostStore) Renew(ctx context.Context, l storage.Lease, now time.Time, ttl time.Duration) (storage.Lease, error) {
	if err := s.write(); err != nil {
		return storage.Lease{}, err
	}
	nl, err := s.Store.Renew(ctx, l, now, ttl)
	s.r.wrote(s.host, "renew", fenceOf(&l), nil, err)
	return nl, err
}

func (s *hostStore) Claim(ctx context.Context, req storage.ClaimRequest) ([]storage.Lease, error) {
	if err := s.write(); err != nil {
		return nil, err
	}
	ls, err := s.Store.Claim(ctx, req)
	for _, l := range ls {
		s.r.leased(s.host, l)
	}
	s.r.wrote(s.host, "claim", fence{}, nil, err)
	return ls, err
}

func (s *hostStore) Acquire(ctx context.Context, id string, req storage.ClaimRequest) (storage.Lease, error) {
	if err := s.write(); err != nil {
		return storage.Lease{}, err
	}
	l, err := s.Store.Acquire(ctx, id, req)
	if err == nil {
		s.r.leased(s.host, l)
	}
	s.r.wrote(s.host, "acquire", fence{}, nil, err)
	return l, err
}

// crashStore tells the run's store a crash happened, if it cares.
func crashStore(s storage.Store) {
	if c, ok := s.(interface{ Crash() }); ok {
		c.Crash()
	}
}

// customTypes lists the custom event types of defs (their setup and
// teardown effects need a handler in every engine), each once, in order.
func customTypes(defs ...*dsl.Definition) []string {
	seen := map[string]bool{}
	var out []string
	for _, def := range defs {
		if def == nil {
			continue
		}
		for _, p := range def.Positions() {
			n, _ := def.Lookup(p)
			for _, on := range n.Arms() {
				if on.Trigger() == dsl.TriggerCustom && !seen[on.EventType()] {
					seen[on.EventType()] = true
					out = append(out, on.EventType())
				}
			}
		}
	}
	return out
}

// registration is what every host of a Check registers besides def: the
// child definitions and the custom event types of def and the upgrade,
// found once per definition (hosts restart at every simulated crash).
type registration struct {
	children []*dsl.Definition
	types    []string
}

// registration returns def's registration, computing it on first use.
func (c *config) registration(def *dsl.Definition) registration {
	c.regMu.Lock()
	defer c.regMu.Unlock()
	if r, ok := c.regs[def]; ok {
		return r
	}
	r := registration{children: childDefinitions(def, c.upgrade), types: customTypes(def, c.upgrade)}
	if c.regs == nil {
		c.regs = map[*dsl.Definition]registration{}
	}
	c.regs[def] = r
	return r
}
