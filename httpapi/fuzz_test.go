package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/httpapi"
	"github.com/weftflow/weft/storage/memory"
)

// FuzzDecode checks that the request decoder never panics and that what
// it refuses it refuses with a client error (400 or 422).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"Item":"tea","Qty":2}`, `{"Qty":"x"}`, `[`, `null`, `"s"`, `1e999`, `{"Item":"a"} x`, "\xff"} {
		f.Add([]byte(s))
	}
	types := []reflect.Type{reflect.TypeFor[Order](), reflect.TypeFor[Payment](), reflect.TypeFor[string](),
		reflect.TypeFor[*Payment](), reflect.TypeFor[map[string][]int](), reflect.TypeFor[any]()}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, typ := range types {
			v, err := httpapi.Decode(body, typ)
			if err != nil {
				if c := httpapi.ErrorCode(err); c != httpapi.CodeBadJSON && c != httpapi.CodeWrongType || v != nil {
					t.Fatalf("%s: %v, %v (code %s)", typ, v, err, c)
				}
				continue
			}
			if reflect.TypeOf(v) != reflect.PointerTo(typ) {
				t.Fatalf("%s: decoded a %T", typ, v)
			}
		}
	})
}

// FuzzHandler sends any method, path, header and body to a handler: it
// must answer every request with a JSON body (or redirect an unclean
// path) and never panic.
func FuzzHandler(f *testing.F) {
	f.Add("POST", "/workflows/order/instances/o1", "", `{"Item":"tea"}`)
	f.Add("POST", "/instances/o1/events/pay", "k", `{"Amount":1}`)
	f.Add("POST", "/instances/o1/callbacks/2", "", `{"Amount":1}`)
	f.Add("GET", "/instances/o1", "", ``)
	f.Add("POST", "/run-due?limit=3", "", ``)
	store := memory.New()
	eng, err := engine.New(store)
	if err != nil {
		f.Fatal(err)
	}
	reg, _ := httpapi.NewRegistry(orderWF)
	if err := eng.Register(reg.Definitions()...); err != nil {
		f.Fatal(err)
	}
	h, err := httpapi.New(eng, reg, httpapi.WithMaxBody(1024), httpapi.WithProcessing())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path, key, body string) {
		req, err := http.NewRequest(method, "http://weft"+path, strings.NewReader(body))
		if err != nil {
			return // not a request a server could receive
		}
		if key != "" {
			req.Header.Set(httpapi.IdempotencyHeader, key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code/100 == 3 && rec.Header().Get("Location") != "" {
			return // the mux's redirect of an unclean path ("//", "/./")
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: %d %q", method, path, rec.Code, rec.Body.String())
		}
	})
}
