package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
)

type Request struct {
	User    string
	Answer  string
	Cleaned bool
}

// manager is the custom event "answer" of type "ask-manager", with a setup.
type manager struct{}

func (manager) Handle(s *Request, answer string) (string, error) { s.Answer = answer; return "ok", nil }
func (manager) Setup(s *Request) any                             { return "please answer " + s.User }

var requestWF = dsl.MustCompile[Request]("request", dsl.S(
	dsl.Wait("ask",
		dsl.On("answer", dsl.Custom[Request, string, string]("ask-manager", manager{})),
		dsl.On("give up", dsl.After(time.Hour), dsl.Return("gave up")),
	),
	dsl.ReturnWith(func(s *Request) string { return s.Answer }),
), dsl.OnCancel(dsl.Step("cleanup", func(s *Request) error { s.Cleaned = true; return nil })))

var errSetup = errors.New("setup failure")

// recorder is a SetupHandler and finish hook that records its calls and
// fails the first failSetups setups.
type recorder struct {
	mu         sync.Mutex
	failSetups int
	calls      []string // "setup <id> <callback>", "teardown ...", "finish ..."
	infos      []engine.EffectInfo
	onSetup    func()
}

func (r *recorder) record(what string, info engine.EffectInfo) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%s %s %d", what, info.ID, info.Callback))
	r.infos = append(r.infos, info)
	n := 0
	for _, c := range r.calls {
		if c[:5] == what[:5] {
			n++
		}
	}
	return n
}

func (r *recorder) Setup(ctx context.Context, info engine.EffectInfo) error {
	if engine.EffectID(ctx) != info.ID {
		return errors.New("the context lacks the effect ID")
	}
	n := r.record("setup", info)
	if r.onSetup != nil {
		r.onSetup()
	}
	if n <= r.failSetups {
		return fmt.Errorf("%w %d", errSetup, n)
	}
	return nil
}

func (r *recorder) Teardown(_ context.Context, info engine.EffectInfo) error {
	r.record("teardown", info)
	return nil
}

func (r *recorder) finish(_ context.Context, info engine.EffectInfo) error {
	r.record("finish "+info.Kind.String(), info)
	return nil
}

func (r *recorder) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func wantLog(t *testing.T, r *recorder, want ...string) {
	t.Helper()
	got := r.log()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("calls:\n got %q\nwant %q", got, want)
	}
}

func TestSetupTeardownRetried(t *testing.T) {
	r := &recorder{failSetups: 2}
	v := newEnv(t, []*dsl.Definition{requestWF}, engine.WithFinish(r.finish))
	v.e.Handle("ask-manager", r)
	v.start(requestWF, "r", Request{User: "ada"})
	cb := pending(t, v.get("r"), "answer").Callback

	wantErr(t, v.e.Drain(v.ctx), errSetup)
	v.drain() // the retry is not due yet
	wantLog(t, r, "setup r/1/0 1")
	v.clock.Advance(time.Second)
	wantErr(t, v.e.Drain(v.ctx), errSetup)

	// The answer arrives while the setup is still failing: its teardown
	// must wait for the setup.
	var reply string
	if err := v.e.Send(v.ctx, "r", "answer", "yes", &reply); err != nil || reply != "ok" {
		t.Fatalf("send: %q, %v", reply, err)
	}
	v.drain()
	wantLog(t, r, "setup r/1/0 1", "setup r/1/0 1")
	v.clock.Advance(2 * time.Second)
	v.drain()
	wantLog(t, r, "setup r/1/0 1", "setup r/1/0 1", "setup r/1/0 1", "teardown r/2/1 1", "finish completed r/2/3 0")
	if cb != 1 {
		t.Fatalf("callback %d", cb)
	}
	var data string
	if err := r.infos[0].Decode(&data); err != nil || data != "please answer ada" {
		t.Fatalf("setup data %q, %v", data, err)
	}
	if i := r.infos[0]; i.Kind != interp.EffectSetup || i.Type != "ask-manager" || i.Event != "answer" || i.Path != "ask" || i.Thread != "main" || i.Workflow != "request" || i.Instance != "r" {
		t.Fatalf("setup info %+v", i)
	}
	var out string
	if err := r.infos[4].Decode(&out); err != nil || out != "yes" {
		t.Fatalf("finish data %q, %v", out, err)
	}

	v.clock.Advance(time.Hour)
	v.drain()
	if n := len(r.log()); n != 5 {
		t.Fatalf("effects performed again after success: %q", r.log())
	}
	if n := len(v.outbox()); n != 0 {
		t.Fatalf("%d effects left", n)
	}
}

func TestNoHandlerKeepsTheEffect(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{requestWF})
	v.start(requestWF, "r", Request{})
	wantErr(t, v.e.Drain(v.ctx), engine.ErrNoHandler)
	if n := len(v.outbox()); n != 1 {
		t.Fatalf("%d effects in the outbox, want the setup", n)
	}
	r := &recorder{}
	v.e.Handle("ask-manager", r)
	v.clock.Advance(time.Second)
	v.drain()
	wantLog(t, r, "setup r/1/0 1")
}

func TestCancelTearsDownAndCleansUp(t *testing.T) {
	r := &recorder{}
	v := newEnv(t, []*dsl.Definition{requestWF}, engine.WithFinish(r.finish))
	v.e.Handle("ask-manager", r)
	v.start(requestWF, "r", Request{User: "ada"})
	v.drain()
	if err := v.e.Cancel(v.ctx, "r"); err != nil {
		t.Fatal(err)
	}
	inst := v.wantStatus("r", interp.StatusCanceled)
	if inst.Meta.Due != (time.Time{}) || len(inst.Meta.Threads) != 0 {
		t.Fatalf("a canceled instance still waits: %+v", inst.Meta)
	}
	s, err := engine.Query[Request](v.ctx, v.e, "r")
	if err != nil || !s.Cleaned {
		t.Fatalf("cleanup did not run: %+v, %v", s, err)
	}
	v.drain()
	wantLog(t, r, "setup r/1/0 1", "teardown r/2/0 1", "finish canceled r/2/2 0")
	wantErr(t, v.e.Cancel(v.ctx, "r"), interp.ErrFinished)
	v.clock.Advance(2 * time.Hour) // the timer is gone with the wait
	v.drain()
	if n := len(r.log()); n != 3 {
		t.Fatalf("calls after the end: %q", r.log())
	}
}

// A handler that succeeded but whose effect was not acknowledged (the
// process stopped in between) is called again after a restart, with the
// same effect ID.
func TestEffectIDSurvivesRestart(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{requestWF})
	ctx, crash := context.WithCancel(v.ctx)
	first := &recorder{onSetup: crash} // the process dies right after the handler
	v.e.Handle("ask-manager", first)
	v.start(requestWF, "r", Request{})
	if err := v.e.Drain(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("drain: %v", err)
	}
	wantLog(t, first, "setup r/1/0 1")
	if n := len(v.outbox()); n != 1 {
		t.Fatalf("%d effects in the outbox, want the unacknowledged setup", n)
	}

	second := &recorder{}
	restarted := v.engine([]*dsl.Definition{requestWF})
	restarted.Handle("ask-manager", second)
	if err := restarted.Drain(v.ctx); err != nil {
		t.Fatal(err)
	}
	wantLog(t, second, "setup r/1/0 1")
	if n := len(v.outbox()); n != 0 {
		t.Fatalf("%d effects left", n)
	}
}
