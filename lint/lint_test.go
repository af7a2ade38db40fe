package lint_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/examples/quickstart"
	"github.com/weftflow/weft/lint"
)

type S struct {
	N    int
	Done bool
}

// Small statements, so the tables read like the workflows they describe.
var (
	cond = func(s *S) bool { return s.Done }
	sig  = dsl.Signal(func(s *S, n int) (int, error) { s.N = n; return n, nil })
	step = func(name string) dsl.Stmt { return dsl.Step(name, func(*S) error { return nil }) }
	call = func(name string) dsl.Stmt {
		return dsl.Call(name, func(context.Context, S) (int, error) { return 1, nil }, nil)
	}
	timer = func(name string, body ...dsl.Stmt) dsl.OnClause { return dsl.On(name, dsl.After(time.Hour), body...) }
	event = func(name string, body ...dsl.Stmt) dsl.OnClause { return dsl.On(name, sig, body...) }
	fail  = dsl.Fail(errors.New("boom"))
)

// at is a finding's place and check, what the tables compare.
type at struct{ Path, Check string }

func TestChecks(t *testing.T) {
	tests := []struct {
		check string
		name  string
		body  dsl.Stmt
		opts  []dsl.Option
		want  []at
	}{
		// wait-without-timeout
		{"wait-without-timeout", "custom event only", dsl.Wait("w", event("go")),
			nil, []at{{"w", "wait-without-timeout"}}},
		{"wait-without-timeout", "After timer", dsl.Wait("w", event("go"), timer("t")), nil, nil},
		{"wait-without-timeout", "At timer", dsl.Wait("w", dsl.On("at", dsl.At(func(*S) time.Time { return time.Time{} }))), nil, nil},
		{"wait-without-timeout", "in a loop its event leaves", dsl.For("l", dsl.Wait("w", event("stop", dsl.Break()))),
			nil, []at{{"l/w", "wait-without-timeout"}}},
		{"wait-without-timeout", "nested in an event body and a thread", dsl.S(
			dsl.Wait("outer", timer("t", dsl.Wait("inner", event("x")))),
			dsl.Go("g", dsl.Wait("w", event("x"))), dsl.Join("j", "g")),
			nil, []at{{"g/w", "wait-without-timeout"}, {"outer/t/inner", "wait-without-timeout"}}},
		{"wait-without-timeout", "in the cleanup section", step("a"),
			[]dsl.Option{dsl.OnCancel(dsl.Wait("undo", event("done")))}, []at{{"@cancel/undo", "wait-without-timeout"}}},

		// unreachable
		{"unreachable", "after Return, once per body", dsl.S(step("a"), dsl.Return(1), step("b"), step("c")),
			nil, []at{{"b", "unreachable"}}},
		{"unreachable", "Return last", dsl.S(step("a"), dsl.Return(1)), nil, nil},
		{"unreachable", "unnamed after Return", dsl.S(dsl.Return(1), dsl.Return(2)),
			nil, []at{{"#2", "unreachable"}}},
		{"unreachable", "after Fail in an arm", dsl.If("x", cond, fail, dsl.Return(1)),
			nil, []at{{"x/then/#2", "unreachable"}}},
		{"unreachable", "after Break in a loop", dsl.For("l", dsl.Wait("w", timer("t")), dsl.Break(), step("never")),
			nil, []at{{"l/never", "unreachable"}}},
		{"unreachable", "after Continue", dsl.While("l", cond, dsl.Continue(), step("never")),
			nil, []at{{"l/never", "unreachable"}}},
		{"unreachable", "in a thread", dsl.S(dsl.Go("g", dsl.Return(1), step("x")), dsl.Join("j", "g")),
			nil, []at{{"g/x", "unreachable"}}},
		{"unreachable", "after an If whose arms all end", dsl.S(dsl.If("x", cond, dsl.Return(1)).Else(fail), step("after")),
			nil, []at{{"after", "unreachable"}}},
		{"unreachable", "after a Switch whose cases all end", dsl.S(
			dsl.Switch("x", dsl.Case("a", cond, dsl.Return(1)), dsl.Default(fail)), step("after")),
			nil, []at{{"after", "unreachable"}}},
		{"unreachable", "If without Else", dsl.S(dsl.If("x", cond, dsl.Return(1)), step("after")), nil, nil},
		{"unreachable", "If with an arm that falls through", dsl.S(dsl.If("x", cond, dsl.Return(1)).Else(step("e")), step("after")), nil, nil},
		{"unreachable", "after a Wait whose events all end", dsl.S(dsl.Wait("w", event("a", dsl.Return(1)), timer("t", fail)), step("after")),
			nil, []at{{"after", "unreachable"}}},
		{"unreachable", "Wait with an event that falls through", dsl.S(dsl.Wait("w", event("a", dsl.Return(1)), timer("t")), step("after")), nil, nil},
		{"unreachable", "after a section that returns", dsl.S(dsl.Section("s", step("x"), dsl.Return(1)), step("after")),
			nil, []at{{"after", "unreachable"}}},
		{"unreachable", "after a For with no Break", dsl.S(dsl.For("serve", dsl.Wait("req", event("r"), timer("t"))), step("after")),
			nil, []at{{"after", "unreachable"}}},
		{"unreachable", "after a For with a Break", dsl.S(dsl.For("serve", dsl.Wait("req", event("r", dsl.Break()), timer("t"))), step("after")), nil, nil},
		{"unreachable", "an inner loop's Break does not leave the outer", dsl.S(
			dsl.For("outer", dsl.For("inner", dsl.Break()), dsl.Wait("w", timer("t"))), step("after")),
			nil, []at{{"after", "unreachable"}}},
		{"unreachable", "a While ends by its condition", dsl.S(dsl.While("l", cond, dsl.Wait("w", timer("t"))), step("after")), nil, nil},

		// loop-without-blocking-point
		{"loop-without-blocking-point", "For spinning", dsl.For("spin", step("tick")),
			nil, []at{{"spin", "loop-without-blocking-point"}}},
		{"loop-without-blocking-point", "empty For", dsl.For("spin"),
			nil, []at{{"spin", "loop-without-blocking-point"}}},
		{"loop-without-blocking-point", "a While inside is no blocking point", dsl.For("outer", dsl.While("inner", cond, step("x"))),
			nil, []at{{"outer", "loop-without-blocking-point"}}},
		{"loop-without-blocking-point", "an inner loop's Break is no exit", dsl.For("outer", dsl.For("inner", dsl.Break())),
			nil, []at{{"outer", "loop-without-blocking-point"}}},
		{"loop-without-blocking-point", "a thread's wait is no blocking point", dsl.For("l", dsl.GoEach("g", func(*S) string { return "" }, dsl.Wait("w", timer("t")))),
			nil, []at{{"l", "loop-without-blocking-point"}}},
		{"loop-without-blocking-point", "in a thread", dsl.S(dsl.Go("g", dsl.For("spin", step("x"))), dsl.Join("j", "g")),
			nil, []at{{"g/spin", "loop-without-blocking-point"}}},
		{"loop-without-blocking-point", "in the cleanup section", step("a"), []dsl.Option{dsl.OnCancel(dsl.For("retry", step("x")))},
			[]at{{"@cancel/retry", "loop-without-blocking-point"}}},
		{"loop-without-blocking-point", "endless service loop on a Wait", dsl.For("serve", dsl.Wait("w", event("x"))), nil, nil},
		{"loop-without-blocking-point", "Call", dsl.For("poll", call("fetch")), nil, nil},
		{"loop-without-blocking-point", "WaitFor", dsl.S(dsl.Go("g", step("x")), dsl.For("l", dsl.WaitFor("ready", cond)), dsl.Join("j", "g")), nil, nil},
		{"loop-without-blocking-point", "Join", dsl.S(dsl.Go("g", step("x")), dsl.For("l", dsl.Join("j", "g"))), nil, nil},
		{"loop-without-blocking-point", "Break in a branch", dsl.For("l", step("x"), dsl.If("done", cond, dsl.Break())), nil, nil},
		{"loop-without-blocking-point", "Return", dsl.For("l", step("x"), dsl.If("done", cond, dsl.Return(1))), nil, nil},
		{"loop-without-blocking-point", "Fail", dsl.For("l", step("x"), dsl.If("done", cond, fail)), nil, nil},
		{"loop-without-blocking-point", "While", dsl.While("l", cond, step("x")), nil, nil},

		// thread-never-joined
		{"thread-never-joined", "Go alone", dsl.Go("bg", step("x")),
			nil, []at{{"bg", "thread-never-joined"}}},
		{"thread-never-joined", "joined", dsl.S(dsl.Go("bg", step("x")), dsl.Join("j", "bg")), nil, nil},
		{"thread-never-joined", "joined from anywhere", dsl.S(
			dsl.Go("a", step("x")), dsl.Go("b", dsl.Join("ja", "a")), dsl.If("x", cond, dsl.Join("jb", "b"))), nil, nil},
		{"thread-never-joined", "GoEach in a loop", dsl.For("l", dsl.Wait("w", timer("t")), dsl.GoEach("each", func(s *S) string { return "" }, step("x"))),
			nil, []at{{"l/each", "thread-never-joined"}}},
		{"thread-never-joined", "only one of two joined", dsl.S(dsl.Go("a", step("x")), dsl.Go("b", step("x")), dsl.Join("j", "b")),
			nil, []at{{"a", "thread-never-joined"}}},
		{"thread-never-joined", "in the cleanup section", step("a"), []dsl.Option{dsl.OnCancel(dsl.Go("undo", step("x")))},
			[]at{{"@cancel/undo", "thread-never-joined"}}},

		// waitfor-unchangeable
		{"waitfor-unchangeable", "alone", dsl.S(step("a"), dsl.WaitFor("ready", cond)),
			nil, []at{{"ready", "waitfor-unchangeable"}}},
		{"waitfor-unchangeable", "custom events cannot fire while it waits", dsl.S(dsl.Wait("w", event("x")), dsl.WaitFor("ready", cond)),
			nil, []at{{"ready", "waitfor-unchangeable"}}},
		{"waitfor-unchangeable", "another thread", dsl.S(dsl.Go("g", step("x")), dsl.WaitFor("ready", cond), dsl.Join("j", "g")), nil, nil},
		{"waitfor-unchangeable", "in a thread", dsl.S(dsl.Go("g", dsl.WaitFor("ready", cond)), dsl.Join("j", "g")), nil, nil},
		{"waitfor-unchangeable", "main's threads do not run beside the cleanup section",
			dsl.S(dsl.Go("g", step("x")), dsl.Join("j", "g")), []dsl.Option{dsl.OnCancel(dsl.WaitFor("ready", cond))},
			[]at{{"@cancel/ready", "waitfor-unchangeable"}}},
		{"waitfor-unchangeable", "the cleanup section's threads do not run beside main",
			dsl.WaitFor("ready", cond), []dsl.Option{dsl.OnCancel(dsl.Go("g", step("x")), dsl.Join("j", "g"))},
			[]at{{"ready", "waitfor-unchangeable"}}},
	}
	for _, tt := range tests {
		t.Run(tt.check+"/"+tt.name, func(t *testing.T) {
			def, err := dsl.Compile[S]("w", tt.body, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var got []at
			for _, f := range lint.Check(def) {
				if f.Message == "" {
					t.Errorf("%s at %q has no message", f.Check, f.Path)
				}
				if f.Check == tt.check {
					got = append(got, at{f.Path, f.Check})
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// The examples are what users copy; their findings are known and exact.
func TestExamples(t *testing.T) {
	tests := []struct {
		name string
		def  *dsl.Definition
		want []lint.Finding
	}{
		{"approval", approval.Workflow, []lint.Finding{{
			Check: "thread-never-joined", Path: "reminder", Severity: lint.Warning,
			Message: `thread "reminder" is never joined: when the workflow ends, it is stopped wherever it is; ` +
				`add a Join naming "reminder" where its work must be done, or disable the check if cutting it short is intended`,
		}}},
		{"pizza", pizza.Workflow, []lint.Finding{{
			Check: "wait-without-timeout", Path: "kitchen", Severity: lint.Warning,
			Message: `wait "kitchen" has no timer event (After or At): an instance waits here forever unless someone sends "cooked"; ` +
				`add an event with After or At that gives up, or disable the check if waiting forever is intended`,
		}}},
		{"quickstart", quickstart.Workflow, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, lint.Check(tt.def)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSortedByPathThenCheck(t *testing.T) {
	def := dsl.MustCompile[S]("w", dsl.S(
		dsl.Go("z", dsl.Wait("w", event("x"))),
		dsl.For("spin", step("x")),
		dsl.Return(1),
		dsl.WaitFor("a", cond),
	))
	var got []at
	for _, f := range lint.Check(def) {
		got = append(got, at{f.Path, f.Check})
	}
	want := []at{
		{"#3", "unreachable"},
		{"spin", "loop-without-blocking-point"},
		{"z", "thread-never-joined"},
		{"z/w", "wait-without-timeout"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestDisable(t *testing.T) {
	def := dsl.MustCompile[S]("w", dsl.S(dsl.Go("bg", step("x")), dsl.Wait("w", event("x"))))
	var got []string
	for _, f := range lint.Check(def, lint.Disable("thread-never-joined"), lint.Disable()) {
		got = append(got, f.Check)
	}
	if diff := cmp.Diff([]string{"wait-without-timeout"}, got); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	if f := lint.Check(def, lint.Disable("thread-never-joined", "wait-without-timeout")); f != nil {
		t.Errorf("all disabled: got %v", f)
	}
}

func TestDisableUnknownPanics(t *testing.T) {
	defer func() {
		r := recover()
		if s, _ := r.(string); !strings.Contains(s, `unknown check "wait-without-timout"`) {
			t.Errorf("recovered %v, want a panic naming the unknown check", r)
		}
	}()
	lint.Disable("wait-without-timout")
}

func TestChecksList(t *testing.T) {
	var got []string
	for _, c := range lint.Checks() {
		if c.Summary == "" || c.Severity.String() == "severity?" {
			t.Errorf("check %q: incomplete info %+v", c.Name, c)
		}
		got = append(got, c.Name+" "+c.Severity.String())
	}
	want := []string{
		"wait-without-timeout warning",
		"unreachable warning",
		"loop-without-blocking-point error",
		"thread-never-joined warning",
		"waitfor-unchangeable warning",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	// Every check is documented in the package doc and disableable.
	for _, c := range lint.Checks() {
		_ = lint.Disable(c.Name)
	}
}

func TestFindingString(t *testing.T) {
	tests := []struct {
		f    lint.Finding
		want string
	}{
		{lint.Finding{Check: "c", Path: "a/b", Message: "m"}, "a/b: m (c)"},
		{lint.Finding{Check: "c", Message: "m"}, "(main body): m (c)"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// The test every workflow package can carry.
func TestUsageInATest(t *testing.T) {
	if f := lint.Check(quickstart.Workflow); len(f) > 0 {
		t.Fatal(f)
	}
}
