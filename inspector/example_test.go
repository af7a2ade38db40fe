package inspector_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/inspector"
	"github.com/weftflow/weft/storage/memory"
)

// A service mounts the inspector next to its own routes. Here the actions
// are on, for the members of the "ops" group only.
func Example() {
	ctx := context.Background()
	e, err := engine.New(memory.New())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := e.Register(pizza.Workflow); err != nil {
		fmt.Println(err)
		return
	}
	if err := e.Start(ctx, pizza.Workflow, "order-1", pizza.Order{Customer: "ada"}); err != nil {
		fmt.Println(err)
		return
	}

	onlyOps := func(r *http.Request, action string) error {
		if r.Header.Get("X-Group") != "ops" { // set by the service's own authentication
			return errors.New("only ops may " + action)
		}
		return nil
	}
	h, err := inspector.New(e, inspector.WithActions(onlyOps), inspector.WithUpgrades(pizza.WorkflowV2))
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/inspect/", http.StripPrefix("/inspect", h))

	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/inspect/instance?id=order-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status)
	fmt.Println(strings.Contains(string(body), "<code>cart/shopping</code>"))
	// Output:
	// 200 OK
	// true
}
