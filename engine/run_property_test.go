package engine_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/defgen"
	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"github.com/weftflow/weft/storage/memory"
	"github.com/weftflow/weft/storage/postgres"
)

// TestRunProperty drives generated definitions (internal/defgen: every
// statement kind, threads, timers, activities, waits with setups) under
// engine.Run, the way a service does: clients start instances (some with
// SignalWithStart), send events, cancel, terminate and start new runs over
// finished or running IDs, from one goroutine per instance, while the
// clock moves and handlers fail first attempts. Run's hot path hands out
// what these commits hold, with its bounds drawn (so that it overflows to
// passes) and its work table swept often or not. Then every instance is
// terminated, and Run alone (no Drain) must perform every effect left:
//
//   - each Setup, Teardown and end effect succeeds exactly once;
//   - a Teardown follows its Setup;
//   - an end effect follows every Setup and Teardown committed before it
//     (the run's own, and an earlier run's over the same ID);
//   - each run's end is performed, and the outbox ends empty.
//
// Run is also stopped and started again at times (what it held goes back
// to the outbox), every process is deployed again with the definition as
// versions 2 and 3 (instances move on under the new version), the store is memory or bbolt, and one time in three two
// engines made WithLeases share it (Run's shared path: claims, leases,
// performPending) instead of one engine alone (the hot path). One check
// in two makes the store fail some writes (before or after making them:
// an unknown outcome): effects are then at least once, so only their
// order, every instance's end and an empty outbox are required. (Not
// releasing the hot path's claims after a failed commit leaves effects
// that nothing performs: caught within a default run.)
//
// It found three bugs on its first runs, each with a test of its own
// now: acknowledgements written with the stopping Run's context
// (TestRunStopAcknowledgesWhatSucceeded), a lease's successes left
// unacknowledged after a later write failed
// (TestLeasedSuccessAcknowledgedDespiteALaterFailure), and leases claimed
// as Run stopped held until they expired
// (TestRunReleasesWhatItClaimedAsItStopped).
//
// The simulator checks the same orders through RunDue and
// ProcessInstance; this is where Run's own hand-offs are checked on
// workflows no example has.
func TestRunProperty(t *testing.T) {
	dir := t.TempDir()
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		runProperty(rt, runPlace{bolt: filepath.Join(dir, fmt.Sprintf("run-%d.db", n)), prefix: "g"})
	})
}

// TestRunPropertyPostgres is TestRunProperty with two engines, each with
// its own connection pool, sharing one PostgreSQL schema under leases,
// as replicas of a service do. A check costs about a second and a half
// of round trips here: unless -rapid.checks is given, it makes 25.
func TestRunPropertyPostgres(t *testing.T) {
	schema := pgtest.Schema(t, "engine_runprop_")
	if checks := flag.Lookup("rapid.checks"); checks.Value.String() == checks.DefValue {
		if err := checks.Value.Set("25"); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = checks.Value.Set(checks.DefValue) }()
	}
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		runProperty(rt, runPlace{prefix: fmt.Sprintf("k%d-g", n), postgres: func() storage.Store {
			st, err := postgres.Open(context.Background(), pgtest.DSN(), postgres.WithSchema(schema))
			if err != nil {
				rt.Fatal(err)
			}
			return st
		}})
	})
}

// runPlace is where a run property check keeps its instances.
type runPlace struct {
	bolt     string               // the path of a bbolt file, if one is drawn
	postgres func() storage.Store // if not nil, opens a process's handle of a PostgreSQL store: two engines share it
	prefix   string               // of the instance IDs (apart from earlier checks' in the same store)
}

// runOp is one client call of a run property script.
type runOp struct {
	kind    string // send, advance, cancel, terminate, reuse, replace, restart, deploy, expire, start
	event   string
	payload int
	pick    int // which of the events waited for when sent, if < 12; else event
	by      time.Duration
}

func (o runOp) String() string {
	switch o.kind {
	case "send":
		return fmt.Sprintf("send %s %d", o.event, o.payload)
	case "advance":
		return "advance " + o.by.String()
	}
	return o.kind
}

// runProperty is TestRunProperty's property.
func runProperty(rt *rapid.T, place runPlace) {
	def := defgen.Generator(defgen.Config{Setups: true}).Draw(rt, "definition")
	events := slices.Sorted(maps.Keys(defgen.SimOptions(def).Payloads))
	workers := rapid.SampledFrom([]int{1, 2, 8}).Draw(rt, "workers")
	limits := rapid.SampledFrom([][2]int{{4096, 4096}, {0, 4096}, {1, 1}, {2, 0}}).Draw(rt, "hot limits")
	sweep := rapid.SampledFrom([]int{0, 1, 2}).Draw(rt, "sweep every")
	// Two processes share the store under leases (Run's shared path), or
	// one runs alone (its hot path). Leases are not lost to the clock: it
	// moves by at most a minute at a time, against hours of time to live.
	shared := place.postgres != nil || rapid.IntRange(0, 2).Draw(rt, "shared") == 0
	advances := []time.Duration{time.Second, time.Minute, time.Hour, 24 * time.Hour}
	if shared {
		advances = advances[:2]
	}

	// Instances migrated when Run starts after a deploy, or at their next
	// event. Finished instances deleted an hour after they ended, by
	// Run's GC, and their IDs started again: the new instances continue
	// the deleted ones' numbering (the ledger sees every effect ID once).
	var extra []engine.Option
	if rapid.Bool().Draw(rt, "migrate on Run") {
		extra = append(extra, engine.WithMigrateOnRun())
	}
	retain := rapid.IntRange(0, 2).Draw(rt, "retention") == 0
	keep := advances[len(advances)-1] // (shared: a minute)
	kinds := []string{"send", "send", "send", "send", "advance", "advance", "cancel", "terminate", "reuse", "replace", "restart", "deploy"}
	if retain {
		extra = append(extra, engine.WithRetention(keep), engine.WithRetentionInterval(time.Minute))
		// A client expires its instance: it moves the clock past the
		// retention and runs GC, which deletes the instance if it has
		// finished (once its effects are performed); a plain Start then
		// makes a new one.
		kinds = append(kinds, "terminate", "expire", "expire", "start", "start")
	}
	// One write in faults fails (0: none), before or after it is made
	// (an unknown outcome). Effects are then at least once, not exactly.
	faults := rapid.SampledFrom([]int64{0, 0, 0, 5, 11, 23}).Draw(rt, "faults")

	// A SignalWithStart most often sends an event a wait of the start
	// takes: with a setup, its Setup and Teardown are then in one Create.
	opened := openedAtStart(def.Definition)
	ids := make([]string, rapid.IntRange(1, 5).Draw(rt, "instances"))
	withSignal := make([]string, len(ids)) // the SignalWithStart's event, if any
	scripts := make([][]runOp, len(ids))
	for i := range ids {
		ids[i] = place.prefix + strconv.Itoa(i)
		switch {
		case len(events) == 0 || rapid.IntRange(0, 3).Draw(rt, "SignalWithStart") == 0:
		case len(opened) > 0 && rapid.IntRange(0, 3).Draw(rt, "to a wait of the start") > 0:
			withSignal[i] = rapid.SampledFrom(opened).Draw(rt, "event")
		default:
			withSignal[i] = rapid.SampledFrom(events).Draw(rt, "event")
		}
		for range rapid.IntRange(0, 40).Draw(rt, "calls") {
			op := runOp{kind: rapid.SampledFrom(kinds).Draw(rt, "call")}
			switch op.kind {
			case "send":
				if len(events) == 0 {
					continue
				}
				op.event = rapid.SampledFrom(events).Draw(rt, "event")
				op.payload = rapid.IntRange(-2, 14).Draw(rt, "payload")
				op.pick = rapid.IntRange(0, 15).Draw(rt, "pick")
			case "advance":
				op.by = rapid.SampledFrom(advances).Draw(rt, "by")
			}
			scripts[i] = append(scripts[i], op)
		}
	}

	ctx := context.Background()
	clock := engine.NewFakeClock(defgen.Epoch)
	l := newRunLedger()
	m := memory.New()
	var store storage.Store = m
	handle := func() storage.Store { return m.Share() }
	switch {
	case place.postgres != nil:
		s0, s1 := place.postgres(), place.postgres()
		defer s0.Close()
		defer s1.Close()
		store = s0
		handles := []storage.Store{s0, s1}
		handle = func() storage.Store {
			h := handles[0]
			handles = handles[1:]
			return h
		}
	case rapid.IntRange(0, 3).Draw(rt, "bbolt") == 0:
		b, err := bolt.Open(place.bolt, bolt.WithUnsafeNoSync())
		if err != nil {
			rt.Fatal(err)
		}
		defer b.Close()
		store = b
		handle = func() storage.Store { return b }
	}
	if faults > 0 {
		plain := handle
		store = &faulty{Store: store, every: faults}
		handle = func() storage.Store { return &faulty{Store: plain(), every: faults} }
	}
	// The definition as deployed: version 1, then the same again as
	// versions 2 and 3 (a deploy that changes nothing must change nothing).
	defs := []*dsl.Definition{def.Definition}
	for v := 2; v <= 3; v++ {
		d, err := def.Upgraded(v)
		if err != nil {
			rt.Fatal(err)
		}
		defs = append(defs, d)
	}
	f := &fleet{defs: defs, stores: []storage.Store{store}, opts: []engine.Option{nil}}
	if shared {
		// An instance whose work failed keeps its lease for a backoff, a
		// second and more, up to the TTL. Under faults, leases last a
		// minute half the time, and may expire mid-work as the clock
		// moves (a process that paused: effects are performed again, in
		// order); else the backoff alone brings a failed instance back.
		ttl := 100 * time.Hour
		if faults > 0 && rapid.Bool().Draw(rt, "short leases") {
			ttl = time.Minute
		}
		f.stores = []storage.Store{handle(), handle()}
		f.opts = []engine.Option{engine.WithLeases("p0", ttl), engine.WithLeases("p1", ttl)}
	}
	f.make = func(store storage.Store, def *dsl.Definition, opt engine.Option) (*engine.Engine, error) {
		e, err := newRunEngine(store, def, l, clock, workers, append(slices.Clip(extra), opt)...)
		if err == nil {
			engine.SetHotLimits(e, limits[0], limits[1])
			if sweep > 0 {
				engine.SetSweepEvery(e, sweep)
			}
		}
		return e, err
	}
	if err := f.start(); err != nil {
		rt.Fatal(err)
	}
	defer f.stop()

	// Each client's calls, in order; an error no client should see is
	// reported as the property's failure.
	started := make([]int, len(ids)) // runs started, by instance
	problems := make([][]string, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		slot := i % len(f.stores)
		wg.Go(func() {
			fail := func(what string, err error) {
				problems[i] = append(problems[i], fmt.Sprintf("%s: %s: %v", id, what, err))
			}
			e, _, def := f.get(slot) // (before any deploy)
			begun := false
			if withSignal[i] != "" {
				err := e.SignalWithStart(ctx, def, id, defgen.State{}, withSignal[i], 12)
				switch {
				case err == nil:
					begun = true
				case errors.Is(err, interp.ErrRejected), errors.Is(err, interp.ErrFinished), isFault(err):
					// Refused, or the start ended the instance (or the
					// store failed): it is started below if it does not
					// exist.
					_, err := e.Get(ctx, id)
					begun = err == nil
				default:
					fail("SignalWithStart", err)
					return
				}
			}
			for !begun {
				err := e.Start(ctx, def, id, defgen.State{})
				switch {
				case err == nil, errors.Is(err, engine.ErrExists):
					begun = true // (exists: a failed try was made after all)
				case !isFault(err):
					fail("start", err)
					return
				}
			}
			started[i] = 1
			for _, op := range scripts[i] {
				var err error
				f.mu.RLock()
				e, run, def := f.engines[slot], f.runs[slot], f.defs[f.deploys]
				switch op.kind {
				case "send":
					err = e.Send(ctx, id, waitedFor(ctx, e, id, op), op.payload, nil)
				case "advance":
					clock.Advance(op.by)
				case "cancel":
					err = e.Cancel(ctx, id)
				case "terminate":
					err = e.Terminate(ctx, id, "the script")
				case "expire":
					clock.Advance(keep + time.Second)
					for try := 0; try < 100; try++ { // (an end left to perform holds it)
						var rep engine.GCReport
						if rep, err = e.GC(ctx); err != nil || rep.Held == 0 {
							break
						}
						time.Sleep(time.Millisecond)
					}
				case "start":
					if err = e.Start(ctx, def, id, defgen.State{}); err == nil {
						started[i]++
					}
				case "reuse":
					if err = e.Start(ctx, def, id, defgen.State{}, engine.WithIDReuse(engine.IDReuseAfterFinished)); err == nil {
						started[i]++
					}
				case "restart":
					if err = run.stop(); err == nil {
						run.start()
					}
				case "replace":
					if err = e.Start(ctx, def, id, defgen.State{}, engine.WithIDReuse(engine.IDReuseTerminateRunning)); err == nil {
						started[i]++
					}
				}
				f.mu.RUnlock()
				if op.kind == "deploy" {
					err = f.deploy()
				}
				if op.kind == "cancel" && errors.Is(err, interp.ErrBadEvent) {
					err = nil // already canceling
				}
				if retain && errors.Is(err, storage.ErrNotFound) {
					err = nil // deleted
				}
				if err != nil && !expectedRefusal(err) && !isFault(err) {
					fail(op.String(), err)
				}
			}
			e, _, _ = f.get(slot)
			for {
				err := e.Terminate(ctx, id, "the end")
				if err == nil || errors.Is(err, interp.ErrFinished) || (retain && errors.Is(err, storage.ErrNotFound)) {
					break
				}
				if !isFault(err) {
					fail("the last terminate", err)
					break
				}
			}
		})
	}
	wg.Wait()
	for _, p := range problems {
		for _, s := range p {
			rt.Error(s)
		}
	}
	if rt.Failed() {
		return
	}

	// Run alone must now perform what is left: the clock moves only for
	// retries of failed first attempts.
	want := 0
	for _, n := range started {
		want += n
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		left, err := store.Outbox(ctx, 10)
		if err != nil {
			rt.Fatal(err)
		}
		if len(left) == 0 && (faults > 0 || l.ends("") == want) {
			break
		}
		if time.Now().After(deadline) {
			var runs []string
			for i, id := range ids {
				runs = append(runs, fmt.Sprintf("%s %d/%d", id, l.ends(id), started[i]))
			}
			rt.Fatalf("Run has not performed everything after 20 s: %d of %d ends performed (%s), outbox holds %s; the engines logged:\n%s",
				l.ends(""), want, strings.Join(runs, ", "), effectIDs(left), l.lastLogs())
		}
		clock.Advance(time.Second)
		time.Sleep(200 * time.Microsecond)
	}
	if err := f.stop(); err != nil {
		rt.Fatalf("Run: %v", err)
	}
	e := f.engines[0]
	for i, id := range ids {
		inst, err := e.Get(ctx, id)
		if (err != nil || !inst.Meta.Status.Finished()) && !(retain && errors.Is(err, storage.ErrNotFound)) {
			rt.Fatalf("%s after its last terminate: %v, %v", id, inst.Meta.Status, err)
		}
		// Under faults a failed Start may have made its run after all, and
		// a failed acknowledgement repeats an end: each instance ended.
		if got := l.ends(id); got != started[i] && (faults == 0 || got == 0) {
			rt.Errorf("%s: %d runs started, %d ends performed", id, started[i], got)
		}
	}
	l.check(rt, faults == 0)
}

// newRunEngine makes an engine of the run property, with handlers that
// perform through l.
func newRunEngine(store storage.Store, def *dsl.Definition, l *runLedger, clock *engine.FakeClock, workers int, more ...engine.Option) (*engine.Engine, error) {
	opts := []engine.Option{engine.WithClock(clock), engine.WithWorkers(workers), engine.WithLogger(slog.New(slog.NewTextHandler(&l.logs, nil))),
		engine.WithRetryBackoff(time.Second, 4*time.Second),
		engine.WithFinish(func(_ context.Context, info engine.EffectInfo) error { return l.perform("finish", info) })}
	for _, o := range more {
		if o != nil {
			opts = append(opts, o)
		}
	}
	e, err := engine.New(store, opts...)
	if err != nil {
		return nil, err
	}
	if err := e.Register(def); err != nil {
		return nil, err
	}
	for _, typ := range setupTypes(def) {
		e.Handle(typ, engine.SetupFuncs{
			SetupFunc:    func(_ context.Context, info engine.EffectInfo) error { return l.perform("setup", info) },
			TeardownFunc: func(_ context.Context, info engine.EffectInfo) error { return l.perform("teardown", info) },
		})
	}
	return e, nil
}

// fleet is the run property's processes: an engine each, on its handle
// of the store, with its Run; a deploy replaces them all with engines of
// the next version.
type fleet struct {
	mu      sync.RWMutex // clients hold it shared for a call, a deploy alone
	defs    []*dsl.Definition
	deploys int // defs[deploys] is deployed
	stores  []storage.Store
	opts    []engine.Option // by process
	make    func(storage.Store, *dsl.Definition, engine.Option) (*engine.Engine, error)
	engines []*engine.Engine
	runs    []*runner
}

// get returns process i's engine and Run, and the deployed definition.
func (f *fleet) get(i int) (*engine.Engine, *runner, *dsl.Definition) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.engines[i], f.runs[i], f.defs[f.deploys]
}

// start makes the processes' engines and starts their Runs.
func (f *fleet) start() error {
	f.engines, f.runs = make([]*engine.Engine, len(f.stores)), make([]*runner, len(f.stores))
	for i, st := range f.stores {
		e, err := f.make(st, f.defs[f.deploys], f.opts[i])
		if err != nil {
			return err
		}
		f.engines[i], f.runs[i] = e, &runner{e: e}
	}
	for _, r := range f.runs {
		r.start()
	}
	return nil
}

// stop stops every Run.
func (f *fleet) stop() error {
	var errs []error
	for _, r := range f.runs {
		errs = append(errs, r.stop())
	}
	return errors.Join(errs...)
}

// deploy stops every process and starts them again with the next
// version (the last one stays).
func (f *fleet) deploy() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.deploys == len(f.defs)-1 {
		return nil
	}
	if err := f.stop(); err != nil {
		return err
	}
	f.deploys++
	return f.start()
}

// runner runs an engine's Run, which clients may stop and start again.
type runner struct {
	e      *engine.Engine
	mu     sync.Mutex
	cancel context.CancelFunc // nil: stopped
	ran    chan error
}

func (r *runner) start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	r.cancel, r.ran = stop, make(chan error, 1)
	go func() { r.ran <- r.e.Run(ctx) }()
}

// stop stops Run and returns its error; a stopped Run gives nil.
func (r *runner) stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	r.cancel = nil
	return <-r.ran
}

// openedAtStart lists the custom events the waits that def's start opens
// take (the start of a zero state, as the property's); those with a setup
// only, if there are some.
func openedAtStart(def *dsl.Definition) []string {
	res, err := interp.Apply(def, nil, interp.Meta{}, interp.Event{Kind: interp.EventStart, Instance: "probe", Time: defgen.Epoch})
	if err != nil {
		return nil
	}
	var names, setups []string
	for _, th := range res.Meta.Threads {
		for _, p := range th.Waits {
			if p.Kind == interp.Custom {
				names = append(names, p.Event)
				if p.Setup {
					setups = append(setups, p.Event)
				}
			}
		}
	}
	if len(setups) > 0 {
		return setups
	}
	return names
}

// waitedFor is the event op sends to instance id: most of the time one
// of those its threads wait for now, else the one drawn (which is buffered
// if no thread waits for it).
func waitedFor(ctx context.Context, e *engine.Engine, id string, op runOp) string {
	inst, err := e.Get(ctx, id)
	if err != nil || op.pick >= 12 {
		return op.event
	}
	var names []string
	for _, th := range inst.Meta.Threads {
		for _, p := range th.Waits {
			if p.Kind == interp.Custom {
				names = append(names, p.Event)
			}
		}
	}
	if len(names) == 0 {
		return op.event
	}
	return names[op.pick%len(names)]
}

// faulty is a store whose every-th write (Create, Commit, Ack) fails:
// every other one before it is made, the others after it (an outcome
// unknown to the engine, which must find out).
type faulty struct {
	storage.Store
	every int64
	n     atomic.Int64
}

var errFault = errors.New("a planted store fault")

// fault reports whether this write fails, before or after it is made.
func (f *faulty) fault() (before, after bool) {
	n := f.n.Add(1)
	if n%f.every != 0 {
		return false, false
	}
	return n/f.every%2 == 0, n/f.every%2 == 1
}

func (f *faulty) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	before, after := f.fault()
	if before {
		return 0, errFault
	}
	v, err := f.Store.Create(ctx, inst, effects)
	if after && err == nil {
		return 0, errFault
	}
	return v, err
}

func (f *faulty) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	before, after := f.fault()
	if before {
		return 0, errFault
	}
	v, err := f.Store.Commit(ctx, c)
	if after && err == nil {
		return 0, errFault
	}
	return v, err
}

func (f *faulty) Ack(ctx context.Context, ids ...string) error {
	before, after := f.fault()
	if before {
		return errFault
	}
	if err := f.Store.Ack(ctx, ids...); err != nil || !after {
		return err
	}
	return errFault
}

// isFault reports whether err is a planted fault, as a client sees it.
func isFault(err error) bool {
	return errors.Is(err, errFault) || errors.Is(err, engine.ErrOutcomeUnknown)
}

// expectedRefusal reports whether err is a refusal a client of a
// generated workflow can be given: the event is rejected, unknown, not
// waited for with a full inbox, the instance is finished (or being
// canceled), or its ID is taken by a running instance.
func expectedRefusal(err error) bool {
	for _, want := range []error{interp.ErrRejected, interp.ErrUnknownEvent, interp.ErrInboxFull, interp.ErrFinished, engine.ErrExists} {
		if errors.Is(err, want) {
			return true
		}
	}
	return false
}

// setupTypes lists the custom event types of def, each once.
func setupTypes(def *dsl.Definition) []string {
	seen := map[string]bool{}
	for _, p := range def.Positions() {
		n, _ := def.Lookup(p)
		for _, on := range n.Arms() {
			if on.Trigger() == dsl.TriggerCustom {
				seen[on.EventType()] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func effectIDs(effects []storage.Effect) string {
	ids := make([]string, len(effects))
	for i, ef := range effects {
		ids[i] = ef.ID
	}
	return strings.Join(ids, ", ")
}

// runLedger records, in one order, every Setup, Teardown and end effect
// performed, and fails the first attempt of about one effect in three.
type runLedger struct {
	mu       sync.Mutex
	logs     syncBuffer // the engines' warnings, for a failure's report
	tick     int
	attempts map[string]int
	done     map[string][]performed // effect ID -> its successful performances
}

type performed struct {
	kind string
	info engine.EffectInfo
	tick int
}

func newRunLedger() *runLedger {
	return &runLedger{attempts: map[string]int{}, done: map[string][]performed{}}
}

// lastLogs is the end of the engines' log.
func (l *runLedger) lastLogs() string {
	s := l.logs.String()
	return s[max(0, len(s)-4000):]
}

func (l *runLedger) perform(kind string, info engine.EffectInfo) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := fnv.New32a()
	h.Write([]byte(info.ID))
	if l.attempts[info.ID]++; l.attempts[info.ID] == 1 && h.Sum32()%3 == 0 {
		return errors.New("the receiver is down")
	}
	l.tick++
	l.done[info.ID] = append(l.done[info.ID], performed{kind, info, l.tick})
	return nil
}

// ends counts the end effects performed of instance id ("": of all).
func (l *runLedger) ends(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ps := range l.done {
		if ps[0].kind == "finish" && (id == "" || ps[0].info.Instance == id) {
			n++
		}
	}
	return n
}

// check checks the orders of the first performances, and with once that
// each effect succeeded once.
func (l *runLedger) check(rt *rapid.T, once bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	setups := map[string]performed{} // instance/callback -> its Setup
	var all []performed
	for id, ps := range l.done {
		if once && len(ps) != 1 {
			rt.Errorf("effect %s (%s) succeeded %d times", id, ps[0].kind, len(ps))
		}
		p := ps[0]
		all = append(all, p)
		if p.kind == "setup" {
			setups[fmt.Sprintf("%s/%d", p.info.Instance, p.info.Callback)] = p
		}
	}
	for _, p := range all {
		if p.kind != "teardown" {
			continue
		}
		s, ok := setups[fmt.Sprintf("%s/%d", p.info.Instance, p.info.Callback)]
		if !ok || s.tick > p.tick {
			rt.Errorf("teardown %s of callback %d performed before its setup", p.info.ID, p.info.Callback)
		}
	}
	for _, end := range all {
		if end.kind != "finish" {
			continue
		}
		for _, p := range all {
			if p.kind == "finish" || p.info.Instance != end.info.Instance {
				continue
			}
			if engine.CmpEffectIDs(p.info.ID, end.info.ID) < 0 && p.tick > end.tick {
				rt.Errorf("end %s performed before %s %s, committed before it", end.info.ID, p.kind, p.info.ID)
			}
		}
	}
}
