package inspector_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/weftflow/weft/inspector"
)

var (
	fieldRe  = regexp.MustCompile(`<(input|select|textarea)\b([^>]*)>`)
	idRe     = regexp.MustCompile(`\bid="([^"]+)"`)
	buttonRe = regexp.MustCompile(`<button\b([^>]*)>([^<]*)</button>`)
	h1Re     = regexp.MustCompile(`<h1\b`)
	tabRe    = regexp.MustCompile(`tabindex="([1-9][0-9]*)"`)
)

// TestAccessibility is a smoke check of every page: a language, one h1, a
// link that skips to the content, a label for every field, a name for
// every button, and no tab order forced past the document's.
func TestAccessibility(t *testing.T) {
	f := readOnly(t)
	srv := f.serve(t, inspector.WithActions(allowAll))
	for _, p := range []string{
		"", "instances", "instances?workflow=pizza&status=running", "instance?id=order-0001", "instance?id=req-flaky",
		"instance?id=order-0004", "diagram?workflow=pizza&highlight=order-0001", "upgrade?workflow=pizza&id=order-0001&event=submit",
		"instance?id=nobody",
	} {
		_, body := get(t, srv, p)
		if !strings.Contains(body, `<html lang="en">`) {
			t.Errorf("%s: no language on <html>", p)
		}
		if n := len(h1Re.FindAllString(body, -1)); n != 1 {
			t.Errorf("%s: %d h1 headings, want 1", p, n)
		}
		if !strings.Contains(body, `<a class="skip" href="#main">`) || !strings.Contains(body, `<main id="main"`) {
			t.Errorf("%s: no link that skips to the content", p)
		}
		for _, m := range fieldRe.FindAllStringSubmatch(body, -1) {
			attrs := m[2]
			if strings.Contains(attrs, `type="hidden"`) || strings.Contains(attrs, "aria-label=") {
				continue
			}
			id := idRe.FindStringSubmatch(attrs)
			if id == nil {
				t.Errorf("%s: a %s without an id, so without a label: %s", p, m[1], m[0])
				continue
			}
			if !strings.Contains(body, `<label for="`+id[1]+`">`) {
				t.Errorf("%s: no label for %s #%s", p, m[1], id[1])
			}
		}
		for _, m := range buttonRe.FindAllStringSubmatch(body, -1) {
			if strings.TrimSpace(m[2]) == "" && !strings.Contains(m[1], "aria-label=") {
				t.Errorf("%s: a button without a name: %s", p, m[0])
			}
		}
		if m := tabRe.FindString(body); m != "" {
			t.Errorf("%s: %s forces the tab order", p, m)
		}
	}
}
