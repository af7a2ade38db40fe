package cli_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/errmsg"
	"github.com/weftflow/weft/storage/bolt"
)

// The errors the tool prints say each piece of context once, as the
// engine's do (see internal/errmsg): the tool adds its name and the
// command, and nothing the engine's message says already.
func TestPrintedErrorsSayContextOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(tabWF); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, tabWF, "tab-17", tab{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Terminate(ctx, "tab-17", "closed"); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, tabWF, "tab-18", tab{}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		ctx  errmsg.Context
		want string // in the message
	}{
		{[]string{"terminate", "tab-17", "--reason", "again"}, errmsg.Context{Instance: "tab-17", Workflow: "tab"}, `is terminated ("closed")`},
		{[]string{"terminate", "tab-404", "--reason", "x"}, errmsg.Context{Instance: "tab-404"}, "not found"},
		{[]string{"query", "tab-18", "weight"}, errmsg.Context{Instance: "tab-18", Workflow: "tab"}, "no such query"},
		{[]string{"query", "tab-404", "total"}, errmsg.Context{Instance: "tab-404"}, "not found"},
	} {
		p, out, errb := tool(tabWF)
		if code := runTool(p, append(c.args, "--db", path)...); code != 1 {
			t.Fatalf("%q: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", c.args, code, out, errb)
		}
		msg := strings.TrimSpace(errb.String())
		if !strings.Contains(msg, c.want) || strings.Count(msg, "\n") > 0 {
			t.Errorf("%q printed %q, want one line with %q", c.args, msg, c.want)
		}
		for _, r := range errmsg.Repeats(msg, c.ctx) {
			t.Errorf("%q: %s in %q", c.args, r, msg)
		}
		t.Log(msg)
	}
}
