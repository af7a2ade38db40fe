package engine_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"github.com/weftflow/weft/storage/memory"
)

// Cart is the state of cartWF: lines arrive as events after the cart is
// opened, and "checkout" ends it.
type Cart struct {
	Lines []string
	Total int
}

// Line is an item event's payload.
type Line struct {
	Name  string
	Price int
}

// Receipt is cartWF's output.
type Receipt struct {
	Lines []string
	Total int
}

var errEmptyCart = errors.New("empty cart")

var cartWF = dsl.MustCompile[Cart]("cart", dsl.S(
	dsl.Wait("open", dsl.On("open", dsl.Signal(func(s *Cart, _ bool) (bool, error) { return true, nil }))),
	dsl.For("shopping", dsl.Wait("next",
		dsl.On("item", dsl.Signal(func(s *Cart, l Line) (int, error) {
			if l.Price < 0 {
				return 0, errors.New("negative price")
			}
			s.Lines = append(s.Lines, l.Name)
			s.Total += l.Price
			return s.Total, nil
		})),
		dsl.On("checkout", dsl.Signal(func(s *Cart, _ bool) (int, error) { return s.Total, nil }), dsl.Break()),
		dsl.On("abandon", dsl.Signal(func(s *Cart, _ bool) (bool, error) { return true, nil }), dsl.Fail(errEmptyCart)),
	)),
	dsl.If("empty", func(s *Cart) bool { return len(s.Lines) == 0 }, dsl.Fail(errEmptyCart)),
	dsl.ReturnWith(func(s *Cart) Receipt { return Receipt{Lines: s.Lines, Total: s.Total} }),
),
	dsl.Query("total", func(s *Cart) int { return s.Total }),
	dsl.Query("lines", func(s *Cart) []string { return s.Lines }),
	dsl.Query("broken", func(s *Cart) int { panic("broken query") }),
)

// lifecycleStores are the stores every lifecycle test runs on.
func lifecycleStores(t *testing.T) map[string]func(t *testing.T) storage.Store {
	return map[string]func(t *testing.T) storage.Store{
		"memory": func(t *testing.T) storage.Store { return memory.New() },
		"bolt": func(t *testing.T) storage.Store {
			st, err := bolt.Open(filepath.Join(t.TempDir(), "weft.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		},
	}
}

func onStores(t *testing.T, test func(t *testing.T, st storage.Store)) {
	for name, open := range lifecycleStores(t) {
		t.Run(name, func(t *testing.T) { test(t, open(t)) })
	}
}

func cartEngine(t *testing.T, st storage.Store, opts ...engine.Option) *engine.Engine {
	t.Helper()
	e := newEngine(t, st, opts...)
	if err := e.Register(cartWF); err != nil {
		t.Fatal(err)
	}
	return e
}

func item(name string, price int) Line { return Line{Name: name, Price: price} }

// Events sent before the wait that takes them opens are buffered and
// delivered in the order sent; the result arrives through Await.
func TestSendBuffersEventsUntilAWaitTakesThem(t *testing.T) {
	onStores(t, func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		e := cartEngine(t, st)
		if err := e.Start(ctx, cartWF, "c1", Cart{}); err != nil {
			t.Fatal(err)
		}
		var reply int
		reply = -1
		for _, l := range []Line{item("tea", 3), item("cake", 4)} {
			if err := e.Send(ctx, "c1", "item", l, &reply); err != nil {
				t.Fatalf("send before the wait opens: %v", err)
			}
		}
		if reply != -1 {
			t.Errorf("a buffered send wrote the reply: %d", reply)
		}
		if err := e.Send(ctx, "c1", "checkout", true, nil); err != nil {
			t.Fatal(err)
		}
		inst, err := e.Get(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if got := len(inst.Meta.Inbox); got != 3 {
			t.Fatalf("inbox holds %d events, want 3", got)
		}
		if err := e.Send(ctx, "c1", "open", true, nil); err != nil {
			t.Fatal(err)
		}
		var r Receipt
		if err := e.Await(ctx, "c1", &r); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Receipt{Lines: []string{"tea", "cake"}, Total: 7}, r); diff != "" {
			t.Errorf("receipt (-want +got):\n%s", diff)
		}
	})
}

func TestSendRefusals(t *testing.T) {
	onStores(t, func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		e := cartEngine(t, st, engine.WithInboxLimit(2))
		if err := e.Start(ctx, cartWF, "c1", Cart{}); err != nil {
			t.Fatal(err)
		}
		wantErr(t, e.Send(ctx, "c1", "nope", true, nil), engine.ErrNoSuchWait, interp.ErrUnknownEvent)
		wantErr(t, e.Send(ctx, "c1", "item", item("a", 1), nil, engine.NoBuffer()), engine.ErrNoSuchWait)
		for range 2 {
			if err := e.Send(ctx, "c1", "item", item("a", 1), nil); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, e.Send(ctx, "c1", "item", item("a", 1), nil), engine.ErrInboxFull, interp.ErrInboxFull)
		// A wait that is open takes its event whatever the inbox holds.
		if err := e.Send(ctx, "c1", "open", true, nil); err != nil {
			t.Fatalf("send to an open wait with a full inbox: %v", err)
		}
	})
	if _, err := engine.New(memory.New(), engine.WithInboxLimit(0)); !errors.Is(err, engine.ErrInvalidOption) {
		t.Errorf("WithInboxLimit(0): %v, want ErrInvalidOption", err)
	}
}

// A keyed send that was buffered is applied once, however often it is
// retried.
func TestBufferedSendWithIdempotencyKey(t *testing.T) {
	onStores(t, func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		e := cartEngine(t, st)
		if err := e.Start(ctx, cartWF, "c1", Cart{}); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := e.Send(ctx, "c1", "item", item("tea", 3), nil, engine.IdempotencyKey("line-1")); err != nil {
				t.Fatal(err)
			}
		}
		for _, ev := range []string{"open", "checkout"} {
			if err := e.Send(ctx, "c1", ev, true, nil); err != nil {
				t.Fatal(err)
			}
		}
		var r Receipt
		if err := e.Await(ctx, "c1", &r); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Receipt{Lines: []string{"tea"}, Total: 3}, r); diff != "" {
			t.Errorf("receipt (-want +got):\n%s", diff)
		}
	})
}

// Events still buffered when the instance finishes are dropped, and the
// engine logs a warning for each; a buffered payload the handler refuses is
// dropped the same way.
func TestBufferedEventsDroppedAtFinishAreLogged(t *testing.T) {
	onStores(t, func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		var logs syncBuffer
		e := cartEngine(t, st, engine.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err := e.Start(ctx, cartWF, "c1", Cart{}); err != nil {
			t.Fatal(err)
		}
		for _, l := range []Line{item("bad", -1), item("tea", 3)} {
			if err := e.Send(ctx, "c1", "item", l, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Send(ctx, "c1", "open", true, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.Send(ctx, "c1", "checkout", true, nil); err != nil {
			t.Fatal(err)
		}
		// The first wait already took "tea"; the cart is done.
		if err := e.Await(ctx, "c1", nil); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "negative price") {
			t.Errorf("the refused buffered event was not reported; logs:\n%s", logs.String())
		}

		if err := e.Start(ctx, cartWF, "c2", Cart{}); err != nil {
			t.Fatal(err)
		}
		if err := e.Send(ctx, "c2", "item", item("late", 1), nil); err != nil {
			t.Fatal(err)
		}
		if err := e.Cancel(ctx, "c2"); err != nil {
			t.Fatal(err)
		}
		if got := logs.String(); !strings.Contains(got, "buffered event dropped") || !strings.Contains(got, "instance=c2") {
			t.Errorf("no warning for the event dropped at cancel; logs:\n%s", got)
		}
		inst, err := e.Get(ctx, "c2")
		if err != nil {
			t.Fatal(err)
		}
		if len(inst.Meta.Inbox) != 0 {
			t.Errorf("a canceled instance keeps %d buffered events", len(inst.Meta.Inbox))
		}
	})
}

// SignalWithStart starts a missing instance with the event in one commit,
// and sends to an existing one.
func TestSignalWithStart(t *testing.T) {
	onStores(t, func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		e := cartEngine(t, st)
		if err := e.SignalWithStart(ctx, cartWF, "c1", Cart{}, "open", true); err != nil {
			t.Fatal(err)
		}
		si, err := st.Load(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		ref := memory.New()
		re := cartEngine(t, ref)
		if err := re.Start(ctx, cartWF, "ref", Cart{}); err != nil {
			t.Fatal(err)
		}
		rsi, err := ref.Load(ctx, "ref")
		if err != nil {
			t.Fatal(err)
		}
		if si.Version != rsi.Version {
			t.Errorf("store version %d after SignalWithStart, %d after Start: want one commit", si.Version, rsi.Version)
		}
		inst, err := e.Get(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if got := inst.Meta.Threads[0].Path; got != "shopping/next" {
			t.Errorf("after SignalWithStart the instance is at %q, want shopping/next: the event was delivered", got)
		}
		// Existing: the event is sent to it, as by Send.
		for _, l := range []Line{item("tea", 3), item("jam", 2)} {
			if err := e.SignalWithStart(ctx, cartWF, "c1", Cart{}, "item", l); err != nil {
				t.Fatal(err)
			}
		}
		var total int
		if err := e.Query(ctx, "c1", "total", &total); err != nil || total != 5 {
			t.Errorf("total %d, %v; want 5", total, err)
		}
		// A new instance whose first wait does not take the event: buffered.
		if err := e.SignalWithStart(ctx, cartWF, "c2", Cart{}, "item", item("pie", 9)); err != nil {
			t.Fatal(err)
		}
		inst, err = e.Get(ctx, "c2")
		if err != nil {
			t.Fatal(err)
		}
		if len(inst.Meta.Inbox) != 1 || inst.Meta.Inbox[0].Event != "item" {
			t.Errorf("inbox %+v, want the item", inst.Meta.Inbox)
		}
		// A refused event creates nothing.
		wantErr(t, e.SignalWithStart(ctx, cartWF, "c3", Cart{}, "nope", true), engine.ErrNoSuchWait)
		wantErr(t, e.SignalWithStart(ctx, cartWF, "c3", Cart{}, "item", item("x", 1), engine.NoBuffer()), engine.ErrNoSuchWait)
		if _, err := e.Get(ctx, "c3"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a refused signal-with-start left an instance: %v", err)
		}
		// Keyed: a retry after the start finds the key.
		for range 2 {
			if err := e.SignalWithStart(ctx, cartWF, "c4", Cart{}, "item", item("tea", 3), engine.IdempotencyKey("k")); err != nil {
				t.Fatal(err)
			}
		}
		inst, err = e.Get(ctx, "c4")
		if err != nil {
			t.Fatal(err)
		}
		if len(inst.Meta.Inbox) != 1 {
			t.Errorf("a keyed retry buffered the event again: inbox %+v", inst.Meta.Inbox)
		}
	})
}

// Two callers racing to signal-with-start one instance start it once and
// both events are applied.
func TestSignalWithStartRace(t *testing.T) {
	onStores(t, func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		a, b := cartEngine(t, st), cartEngine(t, st)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, e := range []*engine.Engine{a, b} {
			wg.Go(func() { errs[i] = e.SignalWithStart(ctx, cartWF, "c1", Cart{}, "item", item("x", 1)) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		inst, err := a.Get(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if len(inst.Meta.Inbox) != 2 {
			t.Errorf("inbox %+v, want both events", inst.Meta.Inbox)
		}
	})
}

func TestAwait(t *testing.T) {
	onStores(t, func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		e := cartEngine(t, st)
		for _, id := range []string{"ok", "failed", "canceled", "running"} {
			if err := e.SignalWithStart(ctx, cartWF, id, Cart{}, "open", true); err != nil {
				t.Fatal(err)
			}
		}
		// Await blocks until another goroutine ends the instance.
		done := make(chan error, 1)
		var r Receipt
		go func() { done <- e.Await(ctx, "ok", &r) }()
		select {
		case err := <-done:
			t.Fatalf("Await returned %v before the instance finished", err)
		case <-time.After(20 * time.Millisecond):
		}
		for _, ev := range []struct {
			name string
			p    any
		}{{"item", item("tea", 3)}, {"checkout", true}} {
			if err := e.Send(ctx, "ok", ev.name, ev.p, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Receipt{Lines: []string{"tea"}, Total: 3}, r); diff != "" {
			t.Errorf("receipt (-want +got):\n%s", diff)
		}

		if err := e.Send(ctx, "failed", "abandon", true, nil); err != nil {
			t.Fatal(err)
		}
		err := e.Await(ctx, "failed", nil)
		var fe *engine.WorkflowFailedError
		if !errors.As(err, &fe) || !errors.Is(err, engine.ErrWorkflowFailed) {
			t.Fatalf("await a failed instance: %v, want a *WorkflowFailedError", err)
		}
		want := engine.WorkflowFailedError{Instance: "failed", Workflow: "cart", Path: "shopping/next/abandon", Thread: "main", Message: errEmptyCart.Error()}
		if diff := cmp.Diff(want, *fe); diff != "" {
			t.Errorf("failure (-want +got):\n%s", diff)
		}

		if err := e.Cancel(ctx, "canceled"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, e.Await(ctx, "canceled", nil), engine.ErrCanceled)
		wantErr(t, e.Await(ctx, "absent", nil), storage.ErrNotFound)
		short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		defer cancel()
		wantErr(t, e.Await(short, "running", nil), context.DeadlineExceeded)
		// A context that has ended already still gets a look: a finished
		// instance's outcome, a running one's ctx error (the HTTP result
		// route's "look once" is such an Await, and reported a finished
		// instance as running on a loaded machine).
		ended, stop := context.WithCancel(ctx)
		stop()
		wantErr(t, e.Await(ended, "canceled", nil), engine.ErrCanceled)
		wantErr(t, e.Await(ended, "running", nil), context.Canceled)
		var wrong string
		if err := e.Await(ctx, "ok", &wrong); err == nil {
			t.Error("a receipt decoded into a string")
		}
	})
}

// Await in one engine sees an instance finished by another engine on the
// same store (another process, as far as the engines know).
func TestAwaitAcrossEngines(t *testing.T) {
	st := memory.New()
	a, b := cartEngine(t, st), cartEngine(t, st)
	ctx := t.Context()
	if err := a.SignalWithStart(ctx, cartWF, "c1", Cart{}, "open", true); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var total Receipt
	go func() { done <- b.Await(ctx, "c1", &total) }()
	if err := a.Send(ctx, "c1", "item", item("x", 4), nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(ctx, "c1", "checkout", true, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil || total.Total != 4 {
			t.Fatalf("await: %v, total %d", err, total.Total)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Await did not return after the other engine finished the instance")
	}
}

func TestQueryHandlers(t *testing.T) {
	onStores(t, func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		e := cartEngine(t, st)
		if err := e.SignalWithStart(ctx, cartWF, "c1", Cart{}, "open", true); err != nil {
			t.Fatal(err)
		}
		for _, l := range []Line{item("tea", 3), item("jam", 2)} {
			if err := e.Send(ctx, "c1", "item", l, nil); err != nil {
				t.Fatal(err)
			}
		}
		before, err := st.Load(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		var total int
		var lines []string
		if err := e.Query(ctx, "c1", "total", &total); err != nil {
			t.Fatal(err)
		}
		if err := e.Query(ctx, "c1", "lines", &lines); err != nil {
			t.Fatal(err)
		}
		if total != 5 || !cmp.Equal(lines, []string{"tea", "jam"}) {
			t.Errorf("total %d, lines %q", total, lines)
		}
		if err := e.Query(ctx, "c1", "total", nil); err != nil {
			t.Errorf("query with a nil out: %v", err)
		}
		wantErr(t, e.Query(ctx, "c1", "nope", &total), engine.ErrNoQuery)
		wantErr(t, e.Query(ctx, "c1", "broken", &total), engine.ErrQueryFailed)
		wantErr(t, e.Query(ctx, "absent", "total", &total), storage.ErrNotFound)
		var wrong map[string]int
		if err := e.Query(ctx, "c1", "lines", &wrong); err == nil {
			t.Error("a []string result decoded into a map")
		}
		after, err := st.Load(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if after.Version != before.Version || !bytes.Equal(after.Data, before.Data) {
			t.Error("a query changed the stored instance")
		}
		if got := cartWF.Queries(); !cmp.Equal(got, []string{"broken", "lines", "total"}) {
			t.Errorf("Queries() = %q", got)
		}
	})
}

func TestQueryCompileErrors(t *testing.T) {
	body := dsl.Wait("w", dsl.On("x", dsl.After(time.Second)))
	for name, opt := range map[string]dsl.Option{
		"no name":    dsl.Query("", func(s *Cart) int { return 0 }),
		"wrong type": dsl.Query("q", func(s *Receipt) int { return 0 }),
		"nil":        dsl.Query[Cart, int]("q", nil),
	} {
		if _, err := dsl.Compile[Cart]("c", body, opt); err == nil {
			t.Errorf("%s: compiled", name)
		}
	}
	if _, err := dsl.Compile[Cart]("c", body, dsl.Query("q", func(s *Cart) int { return 0 }), dsl.Query("q", func(s *Cart) string { return "" })); err == nil {
		t.Error("two queries named q: compiled")
	}
}

// terminatedStore shows every instance with the stored status a
// terminated instance has.
type terminatedStore struct{ storage.Store }

func (s terminatedStore) Load(ctx context.Context, id string) (storage.Instance, error) {
	si, err := s.Store.Load(ctx, id)
	si.Status = "terminated"
	return si, err
}

func TestAwaitTerminated(t *testing.T) {
	st := memory.New()
	e := cartEngine(t, st)
	if err := e.Start(t.Context(), cartWF, "c1", Cart{}); err != nil {
		t.Fatal(err)
	}
	other := cartEngine(t, terminatedStore{st})
	wantErr(t, other.Await(t.Context(), "c1", nil), engine.ErrTerminated)
}
