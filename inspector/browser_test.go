package inspector_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/inspector"
)

// chromium returns the path of a Chromium to drive. Without one the
// browser tests skip, saying how to install it, except under CI=true,
// where they must run (.ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium on PATH: install it to run the browser tests (Debian/Ubuntu: apt-get install -y chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; under CI=true the browser tests must run")
	}
	t.Skip(msg)
	return ""
}

// artifacts is where the browser tests save their screenshots: the
// directory WEFT_TEST_ARTIFACTS names, or the test's temporary one.
func artifacts(t *testing.T) string {
	if d := os.Getenv("WEFT_TEST_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// browser starts a headless Chromium and returns a context that drives a
// tab of it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelTab)
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTime)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium at %s: %v", path, err)
	}
	return ctx
}

// tab drives the browser tab of a test, failing the test on the first
// error.
type tab struct {
	t   *testing.T
	ctx context.Context
}

func (b tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

func (b tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b tab) screenshot(dir, name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG; less is JPEG
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
}

// TestBrowser uses the inspector as a person does, in a real headless
// Chromium: the overview of a store with a few hundred instances of the
// demo workflows, a link to the running pizza orders and on to one of
// them, its highlighted thread on the diagram, and an event sent through
// the form that changes its state.
func TestBrowser(t *testing.T) {
	b := tab{t: t, ctx: browser(t)}
	dir := artifacts(t)
	f := newFixture(t, 200)
	srv := f.serve(t, inspector.WithActions(allowAll))

	b.do(chromedp.Navigate(srv.URL + "/inspect/"))
	if h1, text := b.text("h1"), b.text("main"); h1 != "Overview" || !strings.Contains(text, "301 instances, counted at") {
		t.Fatalf("overview: h1 %q, text:\n%s", h1, cut(text))
	}
	b.screenshot(dir, "inspector-overview.png")
	// The keyboard's first stop is the link that skips to the content.
	b.do(chromedp.KeyEvent("\t"))
	focused, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.className + " " + document.activeElement.getAttribute("href")`))
	if err != nil || focused != "skip #main" {
		t.Errorf("the first Tab focuses %q (%v), want the skip link", focused, err)
	}

	// Follow the count of running pizza orders, then the first order that
	// shops with an item in its cart.
	b.do(chromedp.Click(chromedp.CSS(`a[href="instances?status=running&workflow=pizza"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.list`)))
	if h1 := b.text("h1"); h1 != "Instances" {
		t.Fatalf("after the count's link: %q", h1)
	}
	b.do(chromedp.Click(chromedp.CSS(`a[href="instance?id=order-0001"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#status`)))
	if h1 := b.text("h1"); h1 != "Instance order-0001" {
		t.Fatalf("after the instance's link: %q", h1)
	}
	if state := b.text(".tree"); !strings.Contains(state, `"margherita"`) || strings.Contains(state, "diavola") {
		t.Fatalf("the state before the event:\n%s", state)
	}
	// The script measures "in 22 h" on the server's (fake) clock.
	if due := b.text(`dl.facts dd:nth-of-type(4) .rel`); due != "in 22 h" {
		t.Errorf("the due time reads %q, want \"in 22 h\"", due)
	}
	b.screenshot(dir, "inspector-instance.png")

	// Its diagram, with its thread highlighted.
	b.do(chromedp.Click(chromedp.CSS(`dd a[href^="diagram?highlight=order-0001"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#diagram svg`)))
	hl, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#diagram [data-path].hl, #diagram [data-path] > .hl")).map(e => e.closest("[data-path]").getAttribute("data-path"))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(hl) != 1 || hl[0] != "cart/shopping" {
		t.Fatalf("highlighted on the diagram: %q, want [cart/shopping]", hl)
	}
	b.screenshot(dir, "inspector-diagram.png")

	// Back to the order: add a pizza through the form.
	add := `form.send:has(input[name="event"][value="add"])`
	b.do(chromedp.Navigate(srv.URL+"/inspect/instance?id=order-0001"),
		chromedp.WaitVisible(chromedp.CSS(`#status`)),
		chromedp.SetValue(chromedp.CSS(add+` input[name="field.Item"]`), `diavola`),
		chromedp.Click(chromedp.CSS(add+` button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	if notice, state := b.text(".notice"), b.text(".tree"); notice != "Done: sent add." || !strings.Contains(state, `"diavola"`) {
		t.Fatalf("after sending add: notice %q, state:\n%s", notice, state)
	}
	s, err := engine.Query[pizza.Order](context.Background(), f.e, "order-0001")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != 2 || s.Items[1] != "diavola" {
		t.Fatalf("the stored order: %q", s.Items)
	}
	b.screenshot(dir, "inspector-sent.png")

	// The upgrade page: both diagrams drawn, the check's summary.
	b.do(chromedp.Navigate(srv.URL+"/inspect/upgrade?workflow=pizza&id=order-0001&event=submit"),
		chromedp.WaitVisible(chromedp.CSS(`pre.plan-result`)))
	if sum := b.text(".summary"); !strings.Contains(sum, "200 instances of pizza") {
		t.Errorf("upgrade summary: %q", sum)
	}
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("figure.diagram svg").length`))
	if err != nil || n != 2 {
		t.Errorf("the upgrade page draws %d diagrams (%v), want 2", n, err)
	}
	b.screenshot(dir, "inspector-upgrade.png")
}

// TestBrowserSkipsWithoutChromium: without a Chromium on PATH (and not
// under CI=true) the browser tests skip instead of failing.
func TestBrowserSkipsWithoutChromium(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CI", "")
	skipped := false
	t.Run("no chromium", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		chromium(t)
	})
	if !skipped {
		t.Error("chromium() did not skip without a Chromium")
	}
}
