package serverless_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/serverless"
	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"github.com/weftflow/weft/storage/postgres"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

const retryInitial = 10 * time.Second

// mailer is the test's email service: it counts what it did per effect
// ID, and fails the first attempts of the emails of chosen addresses.
type mailer struct {
	mu        sync.Mutex
	sent      map[string]int // effect ID -> successful sends
	withdrawn map[string]int // effect ID -> successful withdrawals
	attempts  map[string]int // address -> setup attempts
	failFirst map[string]int // address -> attempts to fail
}

func newMailer() *mailer {
	return &mailer{sent: map[string]int{}, withdrawn: map[string]int{}, attempts: map[string]int{}, failFirst: map[string]int{}}
}

func (m *mailer) Setup(_ context.Context, info engine.EffectInfo) error {
	var e serverless.Email
	if err := info.Decode(&e); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts[e.To]++
	if m.attempts[e.To] <= m.failFirst[e.To] {
		return errors.New("mail server busy")
	}
	m.sent[info.ID]++
	return nil
}

func (m *mailer) Teardown(_ context.Context, info engine.EffectInfo) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.withdrawn[info.ID]++
	return nil
}

// taskQueue is the test's delayed-call service: it counts wake-ups by ID.
type taskQueue struct {
	mu    sync.Mutex
	tasks map[string]engine.Wakeup
	calls map[string]int
}

func (q *taskQueue) schedule(_ context.Context, w engine.Wakeup) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks[w.ID] = w
	q.calls[w.ID]++
	return nil
}

// cluster is the service deployed as one or more independent stacks
// (processes: each its own store handle, or pool) on one store.
type cluster struct {
	t      *testing.T
	clock  *engine.FakeClock
	mail   *mailer
	queue  *taskQueue
	stacks []http.Handler
}

func newCluster(t *testing.T, stores ...storage.Store) *cluster {
	c := &cluster{t: t, clock: engine.NewFakeClock(t0), mail: newMailer(),
		queue: &taskQueue{tasks: map[string]engine.Wakeup{}, calls: map[string]int{}}}
	for i, st := range stores {
		h, err := serverless.Handler(serverless.Config{Store: st, Owner: fmt.Sprintf("process-%d", i), Mailer: c.mail,
			Scheduler: c.queue.schedule, Clock: c.clock, RetryInitial: retryInitial, RetryMax: time.Minute, RunWithin: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		c.stacks = append(c.stacks, h)
	}
	return c
}

// call serves one request on stack n (mod the number of stacks).
func (c *cluster) call(n int, method, path, body string) (int, map[string]any) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	c.stacks[n%len(c.stacks)].ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		c.t.Errorf("%s %s: %d %q is not JSON", method, path, rec.Code, rec.Body.String())
	}
	return rec.Code, out
}

func (c *cluster) want(n, status int, method, path, body string) map[string]any {
	c.t.Helper()
	got, out := c.call(n, method, path, body)
	if got != status {
		c.t.Fatalf("%s %s: %d %v, want %d", method, path, got, out, status)
	}
	return out
}

// concurrently makes n calls at once, call i on stack i, and checks that
// all of them answer status.
func (c *cluster) concurrently(n, status int, req func(i int) (method, path, body string)) {
	c.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Go(func() {
			m, p, b := req(i)
			if got, out := c.call(i, m, p, b); got != status {
				errs <- fmt.Sprintf("%s %s: %d %v", m, p, got, out)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		c.t.Errorf("concurrent call: %s, want %d", e, status)
	}
}

func (c *cluster) status(id string) string {
	c.t.Helper()
	s, _ := c.want(0, 200, "GET", "/instances/"+id, "")["status"].(string)
	return s
}

// runService is the proof of the serverless service on stores (one per
// stack): see the package documentation of examples/serverless.
func runService(t *testing.T, stores ...storage.Store) {
	c := newCluster(t, stores...)
	const n = 20

	// 20 concurrent starts, each a fresh engine, each emailing its link
	// and handing its wake-up to the queue within the request.
	c.concurrently(n, 201, func(i int) (string, string, string) {
		return "POST", fmt.Sprintf("/workflows/signup/instances/s%d", i), fmt.Sprintf(`{"Email":"u%d@example.com","Token":"t%d"}`, i, i)
	})
	if len(c.mail.sent) != n || len(c.queue.tasks) != n {
		t.Fatalf("after the starts: %d emails, %d wake-ups; want %d each", len(c.mail.sent), len(c.queue.tasks), n)
	}
	for id, w := range c.queue.tasks {
		if !w.At.Equal(t0.Add(serverless.ConfirmWithin)) {
			t.Errorf("wake-up %s at %v, want the expiry", id, w.At)
		}
	}

	// 20 concurrent one-shot run-due calls: all succeed (none "already
	// running"), and none has anything to do.
	c.concurrently(n, 200, func(int) (string, string, string) { return "POST", "/run-due", "" })

	// Half confirm, concurrently; the confirmation withdraws the email.
	c.concurrently(n/2, 200, func(i int) (string, string, string) {
		return "POST", fmt.Sprintf("/instances/s%d/events/confirm", i), fmt.Sprintf(`{"Token":"t%d"}`, i)
	})
	if got, out := c.call(1, "POST", "/instances/s15/events/confirm", `{"Token":"nope"}`); got != 422 {
		t.Errorf("a wrong token: %d %v, want 422", got, out)
	}

	// A day later nothing has happened by itself: no loop runs.
	c.clock.Advance(serverless.ConfirmWithin)
	if s := c.status("s15"); s != "running" {
		t.Fatalf("s15 is %s before any run-due call, want running", s)
	}
	// The scheduler's calls (or the cron's) fire the timers, concurrently.
	c.concurrently(n, 200, func(int) (string, string, string) { return "POST", "/run-due", "" })
	for i := range n {
		want := "completed"
		if s := c.status(fmt.Sprintf("s%d", i)); s != want {
			t.Errorf("s%d is %s, want %s", i, s, want)
		}
	}
	if len(c.mail.withdrawn) != n {
		t.Errorf("%d emails withdrawn, want %d", len(c.mail.withdrawn), n)
	}

	// A failing effect is retried with the backoff kept in the store, not
	// at once by every request's fresh engine.
	c.mail.failFirst["flaky@example.com"] = 1
	out := c.want(0, 201, "POST", "/workflows/signup/instances/flaky", `{"Email":"flaky@example.com","Token":"f"}`)
	if w, _ := out["work"].(map[string]any); w == nil || w["retried"] != 1.0 {
		t.Fatalf("start of flaky: %v, want one effect retried", out)
	}
	for i := range 5 {
		w := c.want(i, 200, "POST", "/run-due", "")
		if next := w["next"]; next != c.clock.Now().Add(retryInitial).Format(time.RFC3339) {
			t.Errorf("run due during the backoff: next %v, want the retry at +%v", next, retryInitial)
		}
	}
	if a := c.mail.attempts["flaky@example.com"]; a != 1 {
		t.Fatalf("the failed email was tried %d times before its backoff passed, want 1", a)
	}
	c.clock.Advance(retryInitial)
	c.want(1, 200, "POST", "/run-due", "")
	if a := c.mail.attempts["flaky@example.com"]; a != 2 {
		t.Errorf("the failed email was tried %d times after its backoff, want 2", a)
	}

	// Nothing was performed twice.
	for id, k := range c.mail.sent {
		if k != 1 {
			t.Errorf("email %s sent %d times", id, k)
		}
	}
	for id, k := range c.mail.withdrawn {
		if k != 1 {
			t.Errorf("email %s withdrawn %d times", id, k)
		}
	}
	for id, k := range c.queue.calls {
		if k != 1 {
			t.Errorf("wake-up %s handed over %d times", id, k)
		}
	}
	if len(c.mail.sent) != n+1 || len(c.queue.tasks) != n+1 {
		t.Errorf("%d emails, %d wake-ups; want %d each", len(c.mail.sent), len(c.queue.tasks), n+1)
	}
}

func TestServiceBolt(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "weft.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	runService(t, st)
}

func openPostgres(t *testing.T, schema string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(t.Context(), pgtest.DSN(), postgres.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestServicePostgres(t *testing.T) {
	runService(t, openPostgres(t, pgtest.Schema(t, "serverless_one_")))
}

// Two processes (two stacks, each with its own pool) on one schema,
// every other request going to the other.
func TestServicePostgresTwoProcesses(t *testing.T) {
	schema := pgtest.Schema(t, "serverless_two_")
	runService(t, openPostgres(t, schema), openPostgres(t, schema))
}
