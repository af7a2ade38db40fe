package httpapi_test

import (
	"testing"

	"github.com/weftflow/weft/httpapi"
)

// POST /instances/{id}/terminate ends a running (or canceling) instance
// with a reason; a query shows who and why; a second one is 409 finished.
func TestTerminate(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.want(201, "POST", "/workflows/order/instances/o1", `{}`)
	f.wantError(400, httpapi.CodeBadRequest, "POST", "/instances/o1/terminate", `{}`)
	f.wantError(400, httpapi.CodeBadJSON, "POST", "/instances/o1/terminate", `{"reason":`)
	f.wantError(422, httpapi.CodeWrongType, "POST", "/instances/o1/terminate", `{"reason": "x", "why": 1}`)
	f.want(200, "POST", "/instances/o1/terminate", `{"reason": "customer left", "by": "support"}`)
	q := f.want(200, "GET", "/instances/o1", "")
	term, _ := q["terminated"].(map[string]any)
	if q["status"] != "terminated" || term["reason"] != "customer left" || term["by"] != "support" || term["at"] == nil {
		t.Errorf("query after terminate: %v", q)
	}
	f.wantError(409, httpapi.CodeFinished, "POST", "/instances/o1/terminate", `{"reason": "again"}`)
	f.wantError(409, httpapi.CodeFinished, "POST", "/instances/o1/cancel", "")
	f.wantError(404, httpapi.CodeUnknownInst, "POST", "/instances/nope/terminate", `{"reason": "x"}`)
	f.wantError(405, httpapi.CodeMethod, "GET", "/instances/o1/terminate", "")

	// A canceling instance, whose cleanup waits, can be terminated too.
	f.want(201, "POST", "/workflows/order/instances/o2", `{}`)
	f.want(200, "POST", "/instances/o2/cancel", "")
	f.want(200, "POST", "/instances/o2/terminate", `{"reason": "cleanup hangs"}`)
	if s := f.want(200, "GET", "/instances/o2", "")["status"]; s != "terminated" {
		t.Errorf("status %v, want terminated", s)
	}
}
