package serverless_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/serverless"
	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/storage/postgres"
)

// The test binary doubles as the server process: with childSchema set in
// its environment it serves the service instead of running tests.
const (
	childSchema = "WEFT_SERVERLESS_CHILD_SCHEMA"
	childLog    = "WEFT_SERVERLESS_CHILD_LOG"
)

func TestMain(m *testing.M) {
	if schema := os.Getenv(childSchema); schema != "" {
		if err := serveChild(schema, os.Getenv(childLog)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// offsetClock is the wall clock moved on by an offset the test sets
// through /test/clock, so that two processes can jump a day together.
type offsetClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *offsetClock) Timer(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// serveChild serves the service on a free port, prints the address, and
// appends what it performs to logPath ("sent ID", "withdrawn ID",
// "wakeup ID" lines; O_APPEND writes of one short line do not interleave).
func serveChild(schema, logPath string) error {
	ctx := context.Background()
	store, err := postgres.Open(ctx, pgtest.DSN(), postgres.WithSchema(schema))
	if err != nil {
		return err
	}
	defer store.Close()
	f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	record := func(what, id string) error {
		_, err := fmt.Fprintf(f, "%s %s\n", what, id)
		return err
	}
	clock := &offsetClock{}
	h, err := serverless.Handler(serverless.Config{
		Store: store, Owner: fmt.Sprintf("child-%d", os.Getpid()), Clock: clock,
		Mailer: engine.SetupFuncs{
			SetupFunc:    func(_ context.Context, info engine.EffectInfo) error { return record("sent", info.ID) },
			TeardownFunc: func(_ context.Context, info engine.EffectInfo) error { return record("withdrawn", info.ID) },
		},
		Scheduler: func(_ context.Context, w engine.Wakeup) error { return record("wakeup", w.ID) },
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("POST /test/clock", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("offset"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		clock.mu.Lock()
		clock.off = d
		clock.mu.Unlock()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr())
	return http.Serve(ln, mux)
}

// startChild starts a server process and returns its base URL.
func startChild(t *testing.T, schema, logPath string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childSchema+"="+schema, childLog+"="+logPath)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the server process did not start: %v", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok {
		t.Fatalf("the server process said %q", line)
	}
	return "http://" + addr
}

// TestTwoServerProcesses runs the service in two real processes on one
// Postgres schema, every other request going to the other: 20 concurrent
// starts and run-due calls succeed, the timers fire only through run-due,
// and no email or wake-up is performed twice.
func TestTwoServerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	schema := pgtest.Schema(t, "serverless_procs_")
	// Create the schema once, before the processes race to.
	pg, err := postgres.Open(t.Context(), pgtest.DSN(), postgres.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	pg.Close()
	logPath := t.TempDir() + "/performed.log"
	urls := []string{startChild(t, schema, logPath), startChild(t, schema, logPath)}
	client := &http.Client{Timeout: 30 * time.Second}
	call := func(n int, method, path, body string) (int, map[string]any, error) {
		req, err := http.NewRequest(method, urls[n%2]+path, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		err = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out, err
	}
	all := func(n, status int, req func(i int) (string, string, string)) {
		t.Helper()
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				m, p, b := req(i)
				got, out, err := call(i, m, p, b)
				if err != nil || got != status {
					t.Errorf("%s %s on process %d: %d %v %v, want %d", m, p, i%2, got, out, err, status)
				}
			})
		}
		wg.Wait()
	}
	const n = 20
	all(n, 201, func(i int) (string, string, string) {
		return "POST", fmt.Sprintf("/workflows/signup/instances/p%d", i), fmt.Sprintf(`{"Email":"p%d@example.com","Token":"t%d"}`, i, i)
	})
	all(n, 200, func(int) (string, string, string) { return "POST", "/run-due", "" })
	all(n/2, 200, func(i int) (string, string, string) {
		return "POST", fmt.Sprintf("/instances/p%d/events/confirm", i), fmt.Sprintf(`{"Token":"t%d"}`, i)
	})
	for _, u := range urls { // a day passes, in both processes
		resp, err := client.Post(u+"/test/clock?offset="+(serverless.ConfirmWithin+time.Second).String(), "", nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("setting the clock: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	if _, out, err := call(0, "GET", "/instances/p15", ""); err != nil || out["status"] != "running" {
		t.Fatalf("p15 before any run-due call: %v %v, want running", out, err)
	}
	all(n, 200, func(int) (string, string, string) { return "POST", "/run-due", "" })
	for i := range n {
		if _, out, err := call(i, "GET", fmt.Sprintf("/instances/p%d", i), ""); err != nil || out["status"] != "completed" {
			t.Errorf("p%d: %v %v, want completed", i, out, err)
		}
	}

	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	kinds := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		seen[line]++
		kinds[strings.Fields(line)[0]]++
	}
	for line, k := range seen {
		if k != 1 {
			t.Errorf("%q performed %d times", line, k)
		}
	}
	if want := map[string]int{"sent": n, "withdrawn": n, "wakeup": n}; fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("performed %v, want %v", kinds, want)
	}
}
