package cli_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/cli"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
)

// lockedBuffer is a buffer the server goroutine writes while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serve runs "serve args..." until the test ends and returns the URL it
// prints.
func serve(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb lockedBuffer
	p := &cli.Program{Name: "weft", Definitions: []*dsl.Definition{approval.Workflow, pizza.Workflow},
		Upgrades: []*dsl.Definition{pizza.WorkflowV2}, Stdout: &out, Stderr: &errb}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- p.Main(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited with %d: %s", code, errb.String())
		}
	})
	re := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+/)`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d: %s%s", code, out.String(), errb.String())
		default:
		}
	}
	t.Fatalf("serve printed no URL: %s%s", out.String(), errb.String())
	return ""
}

func fetch(t *testing.T, method, u string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(url.Values{"id": {"pizza-00001"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeReadOnly(t *testing.T) {
	path := newStore(t, map[*dsl.Definition]int{pizza.Workflow: 3, approval.Workflow: 2})
	base := serve(t, "--db", path)
	code, body := fetch(t, "GET", base)
	if code != 200 || !strings.Contains(body, `href="instances?workflow=pizza"`) || !strings.Contains(body, "5 instances, counted at") {
		t.Fatalf("overview: %d\n%s", code, body)
	}
	code, body = fetch(t, "GET", base+"instance?id=pizza-00001")
	if code != 200 || !strings.Contains(body, "<code>cart/shopping</code>") || strings.Contains(body, `method="post"`) {
		t.Fatalf("instance: %d\n%s", code, body)
	}
	if code, _ := fetch(t, "GET", base+"upgrade?workflow=pizza"); code != 200 {
		t.Errorf("upgrade: %d", code)
	}
	if code, _ := fetch(t, "POST", base+"cancel"); code != 404 && code != 405 {
		t.Errorf("POST cancel on a read-only inspector: %d", code)
	}
}

func TestServeActions(t *testing.T) {
	path := newStore(t, map[*dsl.Definition]int{pizza.Workflow: 2})
	base := serve(t, "--db", path, "--actions")
	_, body := fetch(t, "GET", base+"instance?id=pizza-00001")
	if !strings.Contains(body, `action="cancel"`) {
		t.Fatalf("no cancel form with --actions:\n%s", body)
	}
	// Without the page's token the post is refused.
	if code, _ := fetch(t, "POST", base+"cancel"); code != 403 {
		t.Errorf("POST cancel without a token: %d, want 403", code)
	}
}

func TestServeUsage(t *testing.T) {
	path := newStore(t, map[*dsl.Definition]int{pizza.Workflow: 1})
	for _, args := range [][]string{
		{"serve"},
		{"serve", "--db", path, "--addr", "0.0.0.0:0", "--actions"},
		{"serve", "--db", path, "--addr", "nonsense"},
		{"serve", "--db", path, "extra"},
	} {
		p, _, errb := tool(pizza.Workflow)
		if code := runTool(p, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}
