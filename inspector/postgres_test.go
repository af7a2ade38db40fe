package inspector_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/inspector"
	"github.com/weftflow/weft/internal/enginetest"
	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/storage/postgres"
)

// TestPostgres: the inspector of one process reads a PostgreSQL store
// that another process's engine writes, ID prefixes with non-ASCII
// characters included, and its actions reach the instances.
func TestPostgres(t *testing.T) {
	schema := pgtest.Schema(t, "inspector_")
	ctx := context.Background()
	open := func() *postgres.Store {
		st, err := postgres.Open(ctx, pgtest.DSN(), postgres.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	writer := enginetest.New(t, open())
	if err := writer.Register(pizza.Workflow, approval.Workflow); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		id := fmt.Sprintf("ordér-%02d", i)
		if i%2 == 0 {
			id = fmt.Sprintf("order-%02d", i)
		}
		if err := writer.Start(ctx, pizza.Workflow, id, pizza.Order{Customer: id}); err != nil {
			t.Fatal(err)
		}
		if err := writer.Send(ctx, id, "add", pizza.Add{Item: "margherita"}, nil); err != nil {
			t.Fatal(err)
		}
	}

	reader := enginetest.New(t, open())
	if err := reader.Register(pizza.Workflow, approval.Workflow); err != nil {
		t.Fatal(err)
	}
	h, err := inspector.New(reader, inspector.WithActions(allowAll), inspector.WithUpgrades(pizza.WorkflowV2))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/inspect/", http.StripPrefix("/inspect", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	code, body := get(t, srv, "")
	wantStatus(t, "overview", code, 200, body)
	wantContains(t, "overview", body, "12 instances, counted at")

	ids := regexp.MustCompile(`href="instance\?id=([^"]+)"`)
	code, body = get(t, srv, "instances?prefix=ord%C3%A9")
	wantStatus(t, "prefix", code, 200, body)
	if got := ids.FindAllStringSubmatch(body, -1); len(got) != 6 {
		t.Errorf("prefix ordé: %d instances, want 6", len(got))
	}
	for _, p := range []string{"instance?id=ord%C3%A9r-01", "diagram?workflow=pizza&highlight=order-02", "upgrade?workflow=pizza&id=order-02&event=submit"} {
		code, body := get(t, srv, p)
		wantStatus(t, p, code, 200, body)
	}

	_, body = get(t, srv, "instance?id=order-02")
	resp, body := post(t, srv, "send", formOf(tokenOf(t, body, "send"), "order-02", "add", `{"Item":"funghi"}`), nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("send: %d; %s", resp.StatusCode, cut(body))
	}
	_, body = get(t, srv, "instance?id=order-02")
	if !strings.Contains(body, "&#34;funghi&#34;") {
		t.Errorf("the state after send does not show the new item:\n%s", cut(body))
	}
}
