package inspector_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/inspector"
)

// FuzzPages requests pages with arbitrary paths and query strings, and
// posts arbitrary forms: the answer is never a server error (500), and
// never a panic.
func FuzzPages(f *testing.F) {
	for _, s := range []string{
		"/", "/instances?status=running&workflow=pizza", "/instances?after=%ff%fe&prefix=%00", "/instance?id=order-0001",
		"/instance?id=", "/diagram?workflow=pizza&highlight=order-0001&version=1", "/diagram?version=-1",
		"/upgrade?workflow=pizza&id=order-0001&event=add&payload=%7B%22Item%22%3A1%7D", "/upgrade?workflow=pizza&id=order-0001&event=resume",
		"/diagram.svg?workflow=approval", "/assets/../inspector.go", "/instances?at=cart/shopping&prefix=ord%C3",
	} {
		f.Add(s, "id=order-0001&event=add&payload=%7B%7D")
	}
	fx := newFixture(f, 10)
	h, err := inspector.New(fx.e, inspector.WithUpgrades(pizza.WorkflowV2), inspector.WithActions(allowAll))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, target, form string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(u.Path, "/") {
			t.Skip()
		}
		for _, method := range []string{"GET", "POST"} {
			req := httptest.NewRequest("GET", "/", nil)
			req.Method, req.URL, req.RequestURI = method, u, ""
			if method == "POST" {
				req = httptest.NewRequest("POST", "/", strings.NewReader(form))
				req.URL = u
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s: %d\n%s", method, target, rec.Code, rec.Body.String())
			}
		}
	})
}
