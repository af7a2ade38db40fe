package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	p := program()
	p.Stdout, p.Stderr = &out, &errb
	code = p.Main(context.Background(), args)
	return code, out.String(), errb.String()
}

func TestDemoThenInspect(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	code, out, errs := run(t, "demo", "--db", db)
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"fay     sends submit to order-3: rejected (the cart is empty)",
		"order-1  pizza     completed  transitions: 8   delivered 2 items to dan, receipt rcpt-dan-2400",
		"req-3    approval  completed  transitions: 4   denied: timed out",
		"order-2  pizza     completed  transitions: 3   abandoned",
		"req-5    approval  running",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}

	code, out, errs = run(t, "inspect", "--db", db)
	if code != 0 {
		t.Fatalf("inspect exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "order-4  pizza     running    main@kitchen (waiting)") {
		t.Errorf("inspect table:\n%s", out)
	}

	code, out, errs = run(t, "inspect", "--db", db, "order-4")
	if code != 0 {
		t.Fatalf("inspect order-4 exit %d: %s", code, errs)
	}
	var v struct {
		Status string
		State  struct {
			Customer string
			Items    []string
			Receipt  string
		}
		Threads []struct{ ID, Path, Phase string }
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("inspect order-4 is not JSON: %v\n%s", err, out)
	}
	if v.Status != "running" || v.State.Customer != "gus" || v.State.Receipt != "rcpt-gus-1200" ||
		len(v.Threads) != 1 || v.Threads[0].Path != "kitchen" {
		t.Fatalf("inspect order-4: %+v", v)
	}

	code, out, _ = run(t, "inspect", "--json", "--db", db)
	if code != 0 || !strings.HasPrefix(out, "[") {
		t.Fatalf("inspect --json exit %d:\n%s", code, out)
	}
}

func TestErrorsAndHelp(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"--version"}, 0, "weft 0.1.0-dev", ""},
		{[]string{"help"}, 0, "demo", ""},
		{[]string{"lint"}, 0, `pizza v2: warning: oven: wait "oven" has no timer event`, ""},
		{[]string{"lint", "nope"}, 1, "", `no workflow named "nope"`},
		{[]string{"help", "inspect"}, 0, "Usage: weft inspect --db FILE [ID]", ""},
		{nil, 2, "", "Usage: weft COMMAND"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"inspect"}, 2, "", "--db is required"},
		{[]string{"inspect", "--db", filepath.Join(dir, "missing", "x.db")}, 1, "", "weft inspect:"},
		{[]string{"demo", "extra"}, 2, "", "unexpected arguments"},
	} {
		code, out, errs := run(t, c.args...)
		if code != c.code || !strings.Contains(out, c.stdout) || !strings.Contains(errs, c.stderr) {
			t.Errorf("weft %q: exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q",
				c.args, code, out, errs, c.code, c.stdout, c.stderr)
		}
	}
}

func TestVerifyAndPlanOnTheDemoStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	if code, _, errs := run(t, "demo", "--db", db); code != 0 {
		t.Fatalf("demo: %s", errs)
	}
	code, out, errs := run(t, "verify", "--db", db, "--schedules", "2")
	if code != 0 {
		t.Fatalf("verify exit %d: %s%s", code, out, errs)
	}
	for _, want := range []string{"approval v1: 5 instances, 5 ok, 0 broken", "pizza v2: 4 instances, 4 ok, 0 broken"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = run(t, "verify", "--db", db, "--json")
	if code != 0 || !strings.Contains(out, `{"summary":{"broken":0,"instances":9,"ok":9}}`) {
		t.Fatalf("verify --json exit %d:\n%s%s", code, out, errs)
	}

	code, out, errs = run(t, "plan", "--db", db, "order-4", "cooked")
	if code != 0 {
		t.Fatalf("plan exit %d: %s", code, errs)
	}
	for _, want := range []string{"old: pizza v1", "new: pizza v2", `"kitch"`, `"ov"`, `"Stamped"`, "effects (-old +new)"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	code, _, errs = run(t, "plan", "--db", db, "order-4", "nonsense")
	if code != 1 || !strings.Contains(errs, `waits for no event "nonsense"`) {
		t.Fatalf("plan of a missing event: exit %d, %s", code, errs)
	}
}
