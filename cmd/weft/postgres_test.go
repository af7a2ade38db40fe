package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftflow/weft/internal/pgtest"
)

// The demo, then every command, on a PostgreSQL schema (skipped without a
// server, failed under CI=true); the bbolt run of the same demo must give
// the same reports.
func TestDemoOnPostgres(t *testing.T) {
	schema := pgtest.Schema(t, "cli_test_demo_")
	pg := []string{"--postgres", pgtest.DSN(), "--schema", schema}
	db := []string{"--db", filepath.Join(t.TempDir(), "demo.db")}
	with := func(args []string, store []string) []string { return append(append([]string(nil), args...), store...) }

	code, out, errs := run(t, with([]string{"demo"}, pg)...)
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errs)
	}
	if !strings.HasPrefix(out, "weft demo: workflows approval and pizza on postgres ") ||
		!strings.Contains(out, " schema "+schema+", simulated clock\n") ||
		!strings.Contains(out, "order-1  pizza     completed  transitions: 8   delivered 2 items to dan, receipt rcpt-dan-2400") {
		t.Errorf("demo on postgres:\n%s", out)
	}
	if code, _, errs := run(t, with([]string{"demo"}, db)...); code != 0 {
		t.Fatalf("demo on bbolt: %s", errs)
	}
	// The demo refuses a store that holds instances: its IDs are fixed.
	code, _, errs = run(t, with([]string{"demo"}, pg)...)
	if code != 1 || !strings.Contains(errs, `already holds instances ("order-1", ...): run the demo on a new store`) {
		t.Errorf("second demo on one schema: exit %d, %s", code, errs)
	}

	for _, args := range [][]string{
		{"inspect"},
		{"inspect", "order-4"},
		{"inspect", "--json"},
		{"inspect", "--dead"},
		{"verify", "--schedules", "2"},
		{"verify", "--json"},
		{"plan", "order-4", "cooked", "--at", "2026-11-25T12:00:00Z"},
		{"plan", "order-4", "cooked", "--json", "--at", "2026-11-25T12:00:00Z"},
		{"requeue", "--all"},
	} {
		pcode, pout, perrs := run(t, with(args, pg)...)
		bcode, bout, berrs := run(t, with(args, db)...)
		if pcode != 0 || pcode != bcode || pout != bout {
			t.Errorf("%q: postgres exit %d, bbolt exit %d\n--- postgres\n%s%s\n--- bbolt\n%s%s", args, pcode, bcode, pout, perrs, bout, berrs)
		}
	}
	_, out, _ = run(t, with([]string{"inspect"}, pg)...)
	if !strings.Contains(out, "order-4  pizza     running    main@kitchen (waiting)") || !strings.HasSuffix(out, "\nno dead letters\n") {
		t.Errorf("inspect on postgres:\n%s", out)
	}
	_, out, _ = run(t, with([]string{"requeue", "--all"}, pg)...)
	if out != "requeued 0 dead letters\n" {
		t.Errorf("requeue --all: %q", out)
	}
}
