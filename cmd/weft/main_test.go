package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/storage/bolt"
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
		{[]string{"help", "inspect"}, 0, "Usage: weft inspect --db FILE|--postgres DSN [--dead] [--json] [--workflow W] [--status S] [--by-due] [--counts] [ID] [--history]", ""},
		{[]string{"help", "requeue"}, 0, "Usage: weft requeue --db FILE|--postgres DSN (EFFECT-ID... | --all)", ""},
		{[]string{"help", "demo"}, 0, "Usage: weft demo [--db FILE | --postgres DSN [--schema NAME]]", ""},
		{nil, 2, "", "Usage: weft COMMAND"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"inspect"}, 2, "", "--db FILE or --postgres DSN is required"},
		{[]string{"requeue", "--all"}, 2, "", "--db FILE or --postgres DSN is required"},
		{[]string{"demo", "--db", filepath.Join(dir, "d.db"), "--postgres", "postgres://h/d"}, 2, "", "--db and --postgres both name a store: give one"},
		{[]string{"demo", "--db", filepath.Join(dir, "d.db"), "--schema", "s"}, 2, "", "--schema names a PostgreSQL schema: it goes with --postgres"},
		{[]string{"demo", "--postgres", "postgres://u:sekret@127.0.0.1:1/d"}, 1, "", "weft demo: cannot reach postgres at u@127.0.0.1:1/d: "},
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
	for _, want := range []string{"approval v1: 5 instances, 5 ok, 0 broken", "pizza v2: 4 instances, 4 ok, 0 broken",
		"verified 9 instances of 2 workflows: 9 ok, 0 broken\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = run(t, "verify", "--db", db, "--json")
	if code != 0 || !strings.Contains(out, `{"summary":{"broken":0,"instances":9,"ok":9,"unknown":0}}`) {
		t.Fatalf("verify --json exit %d:\n%s%s", code, out, errs)
	}

	code, out, errs = run(t, "plan", "--db", db, "order-4", "cooked")
	if code != 0 {
		t.Fatalf("plan exit %d: %s", code, errs)
	}
	for _, want := range []string{"old: pizza v1", "new: pizza v2", "effects (-old +new):\n~ reply \"kitchen\" event cooked callback 11 true\n      .Path: \"kitchen\" -> \"oven\"\n",
		"+ .Items[0]: {\"Name\":\"quattro formaggi\",\"Qty\":1}\n", "+ .Stamped: false\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	code, _, errs = run(t, "plan", "--db", db, "order-4", "nonsense")
	if code != 1 || !strings.Contains(errs, `waits for no event "nonsense"`) {
		t.Fatalf("plan of a missing event: exit %d, %s", code, errs)
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, name := range []string{"demo", "inspect", "lint", "plan", "requeue", "verify"} {
		want := "Usage: weft " + name + " "
		for _, args := range [][]string{{"help", name}, {name, "--help"}, {name, "-h"}, {name, "-help"}, {"--help", name}} {
			code, out, errs := run(t, args...)
			if code != 0 || !strings.HasPrefix(out, want) || errs != "" {
				t.Errorf("weft %q: exit %d, stdout %q, stderr %q; want exit 0 and %q", args, code, out, errs, want)
			}
		}
	}
	// -h among other flags and arguments still asks for help.
	code, out, _ := run(t, "inspect", "ID", "--db", "x.db", "-h")
	if code != 0 || !strings.HasPrefix(out, "Usage: weft inspect") {
		t.Errorf("inspect ID --db x.db -h: exit %d, %q", code, out)
	}
	code, out, _ = run(t, "help", "help")
	if code != 0 || !strings.HasPrefix(out, "Usage: weft help [COMMAND]") {
		t.Errorf("help help: exit %d, %q", code, out)
	}
	for _, args := range [][]string{{"help", "nope"}, {"help", "inspect", "verify"}, {"nope", "--help"}} {
		code, out, errs := run(t, args...)
		if code != 2 || out != "" || !strings.Contains(errs, "Usage: weft COMMAND") {
			t.Errorf("weft %q: exit %d, stdout %q, stderr %q; want exit 2 and the command list on stderr", args, code, out, errs)
		}
	}
}

// Every command takes its flags before, between or after its arguments,
// and "--" ends them.
func TestFlagsAnywhere(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	if code, _, errs := run(t, "demo", "--db", db); code != 0 {
		t.Fatalf("demo: %s", errs)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"demo", "--db=" + filepath.Join(t.TempDir(), "d.db")}, 0, "Summary (9 instances"},
		{[]string{"demo", "--", "--db"}, 2, ""},
		{[]string{"inspect", "order-4", "--db", db}, 0, `"Customer": "gus"`},
		{[]string{"inspect", "--json", "order-4", "-db=" + db}, 0, `"Customer": "gus"`},
		{[]string{"inspect", "--db", db, "--", "order-4"}, 0, `"Customer": "gus"`},
		{[]string{"inspect", "--db", db, "--", "--json"}, 1, ""}, // an instance named "--json"
		{[]string{"verify", "--json", "--db", db, "--schedules", "1", "--all"}, 0, `{"summary":`},
		{[]string{"plan", "order-4", "cooked", "--db", db, "--at", "2026-11-25T12:00:00Z"}, 0, "old: pizza v1"},
		{[]string{"plan", "order-4", "--db", db, "cooked"}, 0, "old: pizza v1"},
		{[]string{"plan", "--db", db, "order-4", "--json", "cooked", "--", "{}"}, 0, `"definition": "pizza v2"`},
		{[]string{"lint", "pizza"}, 0, "pizza v2: warning: oven"},
		{[]string{"lint", "--", "pizza"}, 0, "pizza v2: warning: oven"},
		{[]string{"lint", "pizza", "--strict"}, 2, ""},
	} {
		code, out, errs := run(t, c.args...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("weft %q: exit %d, want %d; stdout lacks %q?\n%s%s", c.args, code, c.code, c.want, out, errs)
		}
	}
	_, _, errs := run(t, "inspect", "--db", db, "--", "--json")
	if !strings.Contains(errs, `"--json"`) {
		t.Errorf("inspect -- --json should look up an instance named --json: %s", errs)
	}
}

func TestNegativeCountsAreUsageErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	if code, _, errs := run(t, "demo", "--db", db); code != 0 {
		t.Fatalf("demo: %s", errs)
	}
	for _, args := range [][]string{
		{"verify", "--db", db, "--schedules", "-1"},
		{"verify", "--schedules=-100", "--db", db},
		{"verify", "--db", db, "--seed=-1"},
	} {
		code, out, errs := run(t, args...)
		if code != 2 || out != "" || !strings.Contains(errs, "invalid value") {
			t.Errorf("weft %q: exit %d\nstdout %q\nstderr %q", args, code, out, errs)
		}
	}
}

type legacyState struct{ Pokes int }

// legacy is a workflow the weft command has no definition of.
var legacy = dsl.MustCompile[legacyState]("legacy", dsl.S(
	dsl.Wait("idle", dsl.On("poke", dsl.Signal(func(s *legacyState, _ struct{}) (int, error) { s.Pokes++; return s.Pokes, nil }))),
))

// storeWithLegacy writes a store with two pizza orders and three legacy
// instances.
func storeWithLegacy(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "legacy.db")
	st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := newEngine(t, st)
	if err := e.Register(legacy, pizza.Workflow); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		if err := e.Start(ctx, legacy, fmt.Sprint("old-", i), legacyState{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		if err := e.Start(ctx, pizza.Workflow, fmt.Sprint("order-", i), pizza.Order{Customer: "ida"}); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestVerifyUnknownWorkflow(t *testing.T) {
	db := storeWithLegacy(t)
	code, out, errs := run(t, "verify", "--db", db)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"approval v1: 0 instances, 0 ok, 0 broken\n",
		"pizza v2: 2 instances, 2 ok, 0 broken\n",
		"UNKNOWN legacy: 3 instances of a workflow this program does not know; not checked\n",
		"verified 2 instances of 2 workflows: 2 ok, 0 broken; 3 instances of 1 unknown workflow not checked\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if want := "weft verify: 3 instances of workflows this program does not know (legacy: 3); pass --allow-unknown=legacy if they are expected\n"; errs != want {
		t.Errorf("stderr %q, want %q", errs, want)
	}
	for _, args := range [][]string{{"--allow-unknown"}, {"--allow-unknown=legacy"}, {"--allow-unknown=x", "--allow-unknown=legacy"}} {
		code, out, errs := run(t, append([]string{"verify", "--db", db}, args...)...)
		if code != 0 || !strings.Contains(out, "skipped legacy: 3 instances") {
			t.Errorf("verify %q: exit %d\n%s%s", args, code, out, errs)
		}
	}
}

func TestPlanOnAFinishedInstance(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	if code, _, errs := run(t, "demo", "--db", db); code != 0 {
		t.Fatalf("demo: %s", errs)
	}
	for id, how := range map[string]string{
		"order-1": `completed, output "delivered 2 items to dan, receipt rcpt-dan-2400"`,
		"order-2": `completed, output "abandoned"`,
		"req-3":   `completed, output "denied: timed out"`,
	} {
		code, out, errs := run(t, "plan", "--db", db, id, "cooked")
		want := fmt.Sprintf("weft plan: instance %q has finished (%s): it takes no more events, so there is nothing to plan\n", id, how)
		if code != 1 || out != "" || errs != want {
			t.Errorf("plan %s: exit %d, stdout %q\nstderr %q\nwant   %q", id, code, out, errs, want)
		}
	}
}

// TestMain lets the test binary run as the weft command, so tests can run
// it as a child process with real standard streams.
func TestMain(m *testing.M) {
	if os.Getenv("WEFT_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// weft runs the command as a child process, its output piped.
func weft(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "WEFT_TEST_RUN_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func TestBuiltCommand(t *testing.T) {
	db := storeWithLegacy(t)
	code, out, errs := weft(t, "verify", "--db", db, "--schedules", "2")
	if code != 1 || !strings.Contains(out, "UNKNOWN legacy: 3 instances") ||
		!strings.Contains(errs, "3 instances of workflows this program does not know (legacy: 3)") {
		t.Errorf("verify: exit %d\n%s%s", code, out, errs)
	}
	if strings.Contains(out+errs, "\r") {
		t.Errorf("progress line drawn into a pipe:\n%q\n%q", out, errs)
	}
	code, out, errs = weft(t, "verify", "--allow-unknown=legacy", "--db", db)
	if code != 0 || !strings.Contains(out, "verified 2 instances of 2 workflows: 2 ok, 0 broken; 3 instances of 1 unknown workflow not checked") {
		t.Errorf("verify --allow-unknown=legacy: exit %d\n%s%s", code, out, errs)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"help", "verify"}, 0},
		{[]string{"inspect", "order-0", "--db", db}, 0},
		{[]string{"verify", "--db", db, "--schedules", "-1"}, 2},
		{[]string{"help", "nope"}, 2},
		{[]string{"plan", "order-0", "nonsense", "--db", db}, 1},
	} {
		if code, out, errs := weft(t, c.args...); code != c.code {
			t.Errorf("weft %q: exit %d, want %d\n%s%s", c.args, code, c.code, out, errs)
		}
	}
}

// The read-only commands refuse a damaged copy of a store with an error
// (never a crash): one cut short, and one with a page zeroed.
func TestCommandsOnDamagedStore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.db")
	if code, _, errs := run(t, "demo", "--db", db); code != 0 {
		t.Fatalf("demo exit %d: %s", code, errs)
	}
	good, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	if len(good) < 6*page {
		t.Fatalf("the demo store is only %d bytes", len(good))
	}
	cut := filepath.Join(dir, "cut.db")
	zeroed := filepath.Join(dir, "zeroed.db")
	// Cut inside the last page in use: the high-water page count of the
	// newer meta page (bbolt's layout: pgid at byte 56, txid at byte 64).
	hwm := func(m int) (uint64, uint64) {
		return binary.LittleEndian.Uint64(good[m*page+56:]), binary.LittleEndian.Uint64(good[m*page+64:])
	}
	pages, tx0 := hwm(0)
	if p1, tx1 := hwm(1); tx1 > tx0 {
		pages = p1
	}
	if err := os.WriteFile(cut, good[:int(pages)*page-page/2], 0o600); err != nil {
		t.Fatal(err)
	}
	z := bytes.Clone(good)
	for p := 2; p*page < len(z); p++ { // every page past the two meta pages
		if z[p*page+10] != 0 { // a page with items: zero it
			clear(z[p*page : (p+1)*page])
			break
		}
	}
	if err := os.WriteFile(zeroed, z, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{cut, zeroed} {
		for _, args := range [][]string{
			{"inspect", "--db", f},
			{"inspect", "order-4", "--db", f},
			{"verify", "--db", f},
			{"plan", "order-4", "cooked", "--db", f},
		} {
			code, _, errs := run(t, args...)
			if code != 1 || !strings.Contains(errs, "corrupt") {
				t.Errorf("%q on %s: exit %d, stderr %q; want exit 1 naming the corruption", args, filepath.Base(f), code, errs)
			}
		}
	}
}
