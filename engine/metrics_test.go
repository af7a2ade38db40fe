package engine_test

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// counters is a Metrics that counts every call by what it reports.
type counters struct {
	transitions atomic.Int64 // all transitions, for the benchmarks

	mu sync.Mutex
	n  map[count]int
}

// count is one thing counters counts.
type count struct {
	what     string // "transition", "conflict", "effect", "activity"
	workflow string
	kind     string // the event or effect kind, or the Call's path
	failed   bool
}

var _ engine.Metrics = (*counters)(nil)

func (c *counters) add(k count) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[count]int{}
	}
	c.n[k]++
}

func (c *counters) Transition(workflow string, ev interp.EventKind) {
	c.transitions.Add(1)
	c.add(count{"transition", workflow, ev.String(), false})
}

func (c *counters) Conflict(workflow string) { c.add(count{"conflict", workflow, "", false}) }

func (c *counters) Effect(workflow string, kind interp.EffectKind, err error) {
	c.add(count{"effect", workflow, kind.String(), err != nil})
}

func (c *counters) Activity(workflow, path string, err error) {
	c.add(count{"activity", workflow, path, err != nil})
}

func (c *counters) snapshot() map[count]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

func wantCounts(t *testing.T, c *counters, want map[count]int) {
	t.Helper()
	if got := c.snapshot(); !maps.Equal(got, want) {
		t.Fatalf("metrics:\n got %v\nwant %v", got, want)
	}
}

// A setup handler that fails twice: two failed effects (retries), then one
// performed; and the transitions that led there.
func TestMetricsCountEffectRetries(t *testing.T) {
	m := &counters{}
	r := &recorder{failSetups: 2}
	v := newEnv(t, []*dsl.Definition{requestWF}, engine.WithMetrics(m), engine.WithFinish(r.finish))
	v.e.Handle("ask-manager", r)
	v.start(requestWF, "r", Request{User: "ada"})
	wantErr(t, v.e.Drain(v.ctx), errSetup)
	v.clock.Advance(time.Second)
	wantErr(t, v.e.Drain(v.ctx), errSetup)
	v.clock.Advance(2 * time.Second)
	v.drain()
	if err := v.e.Send(v.ctx, "r", "answer", "yes", nil); err != nil {
		t.Fatal(err)
	}
	wantErr(t, v.e.Send(v.ctx, "r", "answer", "again", nil), interp.ErrFinished) // rejected: not counted
	v.drain()
	wantCounts(t, m, map[count]int{
		{"transition", "request", "start", false}:    1,
		{"transition", "request", "callback", false}: 1,
		{"effect", "request", "setup", true}:         2,
		{"effect", "request", "setup", false}:        1,
		{"effect", "request", "teardown", false}:     1,
		{"effect", "request", "completed", false}:    1,
	})
}

// An activity that fails once: two attempts, one failed, and each attempt's
// RunActivity effect performed (a failed attempt is delivered, so its effect
// succeeds).
func TestMetricsCountActivities(t *testing.T) {
	m := &counters{}
	c := &charges{fails: 1}
	wf := paymentWF(c, 3, 0)
	v := newEnv(t, []*dsl.Definition{wf}, engine.WithMetrics(m))
	v.start(wf, "p", Payment{Amount: 1})
	v.drain()
	v.clock.Advance(time.Second)
	v.drain()
	v.wantStatus("p", interp.StatusCompleted)
	wantCounts(t, m, map[count]int{
		{"transition", "payment", "start", false}:    1,
		{"transition", "payment", "callback", false}: 2,
		{"activity", "payment", "charge", true}:      1,
		{"activity", "payment", "charge", false}:     1,
		{"effect", "payment", "run-activity", false}: 2,
		{"effect", "payment", "completed", false}:    1,
	})
}

// conflictStore lets another engine commit to the same instance just
// before the first commit through it, as a second process would.
type conflictStore struct {
	storage.Store
	once   sync.Once
	before func()
}

func (s *conflictStore) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	s.once.Do(s.before)
	return s.Store.Commit(ctx, c)
}

// Two engines on one store: the one that loses the compare-and-set counts
// a conflict, reloads and commits; each counts its own transitions.
func TestMetricsCountConflicts(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF})
	v.start(counterWF, "c", Count{})
	mb := &counters{}
	other := v.engine([]*dsl.Definition{counterWF}, engine.WithMetrics(mb))
	cs := &conflictStore{Store: v.store}
	cs.before = func() {
		if err := other.Send(v.ctx, "c", "inc", 1, nil); err != nil {
			t.Error(err)
		}
	}
	ma := &counters{}
	a := newEngine(t, cs, engine.WithClock(v.clock), engine.WithMetrics(ma))
	if err := a.Register(counterWF); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := a.Send(v.ctx, "c", "inc", 1, &n); err != nil || n != 2 {
		t.Fatalf("send: %d, %v", n, err)
	}
	wantCounts(t, ma, map[count]int{
		{"conflict", "counter", "", false}:           1,
		{"transition", "counter", "callback", false}: 1,
	})
	wantCounts(t, mb, map[count]int{
		{"transition", "counter", "callback", false}: 1,
	})
}

func (c *counters) Panic(workflow, op string) { c.add(count{"panic", workflow, op, true}) }

var _ engine.PanicMetrics = (*counters)(nil)
