package engine_test

import (
	"context"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
)

// dsl.SignalWithSetup infers its types from its functions, and its wait
// emits a setup with the data setup returns, then a teardown once the
// event resolves it.
func TestSignalWithSetup(t *testing.T) {
	type Ask struct {
		Amount int
		OK     bool
	}
	askWF := dsl.MustCompile[Ask]("ask", dsl.Wait("manager",
		dsl.On("decide", dsl.SignalWithSetup("ask-manager",
			func(s *Ask, ok bool) (bool, error) { s.OK = ok; return ok, nil },
			func(s *Ask) any { return s.Amount }))))
	v := newEnv(t, []*dsl.Definition{askWF})
	var got []string
	var asked int
	v.e.Handle("ask-manager", engine.SetupFuncs{
		SetupFunc: func(_ context.Context, info engine.EffectInfo) error {
			got = append(got, "setup")
			return info.Decode(&asked)
		},
		TeardownFunc: func(context.Context, engine.EffectInfo) error { got = append(got, "teardown"); return nil },
	})
	v.start(askWF, "a", Ask{Amount: 250})
	v.drain()
	var reply bool
	if err := v.e.Send(v.ctx, "a", "decide", true, &reply); err != nil || !reply {
		t.Fatalf("send: %v, reply %v", err, reply)
	}
	v.drain()
	v.wantStatus("a", interp.StatusCompleted)
	if asked != 250 || len(got) != 2 || got[0] != "setup" || got[1] != "teardown" {
		t.Fatalf("handler saw %v, asked %d", got, asked)
	}
	// Without a setup function it is a plain signal: no setup, no teardown.
	plain := dsl.MustCompile[Ask]("plain", dsl.Wait("w", dsl.On("decide",
		dsl.SignalWithSetup("ask-manager", func(s *Ask, ok bool) (bool, error) { s.OK = ok; return ok, nil }, nil))))
	if err := v.e.Register(plain); err != nil {
		t.Fatal(err)
	}
	got = nil
	v.start(plain, "p", Ask{})
	if err := v.e.Send(v.ctx, "p", "decide", true, nil); err != nil {
		t.Fatal(err)
	}
	v.drain()
	v.wantStatus("p", interp.StatusCompleted)
	if len(got) != 0 {
		t.Fatalf("a signal without setup reached the handler: %v", got)
	}
}
