package httpapi_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/httpapi"
	"github.com/weftflow/weft/storage/memory"
)

func Example() {
	reg, err := httpapi.NewRegistry(orderWF)
	if err != nil {
		panic(err)
	}
	eng, err := engine.New(memory.New())
	if err != nil {
		panic(err)
	}
	if err := eng.Register(reg.Definitions()...); err != nil {
		panic(err)
	}
	h, err := httpapi.New(eng, reg)
	if err != nil {
		panic(err)
	}
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/workflows/order/instances/o1", `{"Item":"tea"}`},
		{"POST", "/instances/o1/events/pay", `{"Amount":"ten"}`},
		{"POST", "/instances/o1/events/pay", `{"Amount":10}`},
		{"POST", "/instances/o2/events/pay", `{"Amount":10}`},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(r.method, r.path, strings.NewReader(r.body)))
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 201 {"id":"o1","workflow":"order"}
	// 422 {"error":{"code":"wrong_type","message":"the body does not fit httpapi_test.Payment: json: cannot unmarshal string into Go struct field Payment.Amount of type int"}}
	// 200 {"reply":{"Total":20}}
	// 404 {"error":{"code":"unknown_instance","message":"engine: storage: load \"o2\": instance not found"}}
}
