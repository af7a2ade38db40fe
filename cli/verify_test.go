package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/weftflow/weft/cli"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/storage/bolt"
)

// newStore writes a bbolt store holding n instances of each definition,
// started with input(i), and returns its path.
func newStore(t testing.TB, counts map[*dsl.Definition]int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.db")
	st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := newEngine(t, st)
	ctx := context.Background()
	for def, n := range counts {
		if err := e.Register(def); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			var input any
			switch def.Name() {
			case "approval":
				input = approval.Request{ID: fmt.Sprint(i), User: "ada", Amount: 10 + i}
			case "pizza":
				input = pizza.Order{Customer: fmt.Sprint("c", i)}
			}
			if err := e.Start(ctx, def, fmt.Sprintf("%s-%05d", def.Name(), i), input); err != nil {
				t.Fatal(err)
			}
		}
	}
	return path
}

// tool is a program that knows approval only: pizza is unknown to it.
func tool(defs ...*dsl.Definition) (*cli.Program, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	if defs == nil {
		defs = []*dsl.Definition{approval.Workflow}
	}
	return &cli.Program{Name: "orders", Version: "1", Definitions: defs, Stdout: &out, Stderr: &errb}, &out, &errb
}

func runTool(p *cli.Program, args ...string) int {
	return p.Main(context.Background(), args)
}

func TestVerifyUnknownWorkflows(t *testing.T) {
	mixed := newStore(t, map[*dsl.Definition]int{approval.Workflow: 3, pizza.Workflow: 2})
	onlyUnknown := newStore(t, map[*dsl.Definition]int{pizza.Workflow: 4})
	empty := newStore(t, nil)
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"unknown instances fail the run", []string{"verify", "--db", mixed}, 1,
			[]string{
				"approval v1: 3 instances, 3 ok, 0 broken\n",
				"UNKNOWN pizza: 2 instances of a workflow this program does not know; not checked\n",
				"verified 3 instances of 1 workflow: 3 ok, 0 broken; 2 instances of 1 unknown workflow not checked\n",
			},
			[]string{"orders verify: 2 instances of workflows this program does not know (pizza: 2); pass --allow-unknown=pizza if they are expected\n"}},
		{"allowed by name", []string{"verify", "--db", mixed, "--allow-unknown=pizza"}, 0,
			[]string{"skipped pizza: 2 instances of a workflow this program does not know (expected: --allow-unknown)\n"}, nil},
		{"allowed, all", []string{"verify", "--allow-unknown", "--db", mixed}, 0,
			[]string{"skipped pizza: 2 instances"}, nil},
		{"allowing another workflow does not allow this one", []string{"verify", "--db", mixed, "--allow-unknown=legacy,other"}, 1,
			[]string{"UNKNOWN pizza: 2 instances"}, []string{"pass --allow-unknown=legacy,other,pizza if"}},
		{"nothing matched", []string{"verify", "--db", onlyUnknown}, 1,
			[]string{"approval v1: 0 instances, 0 ok, 0 broken\n", "UNKNOWN pizza: 4 instances",
				"nothing verified: none of the store's 4 instances belongs to a workflow this program knows\n"},
			[]string{"4 instances of workflows this program does not know (pizza: 4)"}},
		{"nothing matched, allowed", []string{"verify", "--db", onlyUnknown, "--allow-unknown"}, 0,
			[]string{"nothing verified: none of the store's 4 instances belongs to a workflow this program knows\n"}, nil},
		{"empty store", []string{"verify", "--db", empty}, 0,
			[]string{"approval v1: 0 instances", "the store holds no instances: nothing verified\n"}, nil},
		{"JSON", []string{"verify", "--db", mixed, "--json"}, 1,
			[]string{`{"unknown":{"allowed":false,"instances":2,"workflow":"pizza"}}` + "\n",
				`{"summary":{"broken":0,"instances":3,"ok":3,"unknown":2}}` + "\n"},
			[]string{"2 instances of workflows this program does not know"}},
		{"JSON, allowed", []string{"verify", "--json", "--db", mixed, "--allow-unknown=pizza"}, 0,
			[]string{`{"unknown":{"allowed":true,"instances":2,"workflow":"pizza"}}`}, nil},
		{"a known workflow is not unknown", []string{"verify", "--db", mixed, "--allow-unknown=approval"}, 2,
			nil, []string{`--allow-unknown: this program has a definition of workflow "approval"`, "Usage: orders verify"}},
		{"a list needs '='", []string{"verify", "--db", mixed, "--allow-unknown", "pizza"}, 2,
			nil, []string{`unexpected argument "pizza" (name the expected workflows with '=': --allow-unknown=pizza)`}},
		{"an empty name", []string{"verify", "--db", mixed, "--allow-unknown=pizza,"}, 2,
			nil, []string{"an empty workflow name"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, out, errb := tool()
			code := runTool(p, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errb)
			}
			for _, w := range c.stdout {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range c.stderr {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb)
				}
			}
			if c.stderr == nil && errb.Len() > 0 {
				t.Errorf("stderr not empty:\n%s", errb)
			}
		})
	}
}

// Broken instances and unknown ones are both reported, in one error.
func TestVerifyBrokenAndUnknown(t *testing.T) {
	path := newStore(t, map[*dsl.Definition]int{pizza.Workflow: 2, approval.Workflow: 1})
	p, out, errb := tool(pizza.Workflow)
	p.Upgrades = append(p.Upgrades, pizza.WorkflowV2NoMigration())
	if code := runTool(p, "verify", "--db", path); code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errb)
	}
	for _, w := range []string{"BROKEN pizza-00000", "pizza v2: 2 instances, 0 ok, 2 broken", "UNKNOWN approval: 1 instance"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	want := "orders verify: 2 of 2 instances would break\n1 instance of workflows this program does not know (approval: 1); pass --allow-unknown=approval if they are expected\n"
	if errb.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errb, want)
	}
}

// More instances than one page of the store's listing are all counted.
func TestVerifyCountsEveryPage(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 2,600 instances")
	}
	path := newStore(t, map[*dsl.Definition]int{approval.Workflow: 1100, pizza.Workflow: 1500})
	p, out, errb := tool()
	if code := runTool(p, "verify", "--db", path); code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errb)
	}
	for _, w := range []string{"approval v1: 1100 instances, 1100 ok, 0 broken", "UNKNOWN pizza: 1500 instances"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
}

func TestVerifyNegativeCounts(t *testing.T) {
	path := newStore(t, nil)
	for _, args := range [][]string{
		{"verify", "--db", path, "--schedules", "-1"},
		{"verify", "--schedules=-5", "--db", path},
		{"verify", "--db", path, "--seed", "-1"},
	} {
		p, out, errb := tool()
		if code := runTool(p, args...); code != 2 || !strings.Contains(errb.String(), "invalid value") ||
			!strings.Contains(errb.String(), "Usage: orders verify") || out.Len() != 0 {
			t.Errorf("%q: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errb)
		}
	}
	p, _, errb := tool()
	runTool(p, "verify", "--db", path, "--schedules", "-3")
	if !strings.Contains(errb.String(), "a count cannot be negative (got -3)") {
		t.Errorf("stderr: %s", errb)
	}
}

// progressLine is one redraw of verify's progress line.
var progressLine = regexp.MustCompile(`\rverified (\d+)/(\d+) instances, (\d+) failing *`)

func TestVerifyProgressOnATerminal(t *testing.T) {
	path := newStore(t, map[*dsl.Definition]int{pizza.Workflow: 3, approval.Workflow: 2})
	p, out, errb := tool(pizza.Workflow, approval.Workflow)
	p.Upgrades = []*dsl.Definition{pizza.WorkflowV2NoMigration()}
	p.Terminal = func(w io.Writer) bool { return w == p.Stderr }
	if code := runTool(p, "verify", "--db", path, "--schedules", "1"); code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errb)
	}
	s := errb.String()
	draws := progressLine.FindAllStringSubmatch(s, -1)
	if len(draws) < 2 {
		t.Fatalf("want at least the first and the last progress line, got %q", s)
	}
	if first := draws[0]; first[1] != "1" || first[2] != "5" || first[3] != "0" {
		t.Errorf("first progress line %q, want 1/5 instances, 0 failing (approval comes first)", first[0])
	}
	if last := draws[len(draws)-1]; last[1] != "5" || last[2] != "5" || last[3] != "3" {
		t.Errorf("last progress line %q, want 5/5 instances, 3 failing", last[0])
	}
	// The line is blanked at the end, before the error is printed.
	tail := s[strings.LastIndex(s, "failing"):]
	if !regexp.MustCompile(`^failing *\r *\rorders verify: 3 of 5 instances would break\n$`).MatchString(tail) {
		t.Errorf("stderr does not end with a blanked line then the error: %q", tail)
	}
	if strings.Contains(out.String(), "\r") {
		t.Errorf("progress leaked into stdout: %q", out)
	}
}

func TestVerifyNoProgressWhenPiped(t *testing.T) {
	path := newStore(t, map[*dsl.Definition]int{approval.Workflow: 2})
	for _, terminal := range []func(io.Writer) bool{nil, func(io.Writer) bool { return false }} {
		p, out, errb := tool()
		p.Terminal = terminal // nil: the default, IsTerminal, on a buffer
		if code := runTool(p, "verify", "--db", path, "--schedules", "1"); code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errb)
		}
		if errb.Len() != 0 || strings.Contains(out.String(), "\r") {
			t.Errorf("progress drawn though not on a terminal: stdout %q stderr %q", out, errb)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, c := range []struct {
		name string
		w    io.Writer
		want bool
	}{
		{"a file", f, false},
		{"a pipe", w, false},
		{"a buffer", &bytes.Buffer{}, false},
		{"a character device (" + os.DevNull + ")", null, true},
	} {
		if got := cli.IsTerminal(c.w); got != c.want {
			t.Errorf("IsTerminal(%s) = %v, want %v", c.name, got, c.want)
		}
	}
}
