//go:build unix

package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/postgres"
)

// The Postgres server of the tests and throwaway schemas are
// internal/pgtest's.

func pgDSN() string { return pgtest.DSN() }

// needPostgres skips t when no server answers, or fails it under CI=true.
func needPostgres(t testing.TB) { t.Helper(); pgtest.Need(t) }

// newPGSchema returns the name of a schema no other test uses, and drops
// it when t ends.
func newPGSchema(t testing.TB) string { t.Helper(); return pgtest.Schema(t, "weft_crash_") }

// withAppName returns dsn with its application_name set to name, so that
// the backends of one child process can be told apart in pg_stat_activity.
func withAppName(dsn, name string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "application_name=" + name
	}
	return dsn + " application_name=" + name
}

// Shape of the Postgres runs.
const (
	pgProcs     = 3               // child processes on the schema at once
	pgTTL       = 2 * time.Second // their leases' time to live
	pgPoll      = 50 * time.Millisecond
	pgStops     = 3 // SIGSTOPs past the lease, during the kills
	pgKillsCI   = 200
	pgKillsFast = 40 // with -short
)

// pgConfig is one run on Postgres.
type pgConfig struct {
	seed   uint64
	kills  int // 0: no faults at all
	stops  int // SIGSTOPs, each longer than pgTTL
	size   size
	ttl    time.Duration
	span   time.Duration // over which the commands are paced while kills go on
	faults bool
}

// TestKill9Postgres runs three processes on one Postgres schema, each an
// engine WithLeases, sends them commands round-robin, SIGKILLs a random one
// every 20 to 300 ms (restarting it), SIGSTOPs one for longer than its
// lease twice, and checks that every acknowledged command was applied
// once, every effect was performed (duplicates only across leases, the
// late ones fenced), nothing is left claimed, in the outbox or dead. See
// the package documentation.
func TestKill9Postgres(t *testing.T) {
	needFork(t)
	cfg := configure(t) // seed and -crash.kills
	pc := pgConfig{seed: cfg.seed, kills: *flagKills, stops: pgStops, ttl: pgTTL, faults: true}
	if pc.kills == 0 && os.Getenv(envKills) != "" {
		pc.kills = cfg.kills
	}
	if pc.kills == 0 {
		pc.kills = pgKillsCI
		if testing.Short() {
			pc.kills = pgKillsFast
		}
	}
	pc.span = time.Duration(pc.kills) * (minDelay + maxDelay) / 2
	pc.size = size{counters: 20, target: max(10, pc.kills/4), pizzas: 10, approvals: 10, cancels: 5}
	p, sn := pgRun(t, pc)
	t.Run("the checks can fail", func(t *testing.T) {
		checkMutations(t, p, sn)
		checkFenceMutations(t, sn)
	})
}

// checkFenceMutations damages copies of a good receiver log, one way
// each, and makes sure checkFences reports every damage.
func checkFenceMutations(t *testing.T, good *snapshot) {
	if r := checkFences(good.log); len(r.problems) > 0 {
		t.Fatalf("the good log has problems: %v", r.problems)
	}
	first := slices.IndexFunc(good.log, func(e Entry) bool { return e.Kind == "setup" })
	mutations := []struct {
		name, want string
		damage     func(log []Entry) []Entry
	}{
		{"an effect performed without a lease", "without a lease", func(log []Entry) []Entry {
			log[first].Fence = 0
			return log
		}},
		{"an effect delivered twice under one lease", "twice under fence", func(log []Entry) []Entry {
			e := log[first]
			e.Op = OpDup
			return append(log, e)
		}},
	}
	for _, m := range mutations {
		r := checkFences(m.damage(slices.Clone(good.log)))
		if !slices.ContainsFunc(r.problems, func(s string) bool { return strings.Contains(s, m.want) }) {
			t.Errorf("%s: not detected; want a problem with %q, got %q", m.name, m.want, r.problems)
			continue
		}
		t.Logf("%s: detected: %s", m.name, r.problems[0])
	}
}

// TestKill9PostgresNoFaults runs the same three processes and workload with
// no kill and no stop: every effect must be delivered exactly once, not a
// single duplicate. Its leases live longer than the other runs' (renewed
// every 3.3s instead of 0.7s): with no fault planted, a lease may be lost
// only to a machine so loaded that a renewal waits for seconds (a CI run
// beside a fuzz campaign lost three at 2s), and that would be the
// machine's fault, not the engine's.
func TestKill9PostgresNoFaults(t *testing.T) {
	needFork(t)
	cfg := configure(t)
	_, _ = pgRun(t, pgConfig{seed: cfg.seed, ttl: 5 * pgTTL, span: 3 * time.Second,
		size: size{counters: 12, target: 25, pizzas: 6, approvals: 6, cancels: 3}})
}

func needFork(t *testing.T) {
	switch runtime.GOOS {
	case "windows", "plan9", "js", "wasip1":
		t.Skipf("no SIGKILL, SIGSTOP and fd passing on %s", runtime.GOOS)
	}
	if os.Getenv(envChild) == "1" {
		t.Skip("a child process of TestKill9 runs TestKill9 only")
	}
}

// pgProc is one incarnation of a child on Postgres.
type pgProc struct {
	*childProc
	app     string        // its application_name
	killed  atomic.Bool   // by the parent
	settled chan struct{} // closed once it is dead and its backends are gone: none of its writes can still land
}

// pgHarness is the parent of a Postgres run.
type pgHarness struct {
	t      *testing.T
	cfg    pgConfig
	schema string
	log    string
	dir    string
	ctx    context.Context

	store *postgres.Store // the parent's handle, for reads and the final checks
	eng   *engine.Engine  // reads instances through store

	admin   *pgx.Conn // pg_stat_activity
	adminMu sync.Mutex

	mu       sync.Mutex
	slots    [pgProcs]*pgProc // nil while (re)starting
	stopped  [pgProcs]bool    // under SIGSTOP: no new calls
	lives    int
	rr       int
	all      []*pgProc
	problems []string
	hurry    atomic.Bool // pacing off: the final phase

	restarts sync.WaitGroup
}

func (h *pgHarness) problem(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.problems = append(h.problems, fmt.Sprintf(format, args...))
}

// start starts a new incarnation in slot i and waits until it is ready.
func (h *pgHarness) start(i int, rng *mrand.Rand) error {
	h.mu.Lock()
	h.lives++
	life := h.lives
	h.mu.Unlock()
	app := fmt.Sprintf("%s_%d", h.schema, life)
	tune := childTune{workers: 1 + rng.IntN(8), maxBatch: 1, pg: &pgChild{
		DSN: withAppName(pgDSN(), app), Schema: h.schema,
		Owner: fmt.Sprintf("proc%d/life%d", i, life), TTL: h.cfg.ttl, Poll: pgPoll,
	}}
	c, err := startChild(filepath.Join(h.dir, "unused.db"), h.log, life, tune, 0)
	if err != nil {
		return err
	}
	p := &pgProc{childProc: c, app: app, settled: make(chan struct{})}
	go func() {
		<-c.exited
		if !p.killed.Load() && !h.hurry.Load() {
			h.problem("child %d (life %d) exited by itself: %v\n%s", i, life, c.waitErr, c.output.tail())
		}
		h.settle(p)
		close(p.settled)
	}()
	h.mu.Lock()
	h.slots[i] = p
	h.all = append(h.all, p)
	h.mu.Unlock()
	return nil
}

// settle waits until no backend of p's connections is left: a statement
// the server received before p died is then committed or not, for good.
func (h *pgHarness) settle(p *pgProc) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		h.adminMu.Lock()
		var n int
		err := h.admin.QueryRow(h.ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", p.app).Scan(&n)
		h.adminMu.Unlock()
		if err != nil {
			h.problem("pg_stat_activity: %v", err)
			return
		}
		if n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.problem("the backends of %s are still there 30 s after it died", p.app)
}

// kill kills slot i's process (if it is running and not stopped), then
// restarts the slot in the background; false if there was nothing to kill.
func (h *pgHarness) kill(i int, rng *mrand.Rand) bool {
	h.mu.Lock()
	p := h.slots[i]
	if p == nil || h.stopped[i] {
		h.mu.Unlock()
		return false
	}
	h.slots[i] = nil
	h.mu.Unlock()
	p.killed.Store(true)
	p.kill()
	h.restarts.Add(1)
	seed := rng.Uint64()
	go func() {
		defer h.restarts.Done()
		<-p.settled
		if err := h.start(i, mrand.New(mrand.NewPCG(seed, seed))); err != nil {
			h.problem("restart of slot %d: %v", i, err)
		}
	}()
	return true
}

// stop SIGSTOPs slot i's process for d, then SIGCONTs it. Calls already
// sent to it wait; no new ones go to it meanwhile.
func (h *pgHarness) stop(i int, d time.Duration) bool {
	h.mu.Lock()
	p := h.slots[i]
	if p == nil || h.stopped[i] {
		h.mu.Unlock()
		return false
	}
	h.stopped[i] = true
	h.mu.Unlock()
	if err := p.signal(syscall.SIGSTOP); err != nil {
		h.problem("SIGSTOP: %v", err)
	}
	time.Sleep(d)
	if err := p.signal(syscall.SIGCONT); err != nil {
		h.problem("SIGCONT: %v", err)
	}
	h.mu.Lock()
	h.stopped[i] = false
	h.mu.Unlock()
	return true
}

// busiest returns the slot whose process wrote the last line of the
// receiver log, or -1.
func (h *pgHarness) busiest() int {
	f, err := os.Open(h.log)
	if err != nil {
		return -1
	}
	defer f.Close()
	tail := make([]byte, 4096)
	fi, err := f.Stat()
	if err != nil {
		return -1
	}
	off := max(0, fi.Size()-int64(len(tail)))
	n, _ := f.ReadAt(tail, off)
	lines := bytes.Split(bytes.TrimRight(tail[:n], "\n"), []byte("\n"))
	var last Entry
	if json.Unmarshal(lines[len(lines)-1], &last) != nil {
		return -1
	}
	life := last.Life
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, p := range h.slots {
		if p != nil && p.life == life {
			return i
		}
	}
	return -1
}

// call sends req to the next running process, round-robin. false means
// the process died with the call in flight; by then it has settled, so
// the stored state tells whether the call was applied.
func (h *pgHarness) call(req request) (response, bool) {
	for {
		h.mu.Lock()
		var p *pgProc
		for range pgProcs {
			h.rr = (h.rr + 1) % pgProcs
			if q := h.slots[h.rr]; q != nil && !h.stopped[h.rr] {
				p = q
				break
			}
		}
		h.mu.Unlock()
		if p == nil {
			if h.ctx.Err() != nil {
				return response{}, false
			}
			time.Sleep(5 * time.Millisecond)
			continue
		}
		r, ok := p.call(req)
		if !ok {
			<-p.settled
		}
		return r, ok
	}
}

// drive makes every script's commands, each instance's in order and all
// instances at once, spread over h.cfg.span until hurry is set, through
// the processes round-robin. A command whose process died in flight is
// looked up in the store and sent again only if it was not applied.
func (h *pgHarness) drive(p *plan, rng *mrand.Rand) (wait func()) {
	var wg sync.WaitGroup
	for _, s := range p.scripts {
		srng := mrand.New(mrand.NewPCG(rng.Uint64(), rng.Uint64()))
		// Half the span on average: with the time the calls take (a
		// call to a process that is killed waits for it to settle), the
		// commands go on while the kills do and are done about when they
		// end.
		gap := h.cfg.span / time.Duration(len(s.cmds))
		wg.Go(func() {
			for cmd := s.next(); cmd != nil; cmd = s.next() {
				if cmd.sends == 0 && !h.hurry.Load() && gap > 0 {
					time.Sleep(time.Duration(srng.Int64N(int64(gap))))
				}
				if h.ctx.Err() != nil {
					return
				}
				cmd.status = inFlight
				cmd.sends++
				r, ok := h.call(cmd.req)
				if !ok {
					v, err := viewOf(h.ctx, h.eng, s.id)
					if err != nil {
						p.problem("%s: reading %s after its process died: %v", cmd.what, s.id, err)
						return
					}
					cmd.status = unsent
					if cmd.applied(v) {
						cmd.status = recovered
					}
					continue
				}
				if r.Err != "" {
					cmd.status = refused
					p.problem("%s (send %d): refused: %s", cmd.what, cmd.sends, r.Err)
					return
				}
				cmd.status = acked
			}
		})
	}
	return wg.Wait
}

// pgRun runs the workload of cfg on pgProcs processes sharing a fresh
// schema, with cfg.kills kills and cfg.stops stops, checks the end, and
// returns the plan and the final snapshot.
func pgRun(t *testing.T, cfg pgConfig) (*plan, *snapshot) {
	schema := newPGSchema(t)
	t.Logf("seed %d (rerun with -crash.seed=%d), schema %s, %d processes, lease TTL %v, %d kills, %d stops; %d counters x %d incs, %d pizzas, %d approvals, %d canceled",
		cfg.seed, cfg.seed, schema, pgProcs, cfg.ttl, cfg.kills, cfg.stops,
		cfg.size.counters, cfg.size.target, cfg.size.pizzas, cfg.size.approvals, cfg.size.cancels)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	h := &pgHarness{t: t, cfg: cfg, schema: schema, dir: dir, log: filepath.Join(dir, "effects.log"), ctx: ctx}
	var err error
	if h.store, err = postgres.Open(ctx, pgDSN(), postgres.WithSchema(schema)); err != nil {
		t.Fatal(err)
	}
	defer h.store.Close()
	if h.eng, err = engine.New(h.store); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.Register(NewCounter(nil), pizza.Workflow, approval.Workflow); err != nil {
		t.Fatal(err)
	}
	if h.admin, err = pgx.Connect(ctx, pgDSN()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		h.restarts.Wait()
		h.mu.Lock()
		all := slices.Clone(h.all)
		h.mu.Unlock()
		for _, p := range all {
			_ = p.signal(syscall.SIGCONT)
			p.killed.Store(true)
			p.kill()
			<-p.settled
		}
		h.adminMu.Lock()
		defer h.adminMu.Unlock()
		h.admin.Close(context.Background())
	}()

	rng := mrand.New(mrand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15))
	began := time.Now()
	for i := range pgProcs {
		if err := h.start(i, rng); err != nil {
			t.Fatal(err)
		}
	}
	p := newPlan(cfg.size, rng)
	wait := h.drive(p, rng)

	// The faults: kills of a random process every 20-300 ms; stops of one
	// process past its lease, spread over the kills.
	var stops sync.WaitGroup
	kills, stopped := 0, 0
	var zombies []*pgProc // the processes stopped
	killsEnded := time.Now()
	if cfg.faults {
		stopAt := map[int]bool{}
		for k := 1; k <= cfg.stops; k++ {
			stopAt[k*cfg.kills/(cfg.stops+1)] = true
		}
		for k := 0; k < cfg.kills && ctx.Err() == nil; k++ {
			time.Sleep(minDelay + time.Duration(rng.Int64N(int64(maxDelay-minDelay)+1)))
			if stopAt[k] {
				d := cfg.ttl + cfg.ttl/2 + time.Duration(rng.Int64N(int64(cfg.ttl/2)))
				// The process that performed the latest effect is likely
				// in the middle of others: its late writes must be fenced.
				order := append([]int{h.busiest()}, rng.Perm(pgProcs)...)
				rng2 := mrand.New(mrand.NewPCG(rng.Uint64(), 0))
				stops.Go(func() {
					// Processes may all be restarting: try for a while.
					for range 50 {
						order = append(order, rng2.IntN(pgProcs))
					}
					for n, i := range order {
						if n > pgProcs {
							time.Sleep(20 * time.Millisecond)
						}
						if i < 0 {
							continue
						}
						h.mu.Lock()
						z := h.slots[i]
						h.mu.Unlock()
						if h.stop(i, d) {
							h.mu.Lock()
							stopped++
							zombies = append(zombies, z)
							h.mu.Unlock()
							return
						}
					}
				})
			}
			for _, i := range rng.Perm(pgProcs) {
				if h.kill(i, rng) {
					kills++
					break
				}
			}
			if problems := h.takeProblems(p); len(problems) > 0 {
				t.Fatalf("seed %d, after %d kills:\n%s", cfg.seed, kills, strings.Join(problems, "\n"))
			}
		}
		stops.Wait()
		h.restarts.Wait()
		killsEnded = time.Now()
	}
	faultPhase := time.Since(began)

	// The final phase: everything left is sent as fast as the processes
	// answer, and one of them waits until all is done.
	h.hurry.Store(true)
	waited := make(chan struct{})
	go func() { wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		t.Fatalf("seed %d: the commands were not all made in time", cfg.seed)
	}
	if problems := h.takeProblems(p); len(problems) > 0 {
		t.Fatalf("seed %d:\n%s", cfg.seed, strings.Join(problems, "\n"))
	}
	driven := time.Since(began)
	h.mu.Lock()
	procs := h.slots
	h.mu.Unlock()
	for i, c := range procs {
		if c == nil {
			t.Fatalf("seed %d: process %d is not running at the end", cfg.seed, i)
		}
	}
	if r, ok := procs[0].call(request{Op: opIdle}); !ok || r.Err != "" {
		t.Fatalf("seed %d: the work was not finished (answered %v): %s\n%s", cfg.seed, ok, r.Err, procs[0].output.tail())
	}
	idled := time.Since(began)
	var warnings int
	var warned []string
	for i, c := range procs {
		if r, ok := c.call(request{Op: opQuit}); !ok || r.Err != "" {
			t.Errorf("seed %d: process %d did not quit cleanly (answered %v): %s", cfg.seed, i, ok, r.Err)
		}
		select {
		case <-c.exited:
			if c.waitErr != nil {
				t.Errorf("seed %d: process %d exited with %v\n%s", cfg.seed, i, c.waitErr, c.output.tail())
			}
		case <-time.After(time.Minute):
			t.Errorf("seed %d: process %d did not exit\n%s", cfg.seed, i, c.output.tail())
		}
	}
	h.mu.Lock()
	all := slices.Clone(h.all)
	h.mu.Unlock()
	lost, zombieLost := 0, 0
	for _, c := range all {
		lost += c.output.leasesLost()
		if slices.Contains(zombies, c) {
			zombieLost += c.output.leasesLost()
		}
		alarms, warns, n := c.output.result()
		if len(alarms) > 0 {
			t.Fatalf("seed %d: life %s:\n%s\n--- its last output:\n%s", cfg.seed, c.app, strings.Join(alarms, "\n"), c.output.tail())
		}
		if warnings += n; len(warned) < 5 {
			warned = append(warned, warns...)
		}
	}

	// The end state.
	sn, err := snapshotOf(ctx, h.eng, h.store, h.log)
	if err != nil {
		t.Fatalf("seed %d: %v", cfg.seed, err)
	}
	problems := verifyFinal(p, sn)
	fences := checkFences(sn.log)
	problems = append(problems, fences.problems...)
	// The leases of killed processes run out within a TTL of the last kill.
	if d := time.Until(killsEnded.Add(cfg.ttl + time.Second)); d > 0 {
		time.Sleep(d)
	}
	problems = append(problems, checkUnclaimed(ctx, h.store, sn)...)
	st := statsOf(sn.log)
	if !cfg.faults && st.dups > 0 {
		problems = append(problems, fmt.Sprintf("%d duplicate deliveries %v without a single fault", st.dups, st.dupsByKind))
	}

	n, resent := p.count()
	total := 0
	for _, k := range n {
		total += k
	}
	t.Logf("%d kills and %d stops in %v; all commands made at %v, all work done at %v; %d process lives; %v in all",
		kills, stopped, faultPhase.Round(time.Millisecond), driven.Round(time.Millisecond), idled.Round(time.Millisecond),
		len(all), time.Since(began).Round(time.Millisecond))
	t.Logf("commands: %d, acknowledged %d, in flight at a kill and found applied %d, sent again %d",
		total, n[acked], n[recovered], resent)
	t.Logf("effects handled once: %d; duplicate deliveries: %d %v, of which %d late (a fence below the first delivery's: a zombie's, fenced) and %d within one life; engine warnings: %d",
		st.handled, st.dups, st.dupsByKind, fences.late, st.sameLife, warnings)
	t.Logf("work stopped on a lost lease (its writes fenced): %d times, %d of them in the stopped processes", lost, zombieLost)
	for _, w := range warned {
		t.Logf("engine warning: %s", w)
	}
	if len(problems) > 0 {
		t.Fatalf("seed %d: %d problems:\n%s", cfg.seed, len(problems), strings.Join(problems, "\n"))
	}
	return p, sn
}

func (h *pgHarness) takeProblems(p *plan) []string {
	h.mu.Lock()
	out := h.problems
	h.problems = nil
	h.mu.Unlock()
	return append(out, p.takeProblems()...)
}

// fenceReport is what checkFences found.
type fenceReport struct {
	problems []string
	late     int // deliveries under a lower fence than the first: by a zombie
}

// checkFences checks the fence tokens in a receiver log of engines
// WithLeases: every setup, teardown and finishing effect was performed
// under a lease (a non-zero fence), and no effect was delivered twice
// under one lease, since only a new lease (after a kill or a stop) may
// perform an effect again. It counts the late deliveries of zombies.
func checkFences(log []Entry) fenceReport {
	var r fenceReport
	seen := map[string][]uint64{}
	first := map[string]uint64{}
	for i, e := range log {
		if e.Kind == KindActivity {
			continue // activities do not see their lease
		}
		if e.Fence == 0 {
			r.problems = append(r.problems, fmt.Sprintf("receiver log line %d: %s %s performed without a lease", i+1, e.Kind, e.ID))
			continue
		}
		if slices.Contains(seen[e.ID], e.Fence) {
			r.problems = append(r.problems, fmt.Sprintf("receiver log line %d: %s %s delivered twice under fence %d", i+1, e.Kind, e.ID, e.Fence))
		}
		seen[e.ID] = append(seen[e.ID], e.Fence)
		if e.Op == OpHandled {
			first[e.ID] = e.Fence
		} else if e.Fence < first[e.ID] {
			r.late++
		}
	}
	return r
}

// checkUnclaimed checks that no work and no lease are left: NextWork finds
// nothing, a Claim finds nothing, every instance can be acquired (no live
// lease holds it), and there are no dead letters.
func checkUnclaimed(ctx context.Context, s *postgres.Store, sn *snapshot) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	now := time.Now()
	if next, err := s.NextWork(ctx, now); err != nil || !next.IsZero() {
		bad("NextWork at the end: %v, %v; want no work", next, err)
	}
	req := storage.ClaimRequest{Owner: "crashtest", Now: now, TTL: time.Minute, Limit: 100}
	if leases, err := s.Claim(ctx, req); err != nil || len(leases) > 0 {
		bad("Claim at the end: %v, %v; want nothing", leases, err)
	}
	req.Limit = 1
	for id := range sn.views {
		l, err := s.Acquire(ctx, id, req)
		if err != nil {
			bad("instance %s is still claimed at the end: %v", id, err)
			continue
		}
		if err := s.Release(ctx, l); err != nil {
			bad("release %s: %v", id, err)
		}
	}
	if dead, err := s.DeadLetters(ctx, "", 10); err != nil || len(dead) > 0 {
		bad("dead letters at the end: %+v, %v", dead, err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		bad("ran out of time")
	}
	return problems
}
