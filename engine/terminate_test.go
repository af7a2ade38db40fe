package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"github.com/weftflow/weft/storage/memory"
	"github.com/weftflow/weft/storage/postgres"
)

// endLog records setups, teardowns and ends, with the kind and reason of
// each end.
type endLog struct {
	mu   sync.Mutex
	log  []string
	fail bool // setups fail while set
}

func (l *endLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, s)
}

func (l *endLog) Setup(_ context.Context, info engine.EffectInfo) error {
	l.mu.Lock()
	fail := l.fail
	l.mu.Unlock()
	if fail {
		return errSetup
	}
	l.add(fmt.Sprintf("setup %s cb%d", info.Instance, info.Callback))
	return nil
}

func (l *endLog) Teardown(_ context.Context, info engine.EffectInfo) error {
	l.add(fmt.Sprintf("teardown %s cb%d", info.Instance, info.Callback))
	return nil
}

func (l *endLog) finish(_ context.Context, info engine.EffectInfo) error {
	l.add(fmt.Sprintf("%s %s %q", info.Kind, info.Instance, info.Error))
	return nil
}

func (l *endLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.log, "\n")
}

func terminateStores(t *testing.T) map[string]func() storage.Store {
	return map[string]func() storage.Store{
		"memory": func() storage.Store { return memory.New() },
		"bolt": func() storage.Store {
			s, err := bolt.Open(filepath.Join(t.TempDir(), "weft.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func() storage.Store {
			s, err := postgres.Open(t.Context(), pgtest.DSN(), postgres.WithSchema(pgtest.Schema(t, "engine_terminate_")))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

// Terminate ends an instance waiting on a setup: the teardown is
// performed once, after the setup, the cleanup section does not run, the
// finish hook hears "terminated" with the reason, the record says who and
// why, and every later event is refused with ErrTerminated.
func TestTerminate(t *testing.T) {
	for name, open := range terminateStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			clock := engine.NewFakeClock(t0)
			l := &endLog{}
			store := open()
			e := newEngine(t, store, engine.WithClock(clock), engine.WithFinish(l.finish))
			if err := e.Register(requestWF); err != nil {
				t.Fatal(err)
			}
			e.Handle("ask-manager", l)
			if err := e.Start(ctx, requestWF, "r", Request{User: "ada"}); err != nil {
				t.Fatal(err)
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Minute)
			if err := e.Terminate(ctx, "r", "customer left", engine.TerminatedBy("ops")); err != nil {
				t.Fatalf("Terminate: %v", err)
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			want := "setup r cb1\nteardown r cb1\nterminated r \"customer left\""
			if diff := cmp.Diff(want, l.String()); diff != "" {
				t.Errorf("effects performed (-want +got):\n%s", diff)
			}
			inst, err := e.Get(ctx, "r")
			if err != nil {
				t.Fatal(err)
			}
			if inst.Meta.Status != interp.StatusTerminated || inst.Meta.Status.String() != "terminated" {
				t.Errorf("status %v, want terminated", inst.Meta.Status)
			}
			wantRec := &interp.Termination{Reason: "customer left", By: "ops", At: t0.Add(time.Minute)}
			if diff := cmp.Diff(wantRec, inst.Meta.Terminated); diff != "" {
				t.Errorf("Meta.Terminated (-want +got):\n%s", diff)
			}
			var s Request
			if err := codec.Unmarshal(inst.State, &s); err != nil || s.Cleaned {
				t.Errorf("state %+v (%v): the cleanup section ran", s, err)
			}
			if len(inst.Meta.Threads) != 0 || !inst.Meta.Due.IsZero() {
				t.Errorf("threads %+v, due %v; want none", inst.Meta.Threads, inst.Meta.Due)
			}
			wantErr(t, e.Send(ctx, "r", "answer", "yes", nil), engine.ErrTerminated, interp.ErrFinished)
			err = e.Deliver(ctx, "r", 1, "yes", nil)
			wantErr(t, err, engine.ErrTerminated, interp.ErrFinished)
			wantErr(t, e.Cancel(ctx, "r"), engine.ErrTerminated)
			wantErr(t, e.Terminate(ctx, "r", "again"), engine.ErrTerminated)
			wantErr(t, e.Terminate(ctx, "nobody", "x"), storage.ErrNotFound)
			wantErr(t, e.Terminate(ctx, "r", strings.Repeat("x", engine.MaxReasonLen+1)), engine.ErrTooLarge)
			// A restarted engine reads the same.
			e2 := newEngine(t, store, engine.WithClock(clock))
			if err := e2.Register(requestWF); err != nil {
				t.Fatal(err)
			}
			if got, err := e2.Get(ctx, "r"); err != nil || got.Meta.Terminated == nil || got.Meta.Terminated.Reason != "customer left" {
				t.Errorf("after a restart: %+v, %v", got.Meta.Terminated, err)
			}
			if out, err := store.Outbox(ctx, 10); err != nil || len(out) != 0 {
				t.Errorf("outbox after the drain: %v, %v; want empty", out, err)
			}
		})
	}
}

// Terminate of an instance whose setup has not been performed yet (its
// handler fails) holds the teardown until the setup succeeds: each is
// performed once, in order, then the end.
func TestTerminateBeforeSetupPerformed(t *testing.T) {
	l := &endLog{fail: true}
	v := newEnv(t, []*dsl.Definition{requestWF}, engine.WithFinish(l.finish), engine.WithRetryBackoff(time.Second, time.Second))
	v.e.Handle("ask-manager", l)
	v.start(requestWF, "r", Request{User: "ada"})
	wantErr(t, v.e.Drain(v.ctx), errSetup)
	if err := v.e.Terminate(v.ctx, "r", "stop"); err != nil {
		t.Fatal(err)
	}
	v.drain() // the setup's retry is not due yet: nothing is performed
	if got := l.String(); got != "" {
		t.Fatalf("performed before the setup succeeded: %q", got)
	}
	l.mu.Lock()
	l.fail = false
	l.mu.Unlock()
	v.clock.Advance(time.Minute)
	v.drain()
	v.drain()
	if diff := cmp.Diff("setup r cb1\nteardown r cb1\nterminated r \"stop\"", l.String()); diff != "" {
		t.Errorf("effects performed (-want +got):\n%s", diff)
	}
}

// An instance whose position the deployed definition no longer has is
// refused by Send and Cancel (position lost), and Terminate still ends it,
// tearing down its setup.
func TestTerminateLostPosition(t *testing.T) {
	l := &endLog{}
	v := newEnv(t, []*dsl.Definition{requestWF}, engine.WithFinish(l.finish))
	v.e.Handle("ask-manager", l)
	v.start(requestWF, "r", Request{User: "ada"})
	v.drain()
	// A deploy renames the wait without a migration.
	renamed := dsl.MustCompile[Request]("request", dsl.S(
		dsl.Wait("ask again",
			dsl.On("answer", dsl.Custom[Request, string, string]("ask-manager", manager{})),
		),
		dsl.ReturnWith(func(s *Request) string { return s.Answer }),
	))
	e := v.engine([]*dsl.Definition{renamed}, engine.WithFinish(l.finish))
	e.Handle("ask-manager", l)
	wantErr(t, e.Cancel(v.ctx, "r"), interp.ErrPositionLost)
	err := e.Deliver(v.ctx, "r", 1, "yes", nil)
	wantErr(t, err, interp.ErrPositionLost)
	if err := e.Terminate(v.ctx, "r", "stranded by a deploy", engine.TerminatedBy("cli")); err != nil {
		t.Fatalf("Terminate of a lost instance: %v", err)
	}
	if err := e.Drain(v.ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("setup r cb1\nteardown r cb1\nterminated r \"stranded by a deploy\"", l.String()); diff != "" {
		t.Errorf("effects performed (-want +got):\n%s", diff)
	}
	inst, err := e.Get(v.ctx, "r")
	if err != nil || inst.Meta.Status != interp.StatusTerminated || inst.Meta.Terminated.By != "cli" {
		t.Fatalf("after Terminate: %+v, %v", inst.Meta, err)
	}
}

// With leases, hosts sharing a store terminate instances while others
// drive them: every setup is torn down once and every instance ends once.
func TestTerminateWithLeases(t *testing.T) {
	clock := engine.NewFakeClock(t0)
	log := newEffectLog()
	hosts, m := newHosts(t, 3, clock, log)
	ctx := t.Context()
	const n = 30
	for i := range n {
		if err := hosts[i%3].e.Start(ctx, requestWF, fmt.Sprintf("r%02d", i), Request{User: "u"}); err != nil {
			t.Fatal(err)
		}
	}
	// Half are terminated before their setup ran, half after.
	for i := range n / 2 {
		if err := hosts[(i+1)%3].e.Terminate(ctx, fmt.Sprintf("r%02d", i), "early"); err != nil {
			t.Fatal(err)
		}
	}
	runDueAll(t, hosts)
	for i := n / 2; i < n; i++ {
		if err := hosts[(i+2)%3].e.Terminate(ctx, fmt.Sprintf("r%02d", i), "late"); err != nil {
			t.Fatal(err)
		}
	}
	runDueAll(t, hosts)
	for i := range n {
		id := fmt.Sprintf("r%02d", i)
		if got := strings.Join(log.of(id), " "); got != "setup teardown finish" {
			t.Errorf("%s: effects %q, want setup, teardown, finish once each", id, got)
		}
		inst, err := hosts[0].e.Get(ctx, id)
		if err != nil || inst.Meta.Status != interp.StatusTerminated {
			t.Errorf("%s: %v, %v; want terminated", id, inst.Meta.Status, err)
		}
	}
	if out, err := m.Outbox(ctx, 10); err != nil || len(out) != 0 {
		t.Fatalf("outbox %v, %v; want empty", out, err)
	}
}
