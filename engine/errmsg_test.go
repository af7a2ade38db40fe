package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/errmsg"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
)

// msgCase is one realistic failure: the error a public call returned, the
// context its message must name at most once, and a sentinel it must
// still match (so that rewording a message cannot break errors.Is).
type msgCase struct {
	name     string
	err      error
	id       string // the instance ID
	workflow string // "" if the call does not know the workflow
	callback uint64 // 0 if none
	user     string // a message of the workflow's own, not checked
	is       error
}

// Every error message says each piece of context once: the instance ID,
// the workflow's name and the callback number at most once, each
// package prefix ("engine:", "interp:", ...) at most once, and no run of
// three or more words twice (see internal/errmsg). Errors are wrapped at
// several layers, and each layer adds only what the layers inside it do
// not say; errors.Is still finds every sentinel.
func TestErrorMessagesSayContextOnce(t *testing.T) {
	for _, c := range errorCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if c.err == nil {
				t.Fatal("no error")
			}
			if c.is != nil && !errors.Is(c.err, c.is) {
				t.Errorf("error %q does not match %q", c.err, c.is)
			}
			t.Log(c.err)
			msg := c.err.Error()
			if c.user != "" { // the workflow's own words may say anything
				msg = strings.Replace(msg, c.user, "", 1)
			}
			for _, p := range errmsg.Repeats(msg, errmsg.Context{Instance: c.id, Workflow: c.workflow, Callback: c.callback}) {
				t.Errorf("%s in %q", p, c.err)
			}
		})
	}
}

// errorCases provokes each failure through the public API.
func errorCases(t *testing.T) []msgCase {
	t.Helper()
	const id = "order-17"
	var cs []msgCase
	add := func(c msgCase) { cs = append(cs, c) }

	// The counter: events that refuse, and callbacks that do not fit.
	{
		v := newEnv(t, []*dsl.Definition{counterWF, approvalWF, cartWF}, engine.WithMaxPayload(64), engine.WithInboxLimit(1))
		ctx := v.ctx
		v.start(counterWF, id, Count{})
		first, dec := pending(t, v.get(id), "inc").Callback, pending(t, v.get(id), "dec").Callback
		add(msgCase{name: "send to a missing instance", err: v.e.Send(ctx, "order-404", "inc", 1, nil), id: "order-404", is: storage.ErrNotFound})
		add(msgCase{name: "send an unknown event", err: v.e.Send(ctx, id, "refund", 1, nil), id: id, workflow: "counter", is: engine.ErrNoSuchWait})
		add(msgCase{name: "send with NoBuffer", err: v.e.Send(ctx, id, "refund", 1, nil, engine.NoBuffer()), id: id, workflow: "counter", is: engine.ErrNoSuchWait})
		add(msgCase{name: "payload that does not decode", err: v.e.Send(ctx, id, "inc", "one", nil), id: id, workflow: "counter", callback: first, is: interp.ErrRejected})
		add(msgCase{name: "payload too large", err: v.e.Send(ctx, id, "inc", strings.Repeat("x", 100), nil), id: id, workflow: "counter", is: engine.ErrTooLarge})
		add(msgCase{name: "bad idempotency key", err: v.e.Send(ctx, id, "inc", 1, nil, engine.IdempotencyKey("")), id: id, workflow: "counter", is: engine.ErrInvalidKey})
		var wrong struct{ Name string }
		add(msgCase{name: "send reply that does not decode", err: v.e.Send(ctx, id, "inc", 1, &wrong), id: id, workflow: "counter", callback: first, is: engine.ErrReplyUndecodable})
		second := pending(t, v.get(id), "inc").Callback
		add(msgCase{name: "deliver reply that does not decode", err: v.e.Deliver(ctx, id, second, 1, &wrong), id: id, workflow: "counter", callback: second, is: engine.ErrReplyUndecodable})
		add(msgCase{name: "deliver a duplicate callback", err: v.e.Deliver(ctx, id, first, 1, nil), id: id, workflow: "counter", callback: first, is: interp.ErrDuplicateCallback})
		add(msgCase{name: "deliver a stale callback", err: v.e.Deliver(ctx, id, dec, 1, nil), id: id, workflow: "counter", callback: dec, is: interp.ErrStaleCallback})
		add(msgCase{name: "deliver an unknown callback", err: v.e.Deliver(ctx, id, 999, 1, nil), id: id, workflow: "counter", callback: 999, is: interp.ErrUnknownCallback})
		add(msgCase{name: "deliver to a missing instance", err: v.e.Deliver(ctx, "order-404", 3, 1, nil), id: "order-404", callback: 3, is: storage.ErrNotFound})
		add(msgCase{name: "deliver a payload too large", err: v.e.Deliver(ctx, id, pending(t, v.get(id), "inc").Callback, strings.Repeat("x", 100), nil), id: id, workflow: "counter", is: engine.ErrTooLarge})
		add(msgCase{name: "start a duplicate ID", err: v.e.Start(ctx, counterWF, id, Count{}), id: id, workflow: "counter", is: engine.ErrExists})
		add(msgCase{name: "start an invalid ID", err: v.e.Start(ctx, counterWF, "", Count{}), workflow: "counter", is: engine.ErrInvalidID})
		other := dsl.MustCompile[Count]("billing", dsl.Wait("w", dsl.On("x", dsl.After(time.Hour))))
		add(msgCase{name: "start an unregistered workflow", err: v.e.Start(ctx, other, "order-18", Count{}), id: "order-18", workflow: "billing", is: engine.ErrUnregistered})
		add(msgCase{name: "start with the wrong state type", err: v.e.Start(ctx, counterWF, "order-19", "zero"), id: "order-19", workflow: "counter", is: engine.ErrStateType})
		add(msgCase{name: "terminate a missing instance", err: v.e.Terminate(ctx, "order-404", "stop"), id: "order-404", is: storage.ErrNotFound})
		add(msgCase{name: "cancel a missing instance", err: v.e.Cancel(ctx, "order-404"), id: "order-404", is: storage.ErrNotFound})
		_, err := v.e.Get(ctx, "order-404")
		add(msgCase{name: "get a missing instance", err: err, id: "order-404", is: storage.ErrNotFound})

		// The approval: a stale callback, a rejected payload, then finished.
		v.start(approvalWF, "order-20", Approval{User: "ada"})
		ap := v.get("order-20")
		decideCb, timeoutCb := pending(t, ap, "decide").Callback, pending(t, ap, "timeout").Callback
		add(msgCase{name: "rejected payload", err: v.e.Send(ctx, "order-20", "decide", Decision{}, nil), id: "order-20", workflow: "approval", callback: decideCb, is: interp.ErrRejected})
		add(msgCase{name: "deliver a timer that is not due", err: v.e.Deliver(ctx, "order-20", timeoutCb, nil, nil), id: "order-20", workflow: "approval", callback: timeoutCb, is: interp.ErrNotDue})
		if err := v.e.Send(ctx, "order-20", "decide", Decision{Approve: true}, nil); err != nil {
			t.Fatal(err)
		}
		add(msgCase{name: "deliver to a finished instance", err: v.e.Deliver(ctx, "order-20", decideCb, Decision{Approve: true}, nil), id: "order-20", workflow: "approval", callback: decideCb, is: interp.ErrFinished})
		add(msgCase{name: "send to a finished instance", err: v.e.Send(ctx, "order-20", "decide", Decision{Approve: true}, nil), id: "order-20", workflow: "approval", is: interp.ErrFinished})
		add(msgCase{name: "cancel a finished instance", err: v.e.Cancel(ctx, "order-20"), id: "order-20", workflow: "approval", is: interp.ErrFinished})
		add(msgCase{name: "terminate a finished instance", err: v.e.Terminate(ctx, "order-20", "stop"), id: "order-20", workflow: "approval"})

		// A terminated instance.
		v.start(counterWF, "order-25", Count{})
		if err := v.e.Terminate(ctx, "order-25", "fraud", engine.TerminatedBy("ops")); err != nil {
			t.Fatal(err)
		}
		add(msgCase{name: "terminate a terminated instance", err: v.e.Terminate(ctx, "order-25", "again"), id: "order-25", workflow: "counter", is: engine.ErrTerminated})
		add(msgCase{name: "send to a terminated instance", err: v.e.Send(ctx, "order-25", "inc", 1, nil), id: "order-25", workflow: "counter", is: engine.ErrTerminated})
		add(msgCase{name: "deliver to a terminated instance", err: v.e.Deliver(ctx, "order-25", 1, 1, nil), id: "order-25", workflow: "counter", callback: 1, is: engine.ErrTerminated})

		// The cart: an unknown query, a failed workflow, a full inbox.
		v.start(cartWF, "order-22", Cart{})
		var total int
		add(msgCase{name: "query an unknown query", err: v.e.Query(ctx, "order-22", "weight", &total), id: "order-22", workflow: "cart", is: engine.ErrNoQuery})
		add(msgCase{name: "query that panics", err: v.e.Query(ctx, "order-22", "broken", &total), id: "order-22", workflow: "cart", is: engine.ErrQueryFailed})
		if err := v.e.Send(ctx, "order-22", "item", item("tea", 3), nil); err != nil {
			t.Fatal(err) // buffered: the cart is not open yet
		}
		add(msgCase{name: "inbox full", err: v.e.Send(ctx, "order-22", "item", item("jam", 2), nil), id: "order-22", workflow: "cart", is: engine.ErrInboxFull})
		v.start(cartWF, "order-23", Cart{})
		for _, ev := range []string{"open", "abandon"} {
			if err := v.e.Send(ctx, "order-23", ev, true, nil); err != nil {
				t.Fatal(err)
			}
		}
		add(msgCase{name: "await a failed workflow", err: v.e.Await(ctx, "order-23", nil), id: "order-23", workflow: "cart", user: errEmptyCart.Error(), is: engine.ErrWorkflowFailed})
		var r Receipt
		add(msgCase{name: "output of a failed workflow", err: v.e.Await(ctx, "order-23", &r), id: "order-23", workflow: "cart", user: errEmptyCart.Error(), is: engine.ErrWorkflowFailed})

		// A deploy renames the counter's wait: the position is lost.
		renamed := dsl.MustCompile[Count]("counter", dsl.For("loop",
			dsl.Wait("renamed",
				dsl.On("inc", dsl.Signal(func(s *Count, by int) (int, error) { s.N += by; return s.N, nil })),
			)))
		e2 := v.engine([]*dsl.Definition{renamed})
		add(msgCase{name: "send after the position was lost", err: e2.Send(ctx, id, "inc", 1, nil), id: id, workflow: "counter", is: interp.ErrPositionLost})
		cb := pending(t, v.get(id), "inc").Callback
		add(msgCase{name: "deliver after the position was lost", err: e2.Deliver(ctx, id, cb, 1, nil), id: id, workflow: "counter", callback: cb, is: interp.ErrPositionLost})
		add(msgCase{name: "cancel after the position was lost", err: e2.Cancel(ctx, id), id: id, workflow: "counter", is: interp.ErrPositionLost})

		// A corrupt record.
		if _, err := v.store.Create(ctx, storage.Instance{ID: "order-24", Workflow: "counter", Due: t0, Data: []byte{0xff}}, nil); err != nil {
			t.Fatal(err)
		}
		add(msgCase{name: "send to a corrupt record", err: v.e.Send(ctx, "order-24", "inc", 1, nil), id: "order-24", workflow: "counter", is: codec.ErrCorrupt})
		_, err = v.e.Get(ctx, "order-24")
		add(msgCase{name: "get a corrupt record", err: err, id: "order-24", workflow: "counter", is: codec.ErrCorrupt})
		add(msgCase{name: "resume a corrupt record", err: v.e.Resume(ctx, "order-24"), id: "order-24", workflow: "counter", is: codec.ErrCorrupt})
	}

	// Store errors: a commit whose outcome is unknown, and a closed store.
	{
		v, fs := newFaultyEnv(t, counterWF)
		v.start(counterWF, id, Count{})
		cb := pending(t, v.get(id), "inc").Callback
		fs.then(writeLost)
		add(msgCase{name: "send with the outcome unknown", err: v.e.Send(v.ctx, id, "inc", 1, nil), id: id, workflow: "counter", callback: cb, is: engine.ErrOutcomeUnknown})
		fs.then(writeLost)
		add(msgCase{name: "deliver with the outcome unknown", err: v.e.Deliver(v.ctx, id, cb, 1, nil), id: id, workflow: "counter", callback: cb, is: engine.ErrOutcomeUnknown})
		fs.then(writeLost)
		add(msgCase{name: "start with the outcome unknown", err: v.e.Start(v.ctx, counterWF, "order-30", Count{}), id: "order-30", workflow: "counter", is: engine.ErrOutcomeUnknown})

		st, err := bolt.Open(filepath.Join(t.TempDir(), "weft.db"))
		if err != nil {
			t.Fatal(err)
		}
		e := newEngine(t, st)
		if err := e.Register(counterWF); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(v.ctx, counterWF, id, Count{}); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		closed := newEngine(t, st)
		if err := closed.Register(counterWF); err != nil {
			t.Fatal(err)
		}
		add(msgCase{name: "send to a closed store", err: closed.Send(context.Background(), id, "inc", 1, nil), id: id, workflow: "counter"})
		add(msgCase{name: "start on a closed store", err: closed.Start(context.Background(), counterWF, "order-31", Count{}), id: "order-31", workflow: "counter"})
	}
	return cs
}
