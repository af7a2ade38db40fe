package engine_test

import (
	"errors"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
)

// An event that was applied but whose reply does not decode into the
// caller's value is reported as applied: a *ReplyDecodeError matching
// ErrReplyUndecodable, never codec.ErrCorrupt (which would read as "not
// applied" and invite a second send).
func TestSendReplyUndecodable(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF})
	v.start(counterWF, "c", Count{})
	callback := pending(t, v.get("c"), "inc").Callback

	var wrong struct{ Name string } // the reply is an int
	err := v.e.Send(v.ctx, "c", "inc", 5, &wrong)
	wantErr(t, err, engine.ErrReplyUndecodable)
	if errors.Is(err, codec.ErrCorrupt) || errors.Is(err, interp.ErrCorrupt) {
		t.Fatalf("error %q reads as corruption", err)
	}
	var rde *engine.ReplyDecodeError
	if !errors.As(err, &rde) {
		t.Fatalf("error %T is not a *ReplyDecodeError", err)
	}
	if rde.Instance != "c" || rde.Event != "inc" || rde.Callback != callback || rde.Err == nil {
		t.Fatalf("error %+v", rde)
	}
	var de *codec.DecodeError
	if !errors.As(rde.Err, &de) {
		t.Fatalf("cause %T is not the codec's *DecodeError", rde.Err)
	}

	// It was applied, once: the state moved and the callback is spent.
	if s, err := engine.Query[Count](v.ctx, v.e, "c"); err != nil || s.N != 5 {
		t.Fatalf("state %+v, %v; want N=5", s, err)
	}
	err = v.e.Deliver(v.ctx, "c", callback, 5, nil)
	wantErr(t, err, interp.ErrDuplicateCallback)

	// A reply that fits still decodes.
	var n int
	if err := v.e.Send(v.ctx, "c", "inc", 2, &n); err != nil || n != 7 {
		t.Fatalf("reply %d, %v; want 7", n, err)
	}
}

// Deliver decodes the reply as Send does: into the caller's value, with a
// *ReplyDecodeError (Op "deliver") for an applied event whose reply does
// not decode, and nothing decoded for a callback that has no reply.
func TestDeliverReply(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF, approvalWF})
	v.start(counterWF, "c", Count{})

	var n int
	if err := v.e.Deliver(v.ctx, "c", pending(t, v.get("c"), "inc").Callback, 3, &n); err != nil || n != 3 {
		t.Fatalf("reply %d, %v; want 3", n, err)
	}

	callback := pending(t, v.get("c"), "inc").Callback
	var wrong struct{ Name string } // the reply is an int
	err := v.e.Deliver(v.ctx, "c", callback, 2, &wrong)
	wantErr(t, err, engine.ErrReplyUndecodable)
	if errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("error %q reads as corruption", err)
	}
	var rde *engine.ReplyDecodeError
	if !errors.As(err, &rde) || rde.Op != "deliver" || rde.Instance != "c" || rde.Event != "inc" || rde.Callback != callback {
		t.Fatalf("error %#v", err)
	}
	if s, err := engine.Query[Count](v.ctx, v.e, "c"); err != nil || s.N != 5 {
		t.Fatalf("state %+v, %v; want N=5 (the event was applied)", s, err)
	}
	wantErr(t, v.e.Deliver(v.ctx, "c", callback, 2, nil), interp.ErrDuplicateCallback)

	// A nil reply ignores it.
	if err := v.e.Deliver(v.ctx, "c", pending(t, v.get("c"), "inc").Callback, 1, nil); err != nil {
		t.Fatal(err)
	}

	// A timer has no reply: the value is left as it was.
	v.start(approvalWF, "r", Approval{User: "ada"})
	v.clock.Advance(time.Hour)
	n = 42
	if err := v.e.Deliver(v.ctx, "r", pending(t, v.get("r"), "timeout").Callback, nil, &n); err != nil || n != 42 {
		t.Fatalf("timer: reply %d, %v; want 42 untouched", n, err)
	}
}
