package inspector_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/inspector"
	"github.com/weftflow/weft/interp"
)

// client follows no redirects, so tests see the 303 of an action.
var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := client.Get(srv.URL + "/inspect/" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func post(t *testing.T, srv *httptest.Server, path string, form url.Values, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL+"/inspect/"+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func wantContains(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("%s does not contain %q", what, s)
		}
	}
}

func wantStatus(t *testing.T, what string, got, want int, body string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d; body:\n%s", what, got, want, cut(body))
	}
}

func cut(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

// readOnly is the fixture of tests that change nothing.
func readOnly(t *testing.T) *fixture { return newFixture(t, 50) }

func TestOverview(t *testing.T) {
	f := readOnly(t)
	srv := f.serve(t)
	code, body := get(t, srv, "")
	wantStatus(t, "overview", code, 200, body)
	wantContains(t, "overview", body,
		`<h1>Overview</h1>`,
		`href="instances?workflow=pizza"`, `href="instances?workflow=approval"`,
		`href="instances?status=failed&amp;workflow=pizza">10</a>`, // order-xxx4: the courier lost them
		`href="diagram?workflow=pizza"`, `upgrade to v2`,
		`href="instance?id=order-0004"`, "delivery lost", // a failure
		`req-flaky/`, "the manager&#39;s inbox is down", // the dead letter
		"in 5 min", // the approvals' reminders, due soon
		"76 instances, counted at")
}

func TestInstancesFilter(t *testing.T) {
	f := readOnly(t)
	srv := f.serve(t)
	ids := regexp.MustCompile(`href="instance\?id=([^"]+)"`)
	for _, tc := range []struct {
		query string
		want  func(id string) bool
		n     int
	}{
		{"workflow=approval", func(id string) bool { return strings.HasPrefix(id, "req-") }, 26},
		{"status=failed", func(id string) bool { return stage(id) == 4 }, 10},
		{"prefix=order-001", func(id string) bool { return strings.HasPrefix(id, "order-001") }, 10},
		{"workflow=pizza&status=running&prefix=order-001", func(id string) bool {
			return strings.HasPrefix(id, "order-001") && (stage(id) == 0 || stage(id) == 1)
		}, 4},
		{"status=canceled", nil, 0},
		{"workflow=pizza&at=cart/shopping", func(id string) bool { return stage(id) == 0 || stage(id) == 1 }, 20},
	} {
		code, body := get(t, srv, "instances?"+tc.query)
		wantStatus(t, tc.query, code, 200, body)
		got := ids.FindAllStringSubmatch(body, -1)
		if len(got) != tc.n {
			t.Errorf("%s: %d instances, want %d", tc.query, len(got), tc.n)
		}
		for _, m := range got {
			if !tc.want(m[1]) {
				t.Errorf("%s: %s should not be listed", tc.query, m[1])
			}
		}
	}
	code, body := get(t, srv, "instances?status=sleeping")
	wantStatus(t, "bad status", code, 400, body)
	wantContains(t, "bad status", body, "unknown status")
	code, body = get(t, srv, "instances?prefix="+strings.Repeat("x", 2000))
	wantStatus(t, "long prefix", code, 400, body)
}

// stage is the fixture's stage of a pizza order ID: 0 and 1 shop, 2 and 3
// completed, 4 failed; -1 for other IDs.
func stage(id string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "order-"))
	if err != nil || !strings.HasPrefix(id, "order-") {
		return -1
	}
	return n % 5
}

func TestInstancesPaging(t *testing.T) {
	f := readOnly(t)
	srv := f.serve(t, inspector.WithPageSize(7))
	ids := regexp.MustCompile(`href="instance\?id=([^"]+)"`)
	next := regexp.MustCompile(`<a href="(instances\?[^"]+)" rel="next">`)
	seen := map[string]bool{}
	path := "instances?workflow=pizza"
	for pages := 0; path != ""; pages++ {
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		code, body := get(t, srv, path)
		wantStatus(t, path, code, 200, body)
		for _, m := range ids.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Fatalf("%s listed twice", m[1])
			}
			seen[m[1]] = true
		}
		path = ""
		if m := next.FindStringSubmatch(body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != 50 {
		t.Errorf("paging listed %d pizza orders, want 50", len(seen))
	}
}

// TestInstancesBounded: a page of a filtered list reads at most the scan
// budget from the store, however many instances it holds, and says so.
func TestInstancesBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a store of 4,500 instances")
	}
	f := newFixture(t, 3000)
	srv := f.serve(t, inspector.WithScanLimits(500, 1000), inspector.WithPageSize(20))
	for _, q := range []string{"status=canceled", "status=failed", "", "workflow=approval", "prefix=req-1", "at=nowhere"} {
		before := f.store.listed.Load()
		code, body := get(t, srv, "instances?"+q)
		wantStatus(t, q, code, 200, body)
		read := f.store.listed.Load() - before
		if read > 500 {
			t.Errorf("instances?%s read %d instances, want at most 500", q, read)
		}
		switch q {
		case "at=nowhere":
			// A position is checked on the decoded threads: the scan
			// stops at its budget, and says so.
			wantContains(t, q, body, "500 stored instances read", "the scan stopped there", `rel="next"`)
		default:
			// Workflow, status and prefix come from the store's index:
			// a page reads what it shows.
			if read > 20 {
				t.Errorf("instances?%s read %d instances for a page of 20", q, read)
			}
		}
	}
	// The overview reads at most the census limit, and counts from the
	// index, exactly.
	before := f.store.listed.Load()
	code, body := get(t, srv, "")
	wantStatus(t, "overview", code, 200, body)
	if read := f.store.listed.Load() - before; read > 1000 {
		t.Errorf("the overview read %d instances, want at most 1000", read)
	}
}

func TestInstancePage(t *testing.T) {
	f := readOnly(t)
	srv := f.serve(t)
	code, body := get(t, srv, "instance?id=order-0001")
	wantStatus(t, "order-0001", code, 200, body)
	wantContains(t, "order-0001", body,
		`<h1>Instance <code>order-0001</code></h1>`,
		`<code>pizza.Order</code>`, `<span class="key">Customer</span> <span class="v string">&#34;c1&#34;</span>`,
		`&#34;margherita&#34;`,
		`<code>cart/shopping</code>`, "<strong>add</strong>", "<strong>abandoned</strong>", "in 22 h",
		`href="diagram?highlight=order-0001&amp;workflow=pizza"`,
		`class="stmt hl" data-path="cart/shopping"`, // the small diagram
		"plan for v2",
		"Timeline", "start", // the journal (pizza keeps one)
	)
	if strings.Contains(body, `method="post"`) {
		t.Error("a read-only inspector shows a form that posts")
	}

	code, body = get(t, srv, "instance?id=order-0004")
	wantStatus(t, "order-0004", code, 200, body)
	wantContains(t, "order-0004", body, "delivery lost", `<span class="status s-failed" id="status">failed</span>`)

	code, body = get(t, srv, "instance?id=order-0003")
	wantStatus(t, "order-0003", code, 200, body)
	wantContains(t, "order-0003", body, "<h3>Output</h3>", "delivered 1 items to c3")

	code, body = get(t, srv, "instance?id=req-flaky")
	wantStatus(t, "req-flaky", code, 200, body)
	wantContains(t, "req-flaky", body, "<h3>Dead letters</h3>", "setup ask-manager", "No journal is kept")

	for _, tc := range []struct {
		path string
		code int
	}{
		{"instance?id=nobody", 404},
		{"instance", 400},
		{"instance?id=" + strings.Repeat("x", 2000), 400},
		{"nowhere", 404},
	} {
		code, body := get(t, srv, tc.path)
		wantStatus(t, tc.path, code, tc.code, body)
		if !strings.Contains(body, `role="alert"`) && tc.path != "nowhere" {
			t.Errorf("%s: the error page says nothing", tc.path)
		}
	}
}

func TestDiagramPage(t *testing.T) {
	f := readOnly(t)
	srv := f.serve(t)
	code, body := get(t, srv, "diagram?workflow=pizza")
	wantStatus(t, "diagram", code, 200, body)
	wantContains(t, "diagram", body, "<svg", `data-path="cart/shopping"`, `data-path="kitchen"`,
		`<code>cart/shopping</code></a></td><td>20</td>`, // orders xxx0 and xxx1 shop
		`<a href="instances?at=cart%2Fshopping&amp;workflow=pizza">`)
	if strings.Contains(body, " hl\"") {
		t.Error("a diagram without ?highlight highlights something")
	}
	code, body = get(t, srv, "diagram?workflow=approval&highlight=req-0003")
	wantStatus(t, "highlight", code, 200, body)
	wantContains(t, "highlight", body, `class="stmt hl" data-path="decision"`, `data-path="reminder/remind later"`)

	code, body = get(t, srv, "diagram?highlight=req-0003")
	wantStatus(t, "highlight without workflow", code, 200, body)

	code, body = get(t, srv, "diagram.svg?workflow=pizza")
	wantStatus(t, "svg", code, 200, body)
	if !strings.HasPrefix(body, "<svg") {
		t.Errorf("diagram.svg is not an SVG: %.60s", body)
	}
	for _, tc := range []struct {
		path string
		code int
	}{
		{"diagram?workflow=nothing", 404},
		{"diagram", 400},
		{"diagram?workflow=pizza&version=x", 400},
		{"diagram?workflow=pizza&version=9", 404},
		{"diagram?workflow=pizza&highlight=nobody", 404},
		{"diagram?workflow=pizza&highlight=req-0001", 400},
	} {
		code, body := get(t, srv, tc.path)
		wantStatus(t, tc.path, code, tc.code, body)
	}
}

func TestUpgradePage(t *testing.T) {
	f := readOnly(t)
	srv := f.serve(t)
	code, body := get(t, srv, "upgrade?workflow=pizza")
	wantStatus(t, "upgrade", code, 200, body)
	wantContains(t, "upgrade", body, "Upgrade pizza from v1 to v2", "50 instances of pizza", "Today: v1", "Next: v2", "<svg")

	code, body = get(t, srv, "upgrade?workflow=pizza&id=order-0001&event=submit")
	wantStatus(t, "plan", code, 200, body)
	wantContains(t, "plan", body, `<pre class="plan-result">`, "It waits for: <code>add</code>", "<code>abandoned</code>")

	code, body = get(t, srv, "upgrade?workflow=pizza&id=order-0001&event=nothing")
	wantStatus(t, "plan of no event", code, 200, body)
	wantContains(t, "plan of no event", body, "waits for no event")

	code, body = get(t, srv, "upgrade?workflow=pizza&id=order-0003&event=submit")
	wantStatus(t, "plan of a finished instance", code, 200, body)
	wantContains(t, "plan of a finished instance", body, "takes no more events")

	for _, tc := range []struct {
		path string
		code int
	}{
		{"upgrade?workflow=approval", 404},
		{"upgrade?workflow=nothing", 404},
		{"upgrade", 400},
		{"upgrade?workflow=pizza&version=x", 400},
		{"upgrade?workflow=pizza&version=7", 404},
	} {
		code, body := get(t, srv, tc.path)
		wantStatus(t, tc.path, code, tc.code, body)
	}
}

// TestUpgradeBounded: the upgrade page checks at most the census limit
// of stored instances, and says so.
func TestUpgradeBounded(t *testing.T) {
	f := readOnly(t)
	srv := f.serve(t, inspector.WithScanLimits(10, 30))
	before := f.store.listed.Load()
	code, body := get(t, srv, "upgrade?workflow=pizza")
	wantStatus(t, "upgrade", code, 200, body)
	// The check reads 30, and the count of today's diagram 30 more.
	if read := f.store.listed.Load() - before; read > 60 {
		t.Errorf("the upgrade page read %d instances, want at most 60", read)
	}
	wantContains(t, "upgrade", body, "30 instances of pizza", "The check stopped after 30 stored instances")
}

func TestUpgradeMarksLostPositions(t *testing.T) {
	f := readOnly(t)
	// Version 2 without its migration loses the instances in the cart
	// loop and the kitchen wait.
	h, err := inspector.New(f.e, inspector.WithUpgrades(pizza.WorkflowV2NoMigration()))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/upgrade?workflow=pizza", nil))
	body := rec.Body.String()
	wantStatus(t, "upgrade", rec.Code, 200, body)
	wantContains(t, "upgrade", body, "position lost", `<code>cart/shopping</code>: 20 instances`,
		`class="stmt lost" data-path="cart/shopping"`)
}

func TestAssetsAndHeaders(t *testing.T) {
	f := readOnly(t)
	srv := f.serve(t)
	for _, p := range []string{"assets/style.css", "assets/inspector.js"} {
		resp, err := client.Get(srv.URL + "/inspect/" + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	resp, err := client.Get(srv.URL + "/inspect/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
}

// TestActionsOffByDefault: without WithActions, the action routes do not
// exist and no page has a form that posts.
func TestActionsOffByDefault(t *testing.T) {
	f := readOnly(t)
	srv := f.serve(t)
	for _, p := range []string{"send", "cancel", "terminate", "requeue"} {
		resp, body := post(t, srv, p, url.Values{"id": {"order-0001"}, "event": {"add"}, "payload": {`{"Item":"x"}`}}, nil)
		if resp.StatusCode != 404 && resp.StatusCode != 405 {
			t.Errorf("POST %s: %d, want 404 or 405; %s", p, resp.StatusCode, cut(body))
		}
	}
	for _, p := range []string{"", "instance?id=order-0001", "instance?id=req-flaky", "instances"} {
		_, body := get(t, srv, p)
		if strings.Contains(body, `method="post"`) {
			t.Errorf("%s shows a form that posts", p)
		}
	}
	in, err := f.e.Get(context.Background(), "order-0001")
	if err != nil {
		t.Fatal(err)
	}
	if in.Meta.Seq != 2 {
		t.Errorf("order-0001 has %d transitions, want 2 (start, add)", in.Meta.Seq)
	}
}

// logBuffer collects what the inspector logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func allowAll(*http.Request, string) error { return nil }

// formOf is the form of a send.
func formOf(tok, id, event, payload string) url.Values {
	return url.Values{"csrf": {tok}, "id": {id}, "event": {event}, "payload": {payload}}
}

// tokenOf returns the CSRF token of the first form posting to action.
func tokenOf(t *testing.T, body, action string) string {
	t.Helper()
	m := regexp.MustCompile(`action="` + action + `"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form posting to %s with a token", action)
	}
	return m[1]
}

func TestActionSend(t *testing.T) {
	f := newFixture(t, 10)
	var logs logBuffer
	srv := f.serve(t, inspector.WithActions(allowAll), inspector.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	code, body := get(t, srv, "instance?id=order-0001")
	wantStatus(t, "instance", code, 200, body)
	// pizza.Add is a struct of plain fields: the form has an input per field.
	wantContains(t, "instance", body, `<legend>Payload of add (<code>pizza.Add</code>)</legend>`, `name="field.Item" type="text"`, `name="form" value="fields"`)
	tok := tokenOf(t, body, "send")

	// Sent as fields, then as JSON: the same payload either way.
	resp, body := post(t, srv, "send", url.Values{"csrf": {tok}, "id": {"order-0001"}, "event": {"add"}, "form": {"fields"}, "field.Item": {"funghi"}},
		map[string]string{"Origin": srv.URL, "Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("send as fields: %d, want 303; %s", resp.StatusCode, cut(body))
	}

	resp, body = post(t, srv, "send", url.Values{"csrf": {tok}, "id": {"order-0001"}, "event": {"add"}, "payload": {`{"Item": "diavola"}`}},
		map[string]string{"Origin": srv.URL, "Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("send: %d, want 303; %s", resp.StatusCode, cut(body))
	}
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "instance?") || !strings.Contains(loc, "id=order-0001") {
		t.Errorf("send redirects to %q", loc)
	}
	s, err := engine.Query[pizza.Order](context.Background(), f.e, "order-0001")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != 3 || s.Items[1] != "funghi" || s.Items[2] != "diavola" {
		t.Errorf("after send: items %q, want [margherita funghi diavola]", s.Items)
	}
	_, body = get(t, srv, "instance?id=order-0001&done=sent+add")
	wantContains(t, "after send", body, "Done: sent add.", "&#34;diavola&#34;")
	wantContains(t, "log", logs.String(), "inspector: action", "action=send", "instance=order-0001", "event=add")
}

func TestActionCancelAndRequeue(t *testing.T) {
	f := newFixture(t, 10)
	var logs logBuffer
	srv := f.serve(t, inspector.WithActions(allowAll), inspector.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	_, body := get(t, srv, "instance?id=order-0000")
	resp, body := post(t, srv, "cancel", url.Values{"csrf": {tokenOf(t, body, "cancel")}, "id": {"order-0000"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d; %s", resp.StatusCode, cut(body))
	}
	in, err := f.e.Get(context.Background(), "order-0000")
	if err != nil {
		t.Fatal(err)
	}
	if !in.Meta.Status.Finished() && in.Meta.Status != interp.StatusCanceling {
		t.Errorf("after cancel: %s", in.Meta.Status)
	}

	_, body = get(t, srv, "")
	tok := tokenOf(t, body, "requeue")
	dead, err := f.e.Store().DeadLetters(context.Background(), "", 10)
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters: %v, %v", dead, err)
	}
	resp, body = post(t, srv, "requeue", url.Values{"csrf": {tok}, "effect": {dead[0].ID}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("requeue: %d; %s", resp.StatusCode, cut(body))
	}
	if after, _ := f.e.Store().DeadLetters(context.Background(), "", 10); len(after) != 0 {
		t.Errorf("after requeue: %d dead letters", len(after))
	}
	resp, body = post(t, srv, "requeue", url.Values{"csrf": {tok}, "effect": {dead[0].ID}}, nil)
	wantStatus(t, "requeue again", resp.StatusCode, 404, body)
	wantContains(t, "log", logs.String(), "action=cancel", "action=requeue", "action refused")
}

func TestActionGETIs405(t *testing.T) {
	f := readOnly(t)
	srv := f.serve(t, inspector.WithActions(allowAll))
	for _, p := range []string{"send", "cancel", "requeue"} {
		code, body := get(t, srv, p)
		wantStatus(t, "GET "+p, code, 405, body)
	}
}

// TestActionCSRF: a post without a valid token for its action, or from
// another site, is refused with 403 and changes nothing.
func TestActionCSRF(t *testing.T) {
	f := newFixture(t, 5)
	var logs logBuffer
	srv := f.serve(t, inspector.WithActions(allowAll), inspector.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	_, body := get(t, srv, "instance?id=order-0001")
	good, cancelTok := tokenOf(t, body, "send"), tokenOf(t, body, "cancel")
	form := func(tok string) url.Values {
		return url.Values{"csrf": {tok}, "id": {"order-0001"}, "event": {"add"}, "payload": {`{"Item":"x"}`}}
	}
	other, err := inspector.New(f.e, inspector.WithActions(allowAll))
	if err != nil {
		t.Fatal(err)
	}
	_ = other
	for _, tc := range []struct {
		name   string
		tok    string
		header map[string]string
	}{
		{"no token", "", nil},
		{"garbage", "garbage", nil},
		{"bad mac", strings.SplitN(good, ".", 2)[0] + ".AAAA", nil},
		{"other time", "1." + strings.SplitN(good, ".", 2)[1], nil},
		{"the cancel token", cancelTok, nil},
		{"cross-site", good, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"other origin", good, map[string]string{"Origin": "https://evil.example"}},
	} {
		resp, body := post(t, srv, "send", form(tc.tok), tc.header)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403; %s", tc.name, resp.StatusCode, cut(body))
		}
	}
	s, err := engine.Query[pizza.Order](context.Background(), f.e, "order-0001")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != 1 {
		t.Errorf("a refused post changed the state: items %q", s.Items)
	}
	wantContains(t, "log", logs.String(), "action refused", "cross-site request refused", "CSRF token")
}

// TestActionCSRFOtherHandler: a token from another handler (another
// secret) is refused; one from a handler sharing the secret is taken.
func TestActionCSRFOtherHandler(t *testing.T) {
	f := newFixture(t, 5)
	key := bytes.Repeat([]byte{7}, 32)
	a := f.serve(t, inspector.WithActions(allowAll), inspector.WithSecret(key))
	b := f.serve(t, inspector.WithActions(allowAll), inspector.WithSecret(key))
	c := f.serve(t, inspector.WithActions(allowAll))
	_, body := get(t, a, "instance?id=order-0001")
	tok := tokenOf(t, body, "send")
	form := url.Values{"csrf": {tok}, "id": {"order-0001"}, "event": {"add"}, "payload": {`{"Item":"x"}`}}
	if resp, body := post(t, c, "send", form, nil); resp.StatusCode != 403 {
		t.Errorf("another secret: %d, want 403; %s", resp.StatusCode, cut(body))
	}
	if resp, body := post(t, b, "send", form, nil); resp.StatusCode != 303 {
		t.Errorf("the same secret: %d, want 303; %s", resp.StatusCode, cut(body))
	}
}

func TestActionAuthorizer(t *testing.T) {
	f := newFixture(t, 5)
	var logs logBuffer
	var asked []string
	var mu sync.Mutex
	deny := func(r *http.Request, action string) error {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, action)
		if r.Header.Get("X-User") != "admin" {
			return errors.New("only admins may " + action)
		}
		return nil
	}
	srv := f.serve(t, inspector.WithActions(deny), inspector.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	_, body := get(t, srv, "instance?id=order-0001")
	form := url.Values{"csrf": {tokenOf(t, body, "cancel")}, "id": {"order-0001"}}
	resp, body := post(t, srv, "cancel", form, nil)
	wantStatus(t, "refused", resp.StatusCode, 403, body)
	wantContains(t, "refused", body, "only admins may cancel")
	if in, _ := f.e.Get(context.Background(), "order-0001"); in.Meta.Status != interp.StatusRunning {
		t.Errorf("a refused cancel changed the instance: %s", in.Meta.Status)
	}
	resp, body = post(t, srv, "cancel", form, map[string]string{"X-User": "admin"})
	wantStatus(t, "allowed", resp.StatusCode, 303, body)
	if len(asked) != 2 || asked[0] != "cancel" {
		t.Errorf("the authorizer was asked %q", asked)
	}
	wantContains(t, "log", logs.String(), "only admins may cancel", "action=cancel")
}

// TestActionBadInput: bad forms are answered 400, 404 or 409 with a
// message, never a panic, and change nothing.
func TestActionBadInput(t *testing.T) {
	f := newFixture(t, 5)
	srv := f.serve(t, inspector.WithActions(allowAll))
	_, body := get(t, srv, "instance?id=order-0001")
	tok := tokenOf(t, body, "send")
	for _, tc := range []struct {
		name string
		form url.Values
		code int
		msg  string
	}{
		{"not JSON", url.Values{"id": {"order-0001"}, "event": {"add"}, "payload": {`{"Item":`}}, 400, "not JSON"},
		{"wrong field", url.Values{"id": {"order-0001"}, "event": {"add"}, "payload": {`{"Pizza":"x"}`}}, 400, "unknown field"},
		{"wrong type", url.Values{"id": {"order-0001"}, "event": {"add"}, "payload": {`{"Item":3}`}}, 400, "does not fit"},
		{"two values", url.Values{"id": {"order-0001"}, "event": {"add"}, "payload": {`{} {}`}}, 400, "more than one"},
		{"no instance", url.Values{"event": {"add"}}, 400, "names no instance"},
		{"no event", url.Values{"id": {"order-0001"}}, 400, "names no event"},
		{"unknown instance", url.Values{"id": {"nobody"}, "event": {"add"}}, 404, "not found"},
		{"not waited for", url.Values{"id": {"order-0001"}, "event": {"cooked"}}, 409, "waits for no custom event"},
		{"timer", url.Values{"id": {"order-0001"}, "event": {"abandoned"}}, 409, "waits for no custom event"},
		{"rejected", url.Values{"id": {"order-0000"}, "event": {"submit"}, "payload": {`{}`}}, 409, "the cart is empty"},
		{"finished", url.Values{"id": {"order-0003"}, "event": {"add"}}, 409, "waits for no custom event"},
	} {
		tc.form.Set("csrf", tok)
		resp, body := post(t, srv, "send", tc.form, nil)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d, want %d with %q; %s", tc.name, resp.StatusCode, tc.code, tc.msg, cut(body))
		}
	}
	resp, body := post(t, srv, "send", url.Values{"csrf": {tok}, "id": {"order-0001"}, "event": {"add"}, "payload": {strings.Repeat("x", 2<<20)}}, nil)
	if resp.StatusCode != 400 {
		t.Errorf("a 2 MiB form: %d, want 400; %s", resp.StatusCode, cut(body))
	}
	if s, _ := engine.Query[pizza.Order](context.Background(), f.e, "order-0001"); len(s.Items) != 1 {
		t.Errorf("bad input changed the state: %q", s.Items)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := inspector.New(nil); !errors.Is(err, inspector.ErrNilEngine) {
		t.Errorf("New(nil): %v", err)
	}
	f := readOnly(t)
	for _, o := range []inspector.Option{
		nil, inspector.WithActions(nil), inspector.WithUpgrades(nil), inspector.WithClock(nil), inspector.WithLocation(nil),
		inspector.WithLogger(nil), inspector.WithPageSize(0), inspector.WithPageSize(5000), inspector.WithScanLimits(0, 1),
		inspector.WithSecret([]byte("short")),
	} {
		_, err := inspector.New(f.e, o)
		var oe *inspector.OptionError
		if !errors.Is(err, inspector.ErrBadOption) || !errors.As(err, &oe) {
			t.Errorf("New with a bad option: %v", err)
		}
	}
}

// TestMigratedInstance: an instance migrated to version 2 shows its
// migration, and its state in version 2's type.
func TestMigratedInstance(t *testing.T) {
	f := newFixture(t, 5)
	e2, err := engine.New(f.store, engine.WithClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Register(pizza.WorkflowV2); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.MigrateAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := inspector.New(e2)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/instance?id=order-0001", nil))
	body := rec.Body.String()
	wantStatus(t, "migrated", rec.Code, 200, body)
	wantContains(t, "migrated", body, "<dt>Migrated from</dt><dd>v1</dd>", "<code>pizza.OrderV2</code>", "pizza</a> v2")
}

func TestActionTerminate(t *testing.T) {
	f := newFixture(t, 10)
	var logs logBuffer
	srv := f.serve(t, inspector.WithActions(allowAll), inspector.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	_, body := get(t, srv, "instance?id=order-0001")
	tok := tokenOf(t, body, "terminate")
	// A reason is required.
	resp, body := post(t, srv, "terminate", url.Values{"csrf": {tok}, "id": {"order-0001"}}, nil)
	wantStatus(t, "terminate without a reason", resp.StatusCode, 400, body)
	resp, body = post(t, srv, "terminate", url.Values{"csrf": {tok}, "id": {"order-0001"}, "reason": {"duplicate order"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("terminate: %d; %s", resp.StatusCode, cut(body))
	}
	in, err := f.e.Get(context.Background(), "order-0001")
	if err != nil {
		t.Fatal(err)
	}
	if in.Meta.Status != interp.StatusTerminated || in.Meta.Terminated == nil || in.Meta.Terminated.Reason != "duplicate order" || in.Meta.Terminated.By != "inspector" {
		t.Fatalf("after terminate: %s, %+v", in.Meta.Status, in.Meta.Terminated)
	}
	// Again: the instance has ended (409), and nothing changes.
	resp, body = post(t, srv, "terminate", url.Values{"csrf": {tok}, "id": {"order-0001"}, "reason": {"again"}}, nil)
	wantStatus(t, "terminate again", resp.StatusCode, 409, body)
	// Without the token, refused.
	resp, body = post(t, srv, "terminate", url.Values{"id": {"order-0002"}, "reason": {"x"}}, nil)
	wantStatus(t, "terminate without a token", resp.StatusCode, 403, body)
	wantContains(t, "log", logs.String(), "action=terminate", "action refused")
}
