package interp_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

type counter struct {
	N    int
	Log  []string
	Flag bool
}

func add(name string) *dsl.StepStmt {
	return dsl.Step(name, func(s *counter) error { s.N++; s.Log = append(s.Log, name); return nil })
}

func logStep(name, msg string) *dsl.StepStmt {
	return dsl.Step(name, func(s *counter) error { s.Log = append(s.Log, msg); return nil })
}

func TestStepsAndReturn(t *testing.T) {
	def := dsl.MustCompile[counter]("seq", dsl.S(add("a"), add("b"), dsl.ReturnWith(func(s *counter) int { return s.N })))
	i := start(t, def, nil)
	i.wantStatus(interp.StatusCompleted)
	if got := i.output(); got != uint64(2) {
		t.Fatalf("output = %v, want 2", got)
	}
	if len(i.meta.Threads) != 0 || i.meta.Due != 0 {
		t.Fatalf("finished instance keeps threads %v due %d", i.meta.Threads, i.meta.Due)
	}
	if err := i.resume(0); !errors.Is(err, interp.ErrFinished) {
		t.Fatalf("event after completion: %v, want ErrFinished", err)
	}
}

func TestFallOffEndCompletesWithNil(t *testing.T) {
	i := start(t, dsl.MustCompile[counter]("end", add("a")), nil)
	i.wantStatus(interp.StatusCompleted)
	if i.output() != nil {
		t.Fatalf("output = %v, want nil", i.output())
	}
}

func TestIfElseIfElse(t *testing.T) {
	def := dsl.MustCompile[counter]("if", dsl.S(
		dsl.If("pick", func(s *counter) bool { return s.N == 1 }, logStep("one", "one")).
			ElseIf("two", func(s *counter) bool { return s.N == 2 }, logStep("two", "two")).
			Else(logStep("other", "other")),
		dsl.If("no else", func(s *counter) bool { return false }, logStep("never", "never")),
	))
	for n, want := range map[int]string{1: "one", 2: "two", 3: "other"} {
		i := start(t, def, counter{N: n})
		if got := decodeState[counter](i).Log; !cmp.Equal(got, []string{want}) {
			t.Errorf("N=%d: log %v, want [%s]", n, got, want)
		}
	}
}

func TestSwitch(t *testing.T) {
	def := dsl.MustCompile[counter]("switch", dsl.Switch("size",
		dsl.Case("small", func(s *counter) bool { return s.N < 10 }, logStep("s", "small")),
		dsl.Case("big", func(s *counter) bool { return s.N < 100 }, logStep("b", "big")),
		dsl.Default(logStep("h", "huge")),
	))
	for n, want := range map[int]string{1: "small", 50: "big", 500: "huge"} {
		i := start(t, def, counter{N: n})
		if got := decodeState[counter](i).Log; !cmp.Equal(got, []string{want}) {
			t.Errorf("N=%d: log %v, want [%s]", n, got, want)
		}
	}
}

// Nested loops with break and continue inside branches: the inner loop skips
// odd j, breaks at j == 3; the outer loop continues on i == 1, breaks at 3.
func TestNestedLoopsBreakContinue(t *testing.T) {
	type st struct {
		I, J int
		Log  []string
	}
	def := dsl.MustCompile[st]("loops", dsl.For("outer",
		dsl.Step("next i", func(s *st) error { s.I++; s.J = 0; return nil }),
		dsl.If("i is 1", func(s *st) bool { return s.I == 1 }, dsl.Continue()),
		dsl.If("i is 3", func(s *st) bool { return s.I == 3 }, dsl.Break()),
		dsl.While("inner", func(s *st) bool { return s.J < 10 },
			dsl.Step("next j", func(s *st) error { s.J++; return nil }),
			dsl.If("odd", func(s *st) bool { return s.J%2 == 1 }, dsl.Continue()).
				ElseIf("four", func(s *st) bool { return s.J == 4 }, dsl.Break()),
			dsl.Step("log", func(s *st) error { s.Log = append(s.Log, fmt.Sprint(s.I, s.J)); return nil }),
		),
		dsl.Step("after inner", func(s *st) error { s.Log = append(s.Log, fmt.Sprint("end", s.I)); return nil }),
	))
	i := start(t, def, nil)
	i.wantStatus(interp.StatusCompleted)
	want := []string{"2 2", "end2"}
	if got := decodeState[st](i).Log; !cmp.Equal(got, want) {
		t.Fatalf("log %v, want %v", got, want)
	}
}

// A Break inside an event body leaves the loop around the wait.
func TestBreakFromEventBody(t *testing.T) {
	def := dsl.MustCompile[counter]("cart", dsl.S(
		dsl.For("shop",
			dsl.Wait("input",
				dsl.On("add", dsl.Signal(func(s *counter, n int) (int, error) { s.N += n; return s.N, nil })),
				dsl.On("done", dsl.Signal(func(s *counter, _ struct{}) (bool, error) { return true, nil }), dsl.Break()),
			),
		),
		logStep("checkout", "checkout"),
	))
	i := start(t, def, nil)
	i.send("add", 2)
	i.send("add", 3)
	i.wantPositions("main@shop/input:waiting")
	i.send("done", struct{}{})
	i.wantStatus(interp.StatusCompleted)
	if s := decodeState[counter](i); s.N != 5 || !cmp.Equal(s.Log, []string{"checkout"}) {
		t.Fatalf("state %+v", s)
	}
}

func TestWaitTimerVersusEvent(t *testing.T) {
	def := dsl.MustCompile[counter]("approval", dsl.Wait("decision",
		dsl.On("timeout", dsl.After(10*time.Minute), dsl.Return("timed out")),
		dsl.On("answer", dsl.Signal(func(s *counter, ok bool) (string, error) {
			if !ok {
				return "", errors.New("only yes is accepted")
			}
			s.Flag = ok
			return "thanks", nil
		}), dsl.Return("answered")),
	))

	t.Run("timer", func(t *testing.T) {
		i := start(t, def, nil)
		if got, want := i.meta.DueTime(), t0.Add(10*time.Minute); !got.Equal(want) {
			t.Fatalf("due %v, want %v", got, want)
		}
		if err := i.resume(9 * time.Minute); !errors.Is(err, interp.ErrNotDue) {
			t.Fatalf("early resume: %v", err)
		}
		p := i.callback("main", "timeout")
		wantErr(t, i.apply(interp.Event{Kind: interp.Callback, Callback: p.Callback}), interp.ErrNotDue)
		if err := i.resume(time.Minute); err != nil {
			t.Fatal(err)
		}
		i.wantStatus(interp.StatusCompleted)
		if i.output() != "timed out" {
			t.Fatalf("output %v", i.output())
		}
	})
	t.Run("event with reply", func(t *testing.T) {
		i := start(t, def, nil)
		before := string(i.state)
		p := i.callback("main", "answer")
		no, _ := marshal(false)
		err := i.apply(interp.Event{Kind: interp.Callback, Callback: p.Callback, Payload: no})
		wantErr(t, err, interp.ErrRejected)
		if string(i.state) != before {
			t.Fatal("rejected event changed state")
		}
		reply := i.send("answer", true)
		if got := unmarshal[string](t, reply); got != "thanks" {
			t.Fatalf("reply %q", got)
		}
		i.wantStatus(interp.StatusCompleted)
		if i.output() != "answered" {
			t.Fatalf("output %v", i.output())
		}
		kinds := effectKinds(i.effects)
		if want := []interp.EffectKind{interp.Reply, interp.CancelTimer, interp.Completed}; !cmp.Equal(kinds, want) {
			t.Fatalf("effects %v, want %v", kinds, want)
		}
	})
	t.Run("bad payload", func(t *testing.T) {
		i := start(t, def, nil)
		p := i.callback("main", "answer")
		wantErr(t, i.apply(interp.Event{Kind: interp.Callback, Callback: p.Callback, Payload: []byte{0xff, 0x00}}), interp.ErrRejected)
	})
}

func TestAtTimer(t *testing.T) {
	type st struct{ Deadline time.Time }
	def := dsl.MustCompile[st]("at", dsl.Wait("until",
		dsl.On("deadline", dsl.At(func(s *st) time.Time { return s.Deadline }), dsl.Return("late"))))
	i := start(t, def, st{Deadline: t0.Add(time.Hour)})
	if !i.meta.DueTime().Equal(t0.Add(time.Hour)) {
		t.Fatalf("due %v", i.meta.DueTime())
	}
	i.fire("deadline")
	i.wantStatus(interp.StatusCompleted)
}

// Two threads wait on different events at once; main joins them.
func TestThreadsWaitConcurrentlyAndJoin(t *testing.T) {
	sig := func(name string) dsl.Trigger {
		return dsl.Signal(func(s *counter, _ int) (int, error) { s.Log = append(s.Log, name); return 0, nil })
	}
	def := dsl.MustCompile[counter]("threads", dsl.S(
		dsl.Go("left", dsl.Wait("l", dsl.On("ping", sig("ping")))),
		dsl.Go("right", dsl.Wait("r", dsl.On("pong", sig("pong"))), logStep("right done", "right done")),
		logStep("started", "started"),
		dsl.Join("both", "left", "right"),
		logStep("joined", "joined"),
	))
	i := start(t, def, nil)
	i.wantPositions("left@left/l:waiting", "main@both:waiting", "right@right/r:waiting")
	i.send("pong", 1)
	i.wantPositions("left@left/l:waiting", "main@both:waiting")
	i.send("ping", 1)
	i.wantStatus(interp.StatusCompleted)
	want := []string{"started", "pong", "right done", "ping", "joined"}
	if got := decodeState[counter](i).Log; !cmp.Equal(got, want) {
		t.Fatalf("log %v, want %v", got, want)
	}
}

// Threads started in a loop get dynamic IDs; WaitFor sees another thread's change.
func TestGoEachAndWaitFor(t *testing.T) {
	type st struct {
		Items []string
		I     int
		Done  int
	}
	def := dsl.MustCompile[st]("fanout", dsl.S(
		dsl.While("spawn", func(s *st) bool { return s.I < len(s.Items) },
			dsl.GoEach("worker", func(s *st) string { return s.Items[s.I] },
				dsl.Wait("job", dsl.On("finish", dsl.Signal(func(s *st, _ int) (int, error) { s.Done++; return s.Done, nil })))),
			dsl.Step("inc", func(s *st) error { s.I++; return nil }),
		),
		dsl.Go("watch", dsl.WaitFor("two done", func(s *st) bool { return s.Done >= 2 }), dsl.Step("saw", func(s *st) error { s.Items = append(s.Items, "saw"); return nil })),
		dsl.Join("all", "worker", "watch"),
	))
	i := start(t, def, st{Items: []string{"a", "b"}})
	i.wantPositions("main@all:waiting", "watch@watch/two done:waiting", "worker[a]@spawn/worker/job:waiting", "worker[b]@spawn/worker/job:waiting")
	p := i.callback("worker[b]", "finish")
	one, _ := marshal(1)
	i.mustApply(interp.Event{Kind: interp.Callback, Callback: p.Callback, Payload: one})
	i.wantPositions("main@all:waiting", "watch@watch/two done:waiting", "worker[a]@spawn/worker/job:waiting")
	i.send("finish", 1)
	i.wantStatus(interp.StatusCompleted)
	if s := decodeState[st](i); !cmp.Equal(s.Items, []string{"a", "b", "saw"}) {
		t.Fatalf("state %+v", s)
	}
}

func TestGoSameIDTwiceFails(t *testing.T) {
	def := dsl.MustCompile[counter]("twice", dsl.For("loop",
		dsl.Go("w", dsl.WaitFor("never", func(s *counter) bool { return false })),
	))
	i := start(t, def, nil)
	i.wantStatus(interp.StatusFailed)
	if i.meta.Failure.Path != "loop/w" {
		t.Fatalf("failure %+v", i.meta.Failure)
	}
}

func TestStepRetryThenSuccess(t *testing.T) {
	def := dsl.MustCompile[counter]("retry", dsl.S(
		dsl.Step("flaky", func(s *counter) error {
			s.N++ // lost with each failed attempt: only the successful run commits
			if s.Flag {
				return nil
			}
			return errors.New("not yet")
		}).Retry(dsl.RetryPolicy{MaxAttempts: 3, Initial: time.Second}),
		dsl.Return("ok"),
	))
	i := start(t, def, nil)
	i.wantPositions("main@flaky:retry")
	if !i.meta.DueTime().Equal(t0.Add(time.Second)) {
		t.Fatalf("due %v", i.meta.DueTime())
	}
	wantErr(t, i.resume(500*time.Millisecond), interp.ErrNotDue)
	if err := i.resume(500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	i.wantPositions("main@flaky:retry")
	if !i.meta.DueTime().Equal(i.now.Add(2 * time.Second)) { // backoff doubles
		t.Fatalf("due %v", i.meta.DueTime())
	}
	// Flip the flag as a host would never do, to let the third attempt pass.
	s := decodeState[counter](i)
	s.Flag = true
	i.state, _ = marshal(s)
	if err := i.resume(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	i.wantStatus(interp.StatusCompleted)
	if got := decodeState[counter](i).N; got != 1 {
		t.Fatalf("N = %d, want 1: a failed attempt's changes leaked", got)
	}
}

func TestStepOutOfAttemptsFails(t *testing.T) {
	def := dsl.MustCompile[counter]("fail", dsl.Section("work",
		dsl.Step("boom", func(s *counter) error { return errors.New("boom") }).Retry(dsl.RetryPolicy{MaxAttempts: 2, Initial: time.Second}),
	))
	i := start(t, def, nil)
	if err := i.resume(time.Second); err != nil {
		t.Fatal(err)
	}
	i.wantStatus(interp.StatusFailed)
	want := &interp.Failure{Path: "work/boom", Thread: "main", Message: "step failed after 2 attempts: boom"}
	if diff := cmp.Diff(want, i.meta.Failure); diff != "" {
		t.Fatalf("failure (-want +got):\n%s", diff)
	}
	if k := effectKinds(i.effects); !cmp.Equal(k, []interp.EffectKind{interp.Failed}) {
		t.Fatalf("effects %v", k)
	}
}

func TestPanicsCarryPath(t *testing.T) {
	t.Run("step", func(t *testing.T) {
		def := dsl.MustCompile[counter]("p", dsl.Step("explode", func(s *counter) error { panic("kaboom") }).Retry(dsl.RetryPolicy{MaxAttempts: 1}))
		i := start(t, def, nil)
		i.wantStatus(interp.StatusFailed)
		if f := i.meta.Failure; f.Path != "explode" || f.Message != `step failed after 1 attempts: panic at "explode": kaboom` {
			t.Fatalf("failure %+v", f)
		}
	})
	t.Run("condition", func(t *testing.T) {
		def := dsl.MustCompile[counter]("p", dsl.If("bad", func(s *counter) bool { var m map[string]int; m["x"] = 1; return true }))
		i := start(t, def, nil)
		i.wantStatus(interp.StatusFailed)
		if f := i.meta.Failure; f.Path != "bad/then" {
			t.Fatalf("failure %+v", f)
		}
	})
	t.Run("handler", func(t *testing.T) {
		def := dsl.MustCompile[counter]("p", dsl.Wait("w", dsl.On("e", dsl.Signal(func(s *counter, _ int) (int, error) { panic("no") }))))
		i := start(t, def, nil)
		p := i.callback("main", "e")
		b, _ := marshal(1)
		err := i.apply(interp.Event{Kind: interp.Callback, Callback: p.Callback, Payload: b})
		wantErr(t, err, interp.ErrRejected)
		var pe *interp.PanicError
		if !errors.As(err, &pe) || pe.Path != "w/e" {
			t.Fatalf("err %v, want a PanicError at w/e", err)
		}
		i.wantStatus(interp.StatusRunning)
	})
}

func TestFail(t *testing.T) {
	def := dsl.MustCompile[counter]("f", dsl.If("check", func(s *counter) bool { return true }, dsl.Fail(errors.New("bad input"))))
	i := start(t, def, nil)
	i.wantStatus(interp.StatusFailed)
	if f := i.meta.Failure; f.Path != "check/then" || f.Message != "bad input" {
		t.Fatalf("failure %+v", f)
	}
}

type charge struct {
	Amount int
	Paid   string
}

func TestCallActivity(t *testing.T) {
	def := dsl.MustCompile[charge]("pay", dsl.S(
		dsl.Call("charge", func(ctx context.Context, s charge) (string, error) { return fmt.Sprint("receipt-", s.Amount), nil },
			func(s *charge, receipt string) { s.Paid = receipt }).
			Retry(dsl.RetryPolicy{MaxAttempts: 2, Initial: time.Second}).Timeout(5*time.Second),
		dsl.ReturnWith(func(s *charge) string { return s.Paid }),
	))
	t.Run("success", func(t *testing.T) {
		i := start(t, def, charge{Amount: 7})
		e := i.effects[0]
		if e.Kind != interp.RunActivity || e.Path != "charge" || e.Attempt != 1 || e.Timeout != 5*time.Second {
			t.Fatalf("effect %+v", e)
		}
		out, err := def.RunActivity(context.Background(), e.Path, e.Data)
		if err != nil {
			t.Fatal(err)
		}
		i.mustApply(interp.Event{Kind: interp.Callback, Callback: e.Callback, Payload: out})
		i.wantStatus(interp.StatusCompleted)
		if i.output() != "receipt-7" {
			t.Fatalf("output %v", i.output())
		}
	})
	t.Run("retry then success", func(t *testing.T) {
		i := start(t, def, charge{Amount: 7})
		i.complete("main", nil, "card declined")
		e := i.effects[0]
		if e.Kind != interp.RunActivity || e.Attempt != 2 || !e.At.Equal(t0.Add(time.Second)) {
			t.Fatalf("retry effect %+v", e)
		}
		i.complete("main", "r2", "")
		i.wantStatus(interp.StatusCompleted)
	})
	t.Run("exhausted", func(t *testing.T) {
		i := start(t, def, charge{Amount: 7})
		i.complete("main", nil, "card declined")
		i.complete("main", nil, "card declined again")
		i.wantStatus(interp.StatusFailed)
		if f := i.meta.Failure; f.Path != "charge" || f.Message != "activity failed after 2 attempts: card declined again" {
			t.Fatalf("failure %+v", f)
		}
	})
}

type approver struct{}

func (approver) Handle(s *counter, yes bool) (string, error) { s.Flag = yes; return "noted", nil }
func (approver) Setup(s *counter) any                        { return map[string]int{"n": s.N} }

func TestCustomSetupTeardown(t *testing.T) {
	def := dsl.MustCompile[counter]("setup", dsl.Wait("ask",
		dsl.On("manager", dsl.Custom[counter, bool, string]("approval-request", approver{})),
		dsl.On("expire", dsl.After(time.Hour)),
	))
	i := start(t, def, counter{N: 4})
	e := i.effects[0]
	if e.Kind != interp.Setup || e.Type != "approval-request" || e.Event != "manager" || e.Path != "ask" {
		t.Fatalf("setup effect %+v", e)
	}
	if got := unmarshal[map[string]int](t, e.Data); got["n"] != 4 {
		t.Fatalf("setup data %v", got)
	}
	i.fire("expire")
	var tear []interp.Effect
	for _, e := range i.effects {
		if e.Kind == interp.Teardown {
			tear = append(tear, e)
		}
	}
	if len(tear) != 1 || tear[0].Callback != e.Callback || tear[0].Type != "approval-request" {
		t.Fatalf("teardowns %+v for setup %+v", tear, e)
	}
}

func TestCancelRunsCleanup(t *testing.T) {
	def := dsl.MustCompile[counter]("cancel", dsl.S(
		dsl.Go("side", dsl.Wait("w", dsl.On("t", dsl.After(time.Hour)))),
		dsl.Wait("main wait", dsl.On("m", dsl.Custom[counter, bool, string]("req", approver{}))),
	), dsl.OnCancel(
		logStep("undo", "undo"),
		dsl.Wait("grace", dsl.On("over", dsl.After(time.Minute))),
		logStep("bye", "bye"),
	))
	i := start(t, def, nil)
	i.mustApply(interp.Event{Kind: interp.Cancel})
	i.wantStatus(interp.StatusCanceling)
	i.wantPositions("cancel@@cancel/grace:waiting")
	if k := effectKinds(i.effects); !cmp.Equal(k, []interp.EffectKind{interp.Teardown, interp.CancelTimer, interp.StartTimer}) {
		t.Fatalf("effects %v", k)
	}
	wantErr(t, i.apply(interp.Event{Kind: interp.Cancel}), interp.ErrBadEvent)
	i.fire("over")
	i.wantStatus(interp.StatusCanceled)
	if got := decodeState[counter](i).Log; !cmp.Equal(got, []string{"undo", "bye"}) {
		t.Fatalf("log %v", got)
	}
}

func TestCancelWithoutCleanup(t *testing.T) {
	i := start(t, dsl.MustCompile[counter]("c", dsl.Wait("w", dsl.On("t", dsl.After(time.Hour)))), nil)
	i.mustApply(interp.Event{Kind: interp.Cancel})
	i.wantStatus(interp.StatusCanceled)
	if k := effectKinds(i.effects); !cmp.Equal(k, []interp.EffectKind{interp.CancelTimer, interp.Canceled}) {
		t.Fatalf("effects %v", k)
	}
}

// A loop that never blocks yields with a resume effect instead of hanging.
func TestBudgetYields(t *testing.T) {
	def := dsl.MustCompile[counter]("spin", dsl.S(
		dsl.While("spin", func(s *counter) bool { return s.N < 25 }, add("inc")),
		dsl.Return("done"),
	), dsl.Budget(10))
	i := start(t, def, nil)
	i.wantStatus(interp.StatusRunning)
	if k := effectKinds(i.effects); !cmp.Equal(k, []interp.EffectKind{interp.ResumeAt}) {
		t.Fatalf("effects %v", k)
	}
	if !i.meta.DueTime().Equal(i.now) {
		t.Fatalf("due %v, want now", i.meta.DueTime())
	}
	for range 10 {
		if i.meta.Status != interp.StatusRunning {
			break
		}
		if err := i.resume(0); err != nil {
			t.Fatal(err)
		}
	}
	i.wantStatus(interp.StatusCompleted)
	if got := decodeState[counter](i).N; got != 25 {
		t.Fatalf("N = %d", got)
	}
}

func TestCallbacksRejectedUnchanged(t *testing.T) {
	def := dsl.MustCompile[counter]("cb", dsl.For("loop",
		dsl.Wait("w",
			dsl.On("a", dsl.Signal(func(s *counter, n int) (int, error) { s.N += n; return s.N, nil })),
			dsl.On("b", dsl.Signal(func(s *counter, n int) (int, error) { s.N -= n; return s.N, nil })),
		)))
	i := start(t, def, nil)
	a, b := i.callback("main", "a"), i.callback("main", "b")
	i.send("a", 1)
	one, _ := marshal(1)
	for _, c := range []struct {
		name string
		id   uint64
		want error
	}{
		{"duplicate", a.Callback, interp.ErrDuplicateCallback},
		{"stale", b.Callback, interp.ErrStaleCallback},
		{"unknown", 999, interp.ErrUnknownCallback},
		{"zero", 0, interp.ErrUnknownCallback},
	} {
		t.Run(c.name, func(t *testing.T) {
			state, seq := string(i.state), i.meta.Seq
			err := i.apply(interp.Event{Kind: interp.Callback, Callback: c.id, Payload: one})
			wantErr(t, err, c.want)
			var ce *interp.CallbackError
			if !errors.As(err, &ce) || ce.Callback != c.id {
				t.Fatalf("err %v is not a CallbackError for %d", err, c.id)
			}
			if string(i.state) != state || i.meta.Seq != seq {
				t.Fatal("rejected callback changed the instance")
			}
		})
	}
	if got := decodeState[counter](i).N; got != 1 {
		t.Fatalf("N = %d, want 1", got)
	}
}

func TestBadEvents(t *testing.T) {
	def := dsl.MustCompile[counter]("b", dsl.Wait("w", dsl.On("t", dsl.After(time.Hour))))
	i := start(t, def, nil)
	wantErr(t, i.apply(interp.Event{Kind: interp.Start, Instance: "again"}), interp.ErrBadEvent)
	wantErr(t, i.apply(interp.Event{Kind: 42}), interp.ErrBadEvent)
	_, err := interp.Apply(def, nil, interp.Meta{}, interp.Event{Kind: interp.Resume, Time: t0})
	wantErr(t, err, interp.ErrBadEvent)
	_, err = interp.Apply(def, []byte{0xff}, i.meta, interp.Event{Kind: interp.Resume, Time: t0.Add(time.Hour)})
	wantErr(t, err, interp.ErrCorrupt)
}

func effectKinds(es []interp.Effect) []interp.EffectKind {
	var out []interp.EffectKind
	for _, e := range es {
		out = append(out, e.Kind)
	}
	return out
}

func TestAtTimerOutOfRangeFails(t *testing.T) {
	type st struct{ Deadline time.Time }
	def := dsl.MustCompile[st]("at", dsl.Wait("until",
		dsl.On("deadline", dsl.At(func(s *st) time.Time { return s.Deadline }))))
	for _, d := range []time.Time{{}, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)} {
		i := start(t, def, st{Deadline: d})
		i.wantStatus(interp.StatusFailed)
		if i.meta.Failure.Path != "until/deadline" {
			t.Fatalf("failure %+v", i.meta.Failure)
		}
	}
}

// A thread that spins without blocking does not starve its siblings: after
// a budget yield, the next Resume runs the other threads first.
func TestSpinningThreadDoesNotStarveOthers(t *testing.T) {
	def := dsl.MustCompile[counter]("fair", dsl.S(
		dsl.Go("a spinner", dsl.For("spin", add("inc"))),
		dsl.Go("b worker", logStep("work", "worked")),
		dsl.Join("both", "b worker"),
		dsl.Return("done"),
	), dsl.Budget(5))
	i := start(t, def, nil)
	for range 5 {
		if i.meta.Status != interp.StatusRunning {
			break
		}
		if err := i.resume(0); err != nil {
			t.Fatal(err)
		}
	}
	i.wantStatus(interp.StatusCompleted)
	if got := decodeState[counter](i).Log; !slicesContains(got, "worked") {
		t.Fatalf("the worker never ran: %v", got)
	}
}

func slicesContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
