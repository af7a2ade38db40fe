package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// Every refusal of SignalWithStart on a missing instance is typed and
// creates nothing.
func TestSignalWithStartRefusals(t *testing.T) {
	const limit = 1 << 10
	ctx := t.Context()
	st := memory.New()
	e := cartEngine(t, st, engine.WithMaxPayload(limit))
	other := dsl.MustCompile[Cart]("other-cart", dsl.Wait("w", dsl.On("item", dsl.Signal(func(*Cart, Line) (int, error) { return 0, nil }))))
	// picky's first wait takes the item, and its handler refuses some.
	picky := dsl.MustCompile[Cart]("picky-cart", dsl.Wait("w", dsl.On("item", dsl.Signal(func(_ *Cart, l Line) (int, error) {
		if l.Price < 0 {
			return 0, errors.New("negative price")
		}
		return l.Price, nil
	}))))
	if err := e.Register(picky); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", limit)
	for _, c := range []struct {
		name string
		id   string
		err  error
		call func(id string) error
	}{
		{"unregistered", "c", engine.ErrUnregistered, func(id string) error {
			return e.SignalWithStart(ctx, other, id, Cart{}, "item", item("tea", 1))
		}},
		{"empty ID", "", engine.ErrInvalidID, func(id string) error {
			return e.SignalWithStart(ctx, cartWF, id, Cart{}, "item", item("tea", 1))
		}},
		{"empty key", "c", engine.ErrInvalidKey, func(id string) error {
			return e.SignalWithStart(ctx, cartWF, id, Cart{}, "item", item("tea", 1), engine.IdempotencyKey(""))
		}},
		{"input of another type", "c", engine.ErrStateType, func(id string) error {
			return e.SignalWithStart(ctx, cartWF, id, Line{}, "item", item("tea", 1))
		}},
		{"input too large", "c", engine.ErrTooLarge, func(id string) error {
			return e.SignalWithStart(ctx, cartWF, id, Cart{Lines: []string{big}}, "item", item("tea", 1))
		}},
		{"payload too large", "c", engine.ErrTooLarge, func(id string) error {
			return e.SignalWithStart(ctx, cartWF, id, Cart{}, "item", item(big, 1))
		}},
		{"refused by the handler", "c", interp.ErrRejected, func(id string) error {
			return e.SignalWithStart(ctx, picky, id, Cart{}, "item", item("tea", -1))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, c.call(c.id), c.err)
			if _, err := st.Load(ctx, "c"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("a refused signal-with-start left an instance: %v", err)
			}
		})
	}
}

// ReportBuffered says whether the event the new instance got was buffered
// (its first wait does not take it) or delivered.
func TestSignalWithStartReportBuffered(t *testing.T) {
	ctx := t.Context()
	e := cartEngine(t, memory.New())
	for _, c := range []struct {
		id, event string
		payload   any
		buffered  bool
	}{{"a", "open", true, false}, {"b", "item", item("tea", 1), true}} {
		buffered := !c.buffered
		if err := e.SignalWithStart(ctx, cartWF, c.id, Cart{}, c.event, c.payload, engine.ReportBuffered(&buffered)); err != nil {
			t.Fatal(err)
		}
		if buffered != c.buffered {
			t.Errorf("%s to a new instance: buffered %v, want %v", c.event, buffered, c.buffered)
		}
		inst, err := e.Get(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(inst.Meta.Inbox) == 1; got != c.buffered {
			t.Errorf("%s: inbox %+v", c.event, inst.Meta.Inbox)
		}
	}
}

// A keyed SignalWithStart whose Create's outcome is unknown, retried with
// the same key, applies the event once: the retry creates the instance
// (the Create was lost) or finds the key (it was applied).
func TestSignalWithStartUnknownOutcome(t *testing.T) {
	for _, fault := range []outcome{writeLost, writeApplied} {
		t.Run(fault.String(), func(t *testing.T) {
			v, fs := newFaultyEnv(t, journalWF)
			fs.then(fault)
			call := func() error {
				return v.e.SignalWithStart(v.ctx, journalWF, "j", Journal{}, "item", "tea", engine.IdempotencyKey("k"))
			}
			u := wantUnknown(t, call(), "signal-with-start")
			if u.Instance != "j" || u.Event != "item" || u.Key != "k" {
				t.Fatalf("OutcomeUnknownError %+v: want the instance, the event and the key", u)
			}
			if err := call(); err != nil {
				t.Fatalf("retry after a %s create: %v", fault, err)
			}
			if got := v.items("j"); len(got) != 1 || got[0] != "tea" {
				t.Fatalf("items %q after the retry, want the event once", got)
			}
		})
	}
}

// A store that panics in the Create of a SignalWithStart, under Run (so
// that the effects were claimed for the hot path): a *PanicError, nothing
// created, and once the store behaves the instance starts and its setup is
// performed once.
func TestSignalWithStartStorePanic(t *testing.T) {
	v, bomb := newBombEnv(t, "b", blobWF)
	mem := v.store
	var setups atomic.Int64
	v.e.Handle("grow", engine.SetupFuncs{SetupFunc: func(context.Context, engine.EffectInfo) error { setups.Add(1); return nil }})
	ctx, cancel := context.WithCancel(v.ctx)
	ran := make(chan error, 1)
	go func() { ran <- v.e.Run(ctx) }()
	for !engine.HotPathOn(v.e) {
		time.Sleep(time.Millisecond)
	}
	bomb.arm("Create", 1)
	wantErr(t, v.e.SignalWithStart(v.ctx, blobWF, "b", Blob{}, "inc", 1), engine.ErrPanic)
	if _, err := mem.Load(v.ctx, "b"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a panicking Create left an instance: %v", err)
	}
	if err := v.e.SignalWithStart(v.ctx, blobWF, "b", Blob{Data: bytes.Repeat([]byte{1}, 3)}, "inc", 1); err != nil {
		t.Fatal(err)
	}
	// The start's setup and, after "inc" left the wait, its teardown and
	// the next wait's setup: two setups, each performed once, by Run (a
	// claim the panic left held would keep them from it).
	for deadline := time.Now().Add(10 * time.Second); setups.Load() < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if got := setups.Load(); got != 2 {
		t.Fatalf("%d setups performed, want 2", got)
	}
}

// A SignalWithStart whose event leaves the wait the start opened commits
// the wait's Setup and its Teardown (and the next wait's Setup) at once.
// Under Run, all three are performed, the Teardown after its Setup, each
// once, and the outbox empties. (Before, the hot path parked the Teardown
// behind its Setup with the Setup in its own group: neither was ever
// performed while Run ran, and no pass could take them.)
func TestSignalWithStartLeavingItsWaitUnderRun(t *testing.T) {
	onStores(t, func(t *testing.T, st storage.Store) {
		e := newEngine(t, st)
		if err := e.Register(blobWF); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var done []string
		record := func(kind string) func(context.Context, engine.EffectInfo) error {
			return func(_ context.Context, info engine.EffectInfo) error {
				mu.Lock()
				defer mu.Unlock()
				done = append(done, fmt.Sprintf("%s %s cb%d", info.Instance, kind, info.Callback))
				return nil
			}
		}
		e.Handle("grow", engine.SetupFuncs{SetupFunc: record("setup"), TeardownFunc: record("teardown")})
		ctx, cancel := context.WithCancel(t.Context())
		ran := make(chan error, 1)
		go func() { ran <- e.Run(ctx) }()
		for !engine.HotPathOn(e) {
			time.Sleep(time.Millisecond)
		}
		const n = 8
		for i := range n {
			if err := e.SignalWithStart(t.Context(), blobWF, fmt.Sprint("b", i), Blob{}, "inc", 1); err != nil {
				t.Fatal(err)
			}
		}
		// Until every effect is performed and acknowledged (the outbox is
		// empty), or the deadline.
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if left, err := st.Outbox(t.Context(), 1); err == nil && len(left) == 0 {
				break
			}
		}
		cancel()
		if err := <-ran; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range n {
			id := fmt.Sprint("b", i)
			var got []string
			for _, d := range done {
				if strings.HasPrefix(d, id+" ") {
					got = append(got, strings.TrimPrefix(d, id+" "))
				}
			}
			// cb3 may be set up before or after cb1's teardown: they wait
			// for nothing among themselves.
			if len(got) != 3 || got[0] != "setup cb1" || !slices.Contains(got, "teardown cb1") || !slices.Contains(got, "setup cb3") {
				t.Errorf("%s: performed %q, want setup cb1, then teardown cb1 and setup cb3 (the next wait's), each once", id, got)
			}
		}
		if left, err := st.Outbox(t.Context(), 100); err != nil || len(left) != 0 {
			t.Errorf("outbox after Run: %d entries, %v", len(left), err)
		}
	})
}

// A new instance that would end at its start, before any wait could take
// the event, is not created: the caller gets interp.ErrFinished, and the
// ID stays free.
func TestSignalWithStartEndingAtStartCreatesNothing(t *testing.T) {
	quick := dsl.MustCompile[Count]("quick", dsl.Step("count", func(s *Count) error { s.N++; return nil }))
	e := newEngine(t, memory.New())
	if err := e.Register(quick); err != nil {
		t.Fatal(err)
	}
	if err := e.SignalWithStart(t.Context(), quick, "q", Count{}, "inc", 1); !errors.Is(err, interp.ErrFinished) {
		t.Fatalf("SignalWithStart: %v, want interp.ErrFinished", err)
	}
	if _, err := e.Get(t.Context(), "q"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get after the refused SignalWithStart: %v, want storage.ErrNotFound", err)
	}
	if err := e.Start(t.Context(), quick, "q", Count{}); err != nil {
		t.Fatalf("the ID is not free: %v", err)
	}
}
