package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"github.com/weftflow/weft/storage/memory"
	"github.com/weftflow/weft/storage/postgres"
	"pgregory.net/rapid"
)

// Pick is a child workflow's state: it waits for "pack" (true: fail).
type Pick struct {
	Item string
	Fail bool
}

// Order is the parent's state.
type Order struct {
	Item    string
	Packed  string
	Problem string // the child's failure, handled
}

var pickWF = dsl.MustCompile[Pick]("pick", dsl.S(
	dsl.Wait("pack", dsl.On("pack", dsl.Signal(func(s *Pick, fail bool) (bool, error) { s.Fail = fail; return true, nil }))),
	dsl.If("broken", func(s *Pick) bool { return s.Fail }, dsl.Fail(errors.New("no stock"))),
	dsl.ReturnWith(func(s *Pick) string { return "packed " + s.Item }),
))

// keepPick keeps a pick child's output, or handles its failure.
func keepPick(s *Order, out string, err error) error {
	var ce *dsl.ChildError
	if errors.As(err, &ce) {
		s.Problem = ce.Status + ": " + ce.Message
		return nil
	}
	s.Packed = out
	return err
}

// orderWF starts a pick child and keeps its output, or handles its failure.
func orderWF(name string, policy dsl.ParentEndPolicy) *dsl.Definition {
	return dsl.MustCompile[Order](name, dsl.S(
		dsl.Child("pick", pickWF, func(s *Order) Pick { return Pick{Item: s.Item} }, keepPick).OnParentEnd(policy),
		dsl.ReturnWith(func(s *Order) Order { return *s }),
	))
}

var (
	orderCancel    = orderWF("order", dsl.CancelChild)
	orderTerminate = orderWF("order-terminate", dsl.TerminateChild)
	orderAbandon   = orderWF("order-abandon", dsl.AbandonChild)
)

func childEngine(t *testing.T, st storage.Store, opts ...engine.Option) *engine.Engine {
	t.Helper()
	e := newEngine(t, st, opts...)
	if err := e.Register(pickWF, orderCancel, orderTerminate, orderAbandon); err != nil {
		t.Fatal(err)
	}
	return e
}

func mustDrain(t *testing.T, e *engine.Engine) {
	t.Helper()
	if err := e.Drain(t.Context()); err != nil {
		t.Fatalf("Drain: %v", err)
	}
}

func status(t *testing.T, e *engine.Engine, id string) interp.Status {
	t.Helper()
	inst, err := e.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get %q: %v", id, err)
	}
	return inst.Meta.Status
}

func awaitOrder(t *testing.T, e *engine.Engine, id string) Order {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var o Order
	if err := e.Await(ctx, id, &o); err != nil {
		t.Fatalf("Await %q: %v", id, err)
	}
	return o
}

const pickOfO1 = "o1/pick#1" // interp.DefaultChildID("o1", "pick", 1)

func TestChildCompletes(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Store) {
		e := childEngine(t, st)
		if err := e.Start(t.Context(), orderCancel, "o1", Order{Item: "tea"}); err != nil {
			t.Fatal(err)
		}
		mustDrain(t, e)
		if got := status(t, e, pickOfO1); got != interp.StatusRunning {
			t.Fatalf("child %s, want running", got)
		}
		if err := e.Send(t.Context(), pickOfO1, "pack", false, nil); err != nil {
			t.Fatal(err)
		}
		mustDrain(t, e)
		if o := awaitOrder(t, e, "o1"); o.Packed != "packed tea" || o.Problem != "" {
			t.Fatalf("parent output %+v", o)
		}
	})
}

func TestChildFailureHandledByParent(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Store) {
		e := childEngine(t, st)
		if err := e.Start(t.Context(), orderCancel, "o1", Order{Item: "tea"}); err != nil {
			t.Fatal(err)
		}
		mustDrain(t, e)
		if err := e.Send(t.Context(), pickOfO1, "pack", true, nil); err != nil {
			t.Fatal(err)
		}
		mustDrain(t, e)
		if o := awaitOrder(t, e, "o1"); o.Problem != "failed: no stock" || o.Packed != "" {
			t.Fatalf("parent output %+v", o)
		}
	})
}

// The parent's end reaches the child by the statement's policy, whether
// the parent is canceled or terminated.
func TestChildParentEndPolicies(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Store) {
		e := childEngine(t, st)
		for _, tc := range []struct {
			def       *dsl.Definition
			terminate bool
			want      interp.Status
		}{
			{orderCancel, false, interp.StatusCanceled},
			{orderCancel, true, interp.StatusCanceled},
			{orderTerminate, false, interp.StatusTerminated},
			{orderTerminate, true, interp.StatusTerminated},
			{orderAbandon, false, interp.StatusRunning},
			{orderAbandon, true, interp.StatusRunning},
		} {
			id := fmt.Sprintf("%s-%v", tc.def.Name(), tc.terminate)
			if err := e.Start(t.Context(), tc.def, id, Order{Item: "tea"}); err != nil {
				t.Fatal(err)
			}
			mustDrain(t, e)
			var err error
			if tc.terminate {
				err = e.Terminate(t.Context(), id, "test")
			} else {
				err = e.Cancel(t.Context(), id)
			}
			if err != nil {
				t.Fatal(err)
			}
			mustDrain(t, e)
			child := interp.DefaultChildID(id, "pick", 1)
			if got := status(t, e, child); got != tc.want {
				t.Errorf("%s (terminate %v): child %s, want %s", tc.def.Name(), tc.terminate, got, tc.want)
			}
			if tc.want == interp.StatusRunning {
				// An abandoned child's end goes to no one.
				if err := e.Send(t.Context(), child, "pack", false, nil); err != nil {
					t.Fatal(err)
				}
				mustDrain(t, e)
				if got := status(t, e, child); got != interp.StatusCompleted {
					t.Errorf("abandoned child %s, want completed", got)
				}
			}
		}
	})
}

// A child ID taken by an instance that is not the parent's child is a
// failure the parent handles; the other instance is left alone.
func TestChildIDTaken(t *testing.T) {
	e := childEngine(t, memory.New())
	if err := e.Start(t.Context(), pickWF, pickOfO1, Pick{Item: "squatter"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context(), orderCancel, "o1", Order{Item: "tea"}); err != nil {
		t.Fatal(err)
	}
	mustDrain(t, e)
	o := awaitOrder(t, e, "o1")
	if o.Problem == "" || o.Packed != "" {
		t.Fatalf("parent output %+v, want a handled failure", o)
	}
	if got := status(t, e, pickOfO1); got != interp.StatusRunning {
		t.Fatalf("the other instance is %s", got)
	}
}

func TestChildMustBeRegistered(t *testing.T) {
	e := newEngine(t, memory.New())
	if err := e.Register(orderCancel); !errors.Is(err, engine.ErrUnregistered) {
		t.Fatalf("Register without the child: %v", err)
	}
	if err := e.Register(orderCancel, pickWF); err != nil {
		t.Fatalf("Register with the child: %v", err)
	}
}

// The engine is killed after the child's finishing commit and before its
// effects are performed: the restarted engine's pass delivers the result
// to the parent, once.
func TestChildCrashBetweenFinishAndWake(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	e := childEngine(t, st)
	if err := e.Start(t.Context(), orderCancel, "o1", Order{Item: "tea"}); err != nil {
		t.Fatal(err)
	}
	mustDrain(t, e)
	if err := e.Send(t.Context(), pickOfO1, "pack", false, nil); err != nil {
		t.Fatal(err)
	}
	// The crash: no Drain, the store closed with the finish in the outbox.
	if got := status(t, e, pickOfO1); got != interp.StatusCompleted {
		t.Fatalf("child %s", got)
	}
	if got := status(t, e, "o1"); got != interp.StatusRunning {
		t.Fatalf("parent %s before the restart", got)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e2 := childEngine(t, st)
	mustDrain(t, e2)
	if o := awaitOrder(t, e2, "o1"); o.Packed != "packed tea" {
		t.Fatalf("parent output %+v", o)
	}
	left, err := st.Outbox(t.Context(), 10)
	if err != nil || len(left) != 0 {
		t.Fatalf("outbox after the restart: %v, %v", left, err)
	}
}

// Two engines on one PostgreSQL schema, with leases, as two processes:
// parents start on one, children finish through the other, each Run
// performing whatever effects it claims.
func TestChildAcrossProcessesPostgres(t *testing.T) {
	schema := pgtest.Schema(t, "engine_child_")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var engines [2]*engine.Engine
	for i := range engines {
		st, err := postgres.Open(ctx, pgtest.DSN(), postgres.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		engines[i] = childEngine(t, st, engine.WithLeases(fmt.Sprintf("pg-%d", i), 10*time.Second),
			engine.WithPollInterval(20*time.Millisecond), engine.WithWorkers(4))
	}
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Go(func() {
			if err := e.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	defer wg.Wait()
	defer cancel()
	const n = 6
	for i := range n {
		if err := engines[0].Start(ctx, orderCancel, fmt.Sprintf("p%d", i), Order{Item: fmt.Sprint("item", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		child := interp.DefaultChildID(fmt.Sprintf("p%d", i), "pick", 1)
		deadline := time.Now().Add(20 * time.Second)
		for {
			err := engines[1].Send(ctx, child, "pack", i%2 == 1, nil, engine.IdempotencyKey("pack"))
			if err == nil {
				break
			}
			if !errors.Is(err, storage.ErrNotFound) || time.Now().After(deadline) {
				t.Fatalf("send to %s: %v", child, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for i := range n {
		o := awaitOrder(t, engines[0], fmt.Sprintf("p%d", i))
		if i%2 == 1 {
			if o.Problem != "failed: no stock" {
				t.Errorf("p%d: %+v", i, o)
			}
		} else if o.Packed != fmt.Sprint("packed item", i) {
			t.Errorf("p%d: %+v", i, o)
		}
	}
}

// A child that ends in its first transition (no wait) keeps its parent
// link through the end time written with it, and its end reaches the
// parent.
func TestChildThatEndsAtStart(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Store) {
		e := newEngine(t, st)
		checkout := checkoutWF()
		if err := e.Register(invoiceWF, checkout); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(t.Context(), checkout, "c1", Checkout{Customer: "bo"}); err != nil {
			t.Fatal(err)
		}
		mustDrain(t, e)
		var out Checkout
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := e.Await(ctx, "c1", &out); err != nil || out.Invoice != "INV-bo-2" {
			t.Fatalf("parent: %+v, %v", out, err)
		}
	})
}

// Under Run (the hot path, no leases), a child's start, its end and the
// parent's end reach each other without a Drain.
func TestChildUnderRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	e := childEngine(t, memory.New(), engine.WithPollInterval(time.Hour)) // only wake-ups move it
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for i := range 3 {
		if err := e.Start(ctx, orderTerminate, fmt.Sprint("r", i), Order{Item: fmt.Sprint("i", i)}); err != nil {
			t.Fatal(err)
		}
	}
	send := func(id string) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := e.Send(ctx, id, "pack", false, nil, engine.IdempotencyKey("pack"))
			if err == nil {
				return
			}
			if !errors.Is(err, storage.ErrNotFound) || time.Now().After(deadline) {
				t.Fatalf("send to %s: %v", id, err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	send(interp.DefaultChildID("r0", "pick", 1))
	if o := awaitOrder(t, e, "r0"); o.Packed != "packed i0" {
		t.Fatalf("r0: %+v", o)
	}
	// Once the child runs (a parent canceled before its child's start was
	// performed starts none), the parent's cancel terminates it.
	child := interp.DefaultChildID("r1", "pick", 1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := e.Get(ctx, child); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child of r1 was not started")
		}
		time.Sleep(time.Millisecond)
	}
	if err := e.Cancel(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	for {
		inst, err := e.Get(ctx, child)
		if err == nil && inst.Meta.Status == interp.StatusTerminated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child of a canceled parent: %+v, %v", inst.Meta.Status, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// A parent that stops waiting before its start-child effect is performed
// starts no child (and its end-child finds none to end).
func TestChildNotStartedForAParentThatEnded(t *testing.T) {
	e := childEngine(t, memory.New())
	if err := e.Start(t.Context(), orderCancel, "o1", Order{Item: "tea"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Terminate(t.Context(), "o1", "changed my mind"); err != nil {
		t.Fatal(err)
	}
	mustDrain(t, e)
	if _, err := e.Get(t.Context(), pickOfO1); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("child of a parent terminated before the start: %v", err)
	}
	if left, err := e.Store().Outbox(t.Context(), 10); err != nil || len(left) != 0 {
		t.Fatalf("outbox: %v, %v", left, err)
	}
}

// A child's end reaches its parent even when the child's ID holds a new
// run by the time the end effect is performed: the effect carries the
// parent link and the end. With IDReuseAfterFinished the child finished
// and its end waits in the outbox; with IDReuseTerminateRunning the
// child is terminated and its ID restarted in one commit. (Before, the
// effect read both from the record, which by then was the new run's, and
// the parent waited forever.)
func TestChildEndAfterItsIDIsReused(t *testing.T) {
	for _, c := range []struct {
		policy engine.IDReusePolicy
		finish bool  // the child finishes before its ID is reused
		want   Order // the parent's output
	}{
		{engine.IDReuseAfterFinished, true, Order{Item: "tea", Packed: "packed tea"}},
		{engine.IDReuseTerminateRunning, false, Order{Item: "tea", Problem: "terminated: " + engine.ReuseTerminateReason}},
	} {
		t.Run(c.policy.String(), func(t *testing.T) {
			eachStore(t, func(t *testing.T, st storage.Store) {
				e := childEngine(t, st)
				ctx := t.Context()
				if err := e.Start(ctx, orderCancel, "o1", Order{Item: "tea"}); err != nil {
					t.Fatal(err)
				}
				mustDrain(t, e)
				if c.finish {
					if err := e.Send(ctx, pickOfO1, "pack", false, nil); err != nil {
						t.Fatal(err)
					}
					if got := status(t, e, pickOfO1); got != interp.StatusCompleted {
						t.Fatalf("child %s, want completed with its end not yet performed", got)
					}
				}
				if err := e.Start(ctx, pickWF, pickOfO1, Pick{Item: "other"}, engine.WithIDReuse(c.policy)); err != nil {
					t.Fatalf("start over the child: %v", err)
				}
				mustDrain(t, e)
				if got := status(t, e, "o1"); got != interp.StatusCompleted {
					t.Fatalf("parent %s after its child's end was performed, want completed", got)
				}
				if o := awaitOrder(t, e, "o1"); o != c.want {
					t.Fatalf("parent output %+v, want %+v", o, c.want)
				}
				if got := status(t, e, pickOfO1); got != interp.StatusRunning {
					t.Fatalf("the new run of the child's ID: %s, want running", got)
				}
			})
		})
	}
}

// withoutParentLinks is a store that strips the parent link from the end
// effects it is given, as an engine written before outbox key 15 left
// them.
type withoutParentLinks struct{ storage.Store }

func (s withoutParentLinks) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	effects := slices.Clone(c.Effects)
	for i, se := range effects {
		oe, err := outbox.Decode(se)
		if err != nil {
			return 0, err
		}
		if oe.Parent == "" {
			continue
		}
		oe.Parent, oe.ParentCallback = "", 0
		if effects[i].Data, err = oe.Encode(); err != nil {
			return 0, err
		}
	}
	c.Effects = effects
	return s.Store.Commit(ctx, c)
}

// An end effect written without the parent link (by an earlier version)
// still reaches the parent: the link is read from the child's record.
func TestChildEndWithoutItsParentLink(t *testing.T) {
	strip := withoutParentLinks{memory.New()}
	e := childEngine(t, strip)
	ctx := t.Context()
	if err := e.Start(ctx, orderCancel, "o1", Order{Item: "tea"}); err != nil {
		t.Fatal(err)
	}
	mustDrain(t, e)
	if err := e.Send(ctx, pickOfO1, "pack", true, nil); err != nil {
		t.Fatal(err)
	}
	left, err := strip.Outbox(ctx, 10)
	if err != nil || len(left) != 1 {
		t.Fatalf("outbox %v, %v; want the child's end", left, err)
	}
	if oe, err := outbox.Decode(left[0]); err != nil || oe.Kind != interp.EffectFailed || oe.Parent != "" {
		t.Fatalf("the child's end %+v, %v; want a failure without a parent link", oe, err)
	}
	mustDrain(t, e)
	if o := awaitOrder(t, e, "o1"); o.Problem != "failed: no stock" {
		t.Fatalf("parent output %+v", o)
	}
}

// childModel is what TestChildReuseProperty expects of one parent, its
// child (the first run of the child's ID) and the runs started over it.
type childModel struct {
	parent     string
	childID    string
	item       string
	childEnd   string // the first run's end once it ended: "packed", "failed", "terminated", "canceled"
	delivered  bool   // a Drain since the first run ended delivered its end
	canceled   bool   // the parent was canceled while it waited (the end-child effect cancels the first run at the next Drain)
	runs       int    // runs of the child's ID after the first
	lastEnded  bool   // the last run of the ID has ended
	lastStatus interp.Status
}

// Children whose IDs are reused (both policies) while their ends are in
// flight, packed, failed, and parents canceled, in random orders: every
// parent ends with its own child's end (or canceled, if canceled first,
// its child then canceled by the policy), and a later run of the child's
// ID is neither delivered to the parent nor canceled with it.
func TestChildReuseProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		e := childEngine(t, memory.New())
		ctx := t.Context()
		n := rapid.IntRange(1, 4).Draw(rt, "parents")
		models := make([]*childModel, n)
		for i := range models {
			m := &childModel{parent: fmt.Sprintf("o%d", i), item: fmt.Sprintf("item-%d", i)}
			m.childID = interp.DefaultChildID(m.parent, "pick", 1)
			models[i] = m
			if err := e.Start(ctx, orderCancel, m.parent, Order{Item: m.item}); err != nil {
				rt.Fatal(err)
			}
		}
		mustDrain(t, e) // the children start
		for i := range models {
			models[i].lastStatus = interp.StatusRunning
		}
		steps := rapid.IntRange(1, 30).Draw(rt, "steps")
		for range steps {
			m := models[rapid.IntRange(0, n-1).Draw(rt, "which")]
			parentWaits := !m.canceled && !m.delivered
			switch rapid.SampledFrom([]string{"pack", "fail", "reuse", "reuse-terminate", "cancel-parent", "drain"}).Draw(rt, "action") {
			case "pack", "fail":
				fail := rapid.Bool().Draw(rt, "fail-it")
				err := e.Send(ctx, m.childID, "pack", fail, nil)
				if m.lastEnded {
					if err == nil {
						rt.Fatalf("pack to the ended run of %s was accepted", m.childID)
					}
					continue
				}
				if err != nil {
					rt.Fatalf("pack %s: %v", m.childID, err)
				}
				m.lastEnded = true
				m.lastStatus = map[bool]interp.Status{false: interp.StatusCompleted, true: interp.StatusFailed}[fail]
				if m.runs == 0 {
					m.childEnd = map[bool]string{false: "packed", true: "failed"}[fail]
				}
			case "reuse", "reuse-terminate":
				policy := engine.IDReuseAfterFinished
				if rapid.Bool().Draw(rt, "terminate") {
					policy = engine.IDReuseTerminateRunning
				}
				err := e.Start(ctx, pickWF, m.childID, Pick{Item: "again"}, engine.WithIDReuse(policy))
				if !m.lastEnded && policy == engine.IDReuseAfterFinished {
					if !errors.Is(err, engine.ErrExists) {
						rt.Fatalf("reuse of the running %s: %v, want ErrExists", m.childID, err)
					}
					continue
				}
				if err != nil {
					rt.Fatalf("reuse %s (%s): %v", m.childID, policy, err)
				}
				if !m.lastEnded && m.runs == 0 {
					m.childEnd = "terminated"
				}
				m.runs++
				m.lastEnded, m.lastStatus = false, interp.StatusRunning
			case "cancel-parent":
				err := e.Cancel(ctx, m.parent)
				if !parentWaits {
					if err == nil && !m.canceled {
						rt.Fatalf("cancel of the ended parent %s was accepted", m.parent)
					}
					continue
				}
				if err != nil {
					rt.Fatalf("cancel %s: %v", m.parent, err)
				}
				m.canceled = true
			case "drain":
				mustDrain(t, e)
				for _, m := range models {
					if m.canceled && m.runs == 0 && !m.lastEnded {
						// The policy (CancelChild): the end-child
						// effect cancels the first run if it still runs.
						m.childEnd = "canceled"
						m.lastEnded, m.lastStatus = true, interp.StatusCanceled
					}
					if m.childEnd != "" && !m.canceled {
						m.delivered = true
					}
				}
			}
		}
		mustDrain(t, e)
		for _, m := range models {
			if m.canceled && m.runs == 0 && !m.lastEnded {
				m.lastEnded, m.lastStatus = true, interp.StatusCanceled
			}
			inst, err := e.Get(ctx, m.parent)
			if err != nil {
				rt.Fatal(err)
			}
			var o Order
			if err := codec.Unmarshal(inst.State, &o); err != nil {
				rt.Fatal(err)
			}
			switch {
			case m.canceled:
				if inst.Meta.Status != interp.StatusCanceled {
					rt.Fatalf("%s: %s, want canceled", m.parent, inst.Meta.Status)
				}
			case m.childEnd == "":
				if inst.Meta.Status != interp.StatusRunning {
					rt.Fatalf("%s: %s, want still waiting for its child", m.parent, inst.Meta.Status)
				}
			default:
				want := map[string]Order{
					"packed":     {Item: m.item, Packed: "packed " + m.item},
					"failed":     {Item: m.item, Problem: "failed: no stock"},
					"terminated": {Item: m.item, Problem: "terminated: " + engine.ReuseTerminateReason},
				}[m.childEnd]
				if inst.Meta.Status != interp.StatusCompleted || o != want {
					rt.Fatalf("%s: %s with %+v, want completed with %+v (its child %s)", m.parent, inst.Meta.Status, o, want, m.childEnd)
				}
			}
			child, err := e.Get(ctx, m.childID)
			if err != nil {
				rt.Fatal(err)
			}
			if child.Meta.Status != m.lastStatus {
				rt.Fatalf("%s (%d runs after the first): %s, want %s", m.childID, m.runs, child.Meta.Status, m.lastStatus)
			}
		}
	})
}
