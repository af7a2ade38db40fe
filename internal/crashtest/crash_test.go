package crashtest

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
)

var (
	flagSeed  = flag.Uint64("crash.seed", 0, "seed of TestKill9's kill schedule and tokens (0: from the clock; or $"+envSeed+")")
	flagKills = flag.Int("crash.kills", 0, "number of SIGKILLs in TestKill9 (default 20, 5 with -short; or $"+envKills+")")
)

const (
	envSeed  = "WEFT_CRASH_SEED"
	envKills = "WEFT_CRASH_KILLS"
)

// Kill delays: how long a child runs before it is killed, uniformly.
const (
	minDelay = 20 * time.Millisecond
	maxDelay = 300 * time.Millisecond
)

// crashConfig is one run of TestKill9.
type crashConfig struct {
	seed  uint64
	kills int
	size  size
	lazy  bool // the children's receivers acknowledge before they write: a broken receiver
}

func configure(t *testing.T) crashConfig {
	cfg := crashConfig{seed: *flagSeed, kills: *flagKills}
	if cfg.seed == 0 {
		if s := os.Getenv(envSeed); s != "" {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				t.Fatalf("$%s: %v", envSeed, err)
			}
			cfg.seed = n
		}
	}
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	if cfg.kills == 0 {
		if s := os.Getenv(envKills); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				t.Fatalf("$%s: want a positive number, got %q", envKills, s)
			}
			cfg.kills = n
		}
	}
	switch {
	case cfg.kills == 0 && testing.Short():
		cfg.kills = 5
		cfg.size = size{counters: 10, target: 10, pizzas: 3, approvals: 3, cancels: 2}
	case cfg.kills == 0:
		cfg.kills = 20
		fallthrough
	default:
		// Enough work that the kills keep landing while commands are in
		// flight: the counters grow with the number of kills.
		cfg.size = size{counters: 30, target: 2 * cfg.kills, pizzas: 10, approvals: 10, cancels: 5}
	}
	return cfg
}

// TestKill9 kills a process running the engine on a bbolt file with
// SIGKILL at random moments, over and over, while it serves requests and
// performs effects; restarts it on the same file each time; and checks
// that nothing acknowledged was lost, nothing was applied twice, nothing
// was invented, and every effect reached the receiver. See the package
// documentation.
func TestKill9(t *testing.T) {
	if os.Getenv(envChild) == "1" {
		runChild(t)
		return
	}
	switch runtime.GOOS {
	case "windows", "plan9", "js", "wasip1":
		t.Skipf("no SIGKILL and fd passing on %s", runtime.GOOS)
	}
	cfg := configure(t)
	p, sn, problems := killRun(t, cfg)
	if len(problems) > 0 {
		t.Fatalf("seed %d: %d problems:\n%s", cfg.seed, len(problems), strings.Join(problems, "\n"))
	}
	t.Run("the checks can fail", func(t *testing.T) { checkMutations(t, p, sn) })
}

// TestKill9LazyReceiver runs TestKill9 with a broken receiver, one that
// acknowledges an effect at once and writes it to its log up to 200 ms
// later: the kills must make it lose effects the engine considers
// performed, and the checks must see that.
func TestKill9LazyReceiver(t *testing.T) {
	switch runtime.GOOS {
	case "windows", "plan9", "js", "wasip1":
		t.Skipf("no SIGKILL and fd passing on %s", runtime.GOOS)
	}
	if testing.Short() {
		t.Skip("a second kill run; skipped with -short")
	}
	cfg := configure(t)
	cfg.kills, cfg.lazy = 8, true
	cfg.size = size{counters: 10, target: 10, pizzas: 3, approvals: 3, cancels: 2}
	_, _, problems := killRun(t, cfg)
	if len(problems) == 0 {
		t.Fatalf("seed %d: the lazy receiver lost nothing, or the checks did not see it", cfg.seed)
	}
	t.Logf("found %d problems, as it should, such as: %s", len(problems), problems[0])
}

// killRun kills and restarts children cfg.kills times, then has a final
// child finish the work, and returns the plan, the final snapshot and the
// problems verifyFinal found. Problems seen earlier (a lost acknowledged
// command after a kill, a crash or race in a child) end the test at once.
func killRun(t *testing.T, cfg crashConfig) (*plan, *snapshot, []string) {
	t.Logf("seed %d (rerun with -crash.seed=%d or %s=%d), %d kills, %d counters x %d incs, %d pizzas, %d approvals, %d canceled approvals",
		cfg.seed, cfg.seed, envSeed, cfg.seed, cfg.kills, cfg.size.counters, cfg.size.target, cfg.size.pizzas, cfg.size.approvals, cfg.size.cancels)
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15))

	dir := t.TempDir()
	db, log := filepath.Join(dir, "weft.db"), filepath.Join(dir, "effects.log")
	p := newPlan(cfg.size, rng)
	began := time.Now()

	var current *childProc
	t.Cleanup(func() {
		if current != nil {
			current.kill()
		}
	})
	var (
		torn       int
		warnings   int      // engine warnings logged by the children
		warned     []string // the first few
		idleKills  int      // kills that found nothing left to send
		unanswered int      // commands in flight at a kill
		earlyKills int      // kills before the child was ready
		everReady  bool
		startup    time.Duration // from exec to ready, summed
	)
	for life := 1; life <= cfg.kills+1; life++ {
		final := life == cfg.kills+1
		if everReady {
			sn, err := readSnapshot(db, log)
			if err != nil {
				t.Fatalf("seed %d, after kill %d: %v", cfg.seed, life-1, err)
			}
			if sn.torn {
				torn++
			}
			before, _ := p.count()
			unanswered += before[inFlight]
			if problems := p.reconcile(sn); len(problems) > 0 {
				t.Fatalf("seed %d, after kill %d:\n%s", cfg.seed, life-1, strings.Join(problems, "\n"))
			}
		}
		// One kill in eight lands while the child starts: opening the
		// files, before or soon after Run begins recovering.
		var early time.Duration
		if !final && rng.IntN(8) == 0 {
			early = time.Duration(rng.Int64N(int64(maxDelay)))
		}
		tune := childTune{workers: 1 + rng.IntN(8), maxBatch: []int{1, 4, bolt.DefaultMaxBatch}[rng.IntN(3)]}
		tune.lazy = cfg.lazy
		c, err := startChild(db, log, life, tune, early)
		if err != nil {
			t.Fatalf("seed %d: %v", cfg.seed, err)
		}
		if c.killedEarly {
			earlyKills++
			if alarms, _, _ := c.output.result(); len(alarms) > 0 {
				t.Fatalf("seed %d: child %d:\n%s\n--- its last output:\n%s", cfg.seed, life, strings.Join(alarms, "\n"), c.output.tail())
			}
			continue
		}
		everReady = true
		startup += c.started
		current = c
		// Spread the commands over the kills: each child gets its share of
		// what is left, paced over a span around its kill delay, so that
		// kills land in bursts of commands, while the effects they caused
		// are performed, or when all is quiet.
		var pace *pacer
		delay := minDelay + time.Duration(rng.Int64N(int64(maxDelay-minDelay)+1))
		if n, _ := p.count(); !final {
			quota := (n[unsent] + cfg.kills - life) / (cfg.kills - life + 1)
			span := delay * time.Duration(30+rng.IntN(120)) / 100
			pace = newPacer(quota, span, rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())))
			if quota == 0 {
				idleKills++
			}
		}
		wait := p.drive(c, pace)
		if !final {
			select {
			case <-time.After(delay):
			case <-c.exited:
				wait()
				t.Fatalf("seed %d: child %d exited by itself: %v\n%s", cfg.seed, life, c.waitErr, c.output.tail())
			}
			c.kill()
			wait()
		} else {
			wait()
			if r, ok := c.call(request{Op: opIdle}); !ok || r.Err != "" {
				t.Errorf("seed %d: the final child did not finish the work (answered %v): %s", cfg.seed, ok, r.Err)
			}
			if r, ok := c.call(request{Op: opQuit}); !ok || r.Err != "" {
				t.Errorf("seed %d: the final child did not quit cleanly (answered %v): %s", cfg.seed, ok, r.Err)
			}
			select {
			case <-c.exited:
				if c.waitErr != nil {
					t.Errorf("seed %d: the final child exited with %v\n%s", cfg.seed, c.waitErr, c.output.tail())
				}
			case <-time.After(time.Minute):
				c.kill()
				t.Errorf("seed %d: the final child did not exit\n%s", cfg.seed, c.output.tail())
			}
		}
		current = nil
		alarms, warns, nwarns := c.output.result()
		if warnings += nwarns; len(warned) < 5 {
			warned = append(warned, warns...)
		}
		if len(alarms) > 0 {
			t.Fatalf("seed %d: child %d:\n%s\n--- its last output:\n%s", cfg.seed, life, strings.Join(alarms, "\n"), c.output.tail())
		}
		if problems := p.takeProblems(); len(problems) > 0 {
			t.Fatalf("seed %d: child %d:\n%s\n--- its last output:\n%s", cfg.seed, life, strings.Join(problems, "\n"), c.output.tail())
		}
	}

	sn, err := readSnapshot(db, log)
	if err != nil {
		t.Fatalf("seed %d, at the end: %v", cfg.seed, err)
	}
	problems := verifyFinal(p, sn)

	n, resent := p.count()
	st := statsOf(sn.log)
	total := 0
	for _, k := range n {
		total += k
	}
	t.Logf("%d kills (%d while starting, %d with nothing left to send) and a final run in %v; a child took %v on average to be ready",
		cfg.kills, earlyKills, idleKills, time.Since(began).Round(time.Millisecond),
		(startup / time.Duration(cfg.kills+1-earlyKills)).Round(time.Millisecond))
	t.Logf("commands: %d, acknowledged %d, unanswered at a kill %d: %d found applied afterwards, %d sent again",
		total, n[acked], unanswered, n[recovered], resent)
	t.Logf("instances: %d, all checked with Get and Query after every kill; outbox at the end: %d",
		len(sn.views), len(sn.outbox))
	t.Logf("effects handled once: %d; duplicate deliveries: %d %v (%d within one process); torn log tails: %d; engine warnings: %d",
		st.handled, st.dups, st.dupsByKind, st.sameLife, torn, warnings)
	for _, w := range warned {
		// Nothing but the kills fails here, so a warning is worth a look;
		// the effects and transitions it reports were retried and checked.
		t.Logf("engine warning: %s", w)
	}
	if st.sameLife > 0 {
		// Nothing fails in these processes but the kills, so an effect
		// should be handed out once per process: a repeat means the
		// dispatcher ran an effect again after it was acknowledged, or
		// ran it twice at once.
		problems = append(problems, fmt.Sprintf("%d duplicate deliveries within one process, where no write or handler failed", st.sameLife))
	}
	return p, sn, problems
}

// checkMutations damages copies of a good final snapshot, one way each,
// and makes sure verifyFinal reports every damage: the assertions compare
// real data.
func checkMutations(t *testing.T, p *plan, good *snapshot) {
	if problems := verifyFinal(p, good); len(problems) > 0 {
		t.Fatalf("the good snapshot has problems: %v", problems)
	}
	counter := p.scripts[0].id
	find := func(sn *snapshot, kind, instance string) int {
		for i, e := range sn.log {
			if e.Op == OpHandled && e.Kind == kind && e.Instance == instance {
				return i
			}
		}
		t.Fatalf("no %s of %s in the log", kind, instance)
		return -1
	}
	mutations := []struct {
		name   string
		want   string // in one of the problems reported
		damage func(sn *snapshot)
	}{
		{"an acknowledged token lost", "acknowledged", func(sn *snapshot) {
			v := sn.views[counter]
			delete(v.tokens, v.counter.Tokens[len(v.counter.Tokens)-1])
			v.counter.Tokens = v.counter.Tokens[:len(v.counter.Tokens)-1]
		}},
		{"a token applied twice", "applied twice", func(sn *snapshot) {
			v := sn.views[counter]
			v.counter.Dups = append(v.counter.Dups, v.counter.Tokens[0])
		}},
		{"tokens out of order", "in order", func(sn *snapshot) {
			v := sn.views[counter]
			v.counter.Tokens[0], v.counter.Tokens[1] = v.counter.Tokens[1], v.counter.Tokens[0]
		}},
		{"an instance lost", "missing at the end", func(sn *snapshot) { delete(sn.views, p.scripts[len(p.scripts)-1].id) }},
		{"a wrong output", "carries output", func(sn *snapshot) {
			v := sn.views[counter]
			v.inst.Output, _ = codec.Marshal(len(v.counter.Tokens) + 1)
		}},
		{"an effect left in the outbox", "outbox is not empty", func(sn *snapshot) {
			sn.outbox = append(sn.outbox, storage.Effect{ID: counter + "/1/1", Instance: counter})
		}},
		{"a teardown never performed", "never torn down", func(sn *snapshot) {
			i := find(sn, "teardown", counter)
			sn.log = append(sn.log[:i], sn.log[i+1:]...)
		}},
		{"an effect handled twice", "handled twice", func(sn *snapshot) { sn.log = append(sn.log, sn.log[0]) }},
		{"an effect ID reused", "different content", func(sn *snapshot) {
			e := sn.log[0]
			e.Op, e.Callback = OpConflict, e.Callback+1
			sn.log = append(sn.log, e)
		}},
		{"the completion before a teardown", "before a setup or teardown", func(sn *snapshot) {
			i, j := find(sn, "completed", counter), find(sn, "teardown", counter)
			sn.log[i], sn.log[j] = sn.log[j], sn.log[i]
		}},
		{"an activity never run", "report activities", func(sn *snapshot) {
			i := find(sn, KindActivity, counter)
			sn.log = append(sn.log[:i], sn.log[i+1:]...)
		}},
	}
	for _, m := range mutations {
		sn := cloneSnapshot(good)
		m.damage(sn)
		problems := verifyFinal(p, sn)
		i := slices.IndexFunc(problems, func(s string) bool { return strings.Contains(s, m.want) })
		if i < 0 {
			t.Errorf("%s: not detected; want a problem with %q, got %q", m.name, m.want, problems)
			continue
		}
		msg := problems[i]
		if len(msg) > 160 {
			msg = msg[:160] + "..."
		}
		t.Logf("%s: detected (%d problems): %s", m.name, len(problems), msg)
	}
}

func cloneSnapshot(sn *snapshot) *snapshot {
	c := &snapshot{views: map[string]*view{}, torn: sn.torn}
	for id, v := range sn.views {
		cv := *v
		cv.counter.Tokens = append([]string(nil), v.counter.Tokens...)
		cv.counter.Dups = append([]string(nil), v.counter.Dups...)
		cv.tokens = maps.Clone(v.tokens)
		c.views[id] = &cv
	}
	c.outbox = append(c.outbox, sn.outbox...)
	c.log = append(c.log, sn.log...)
	return c
}
