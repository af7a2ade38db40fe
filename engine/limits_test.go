package engine_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// Blob is a state that grows on request: the "grow" handler records how
// many bytes to add and a step in the event's body adds them, so the new
// state is too large only after a step ran.
type Blob struct {
	Want int
	Data []byte
	N    int
}

// grower is the "grow" handler; its wait has a setup, so that a refused
// transition can be seen not to touch the outbox.
type grower struct{}

func (grower) Handle(s *Blob, n int) (int, error) { s.Want = n; return n, nil }
func (grower) Setup(s *Blob) any                  { return len(s.Data) }

var blobWF = dsl.MustCompile[Blob]("blob", dsl.For("loop", dsl.Wait("next",
	dsl.On("grow", dsl.Custom[Blob, int, int]("grow", grower{}),
		dsl.Step("add", func(s *Blob) error { s.Data = append(s.Data, make([]byte, s.Want)...); return nil })),
	dsl.On("inc", dsl.Signal(func(s *Blob, _ int) (int, error) { s.N++; return s.N, nil })),
)))

func wantTooLarge(t *testing.T, err error, what string, limit int) *engine.TooLargeError {
	t.Helper()
	wantErr(t, err, engine.ErrTooLarge)
	if errors.Is(err, codec.ErrCorrupt) || errors.Is(err, interp.ErrCorrupt) {
		t.Fatalf("error %q reads as corruption", err)
	}
	var tl *engine.TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("error %T is not a *TooLargeError", err)
	}
	if tl.What != what || tl.Limit != limit || (tl.Size != 0 && tl.Size <= tl.Limit) {
		t.Fatalf("TooLargeError{What %q, Size %d, Limit %d}; want %q over %d", tl.What, tl.Size, tl.Limit, what, limit)
	}
	return tl
}

// snapshot is what a refused event must leave alone: the record (state
// and meta, with its version) and the outbox.
type snapshot struct {
	inst   engine.Instance
	outbox []storage.Effect
}

func (v *env) snapshot(id string) snapshot {
	v.t.Helper()
	return snapshot{v.get(id), v.outbox()}
}

func (v *env) unchanged(id string, s snapshot) {
	v.t.Helper()
	now := v.snapshot(id)
	if now.inst.Version != s.inst.Version || !bytes.Equal(now.inst.State, s.inst.State) ||
		now.inst.Meta.Seq != s.inst.Meta.Seq || len(now.outbox) != len(s.outbox) {
		v.t.Fatalf("instance %s changed: version %d -> %d, seq %d -> %d, %d -> %d outbox entries",
			id, s.inst.Version, now.inst.Version, s.inst.Meta.Seq, now.inst.Meta.Seq, len(s.outbox), len(now.outbox))
	}
}

func newBlobEnv(t *testing.T, opts ...engine.Option) *env {
	v := newEnv(t, []*dsl.Definition{blobWF, counterWF}, opts...)
	v.e.Handle("grow", engine.SetupFuncs{})
	return v
}

// A payload over the limit is refused on Send, Deliver and Start, before
// anything is loaded or written.
func TestPayloadTooLarge(t *testing.T) {
	const limit = 1 << 10
	v := newBlobEnv(t, engine.WithMaxPayload(limit))
	v.start(counterWF, "c", Count{})
	before := v.snapshot("c")
	big := bytes.Repeat([]byte{'x'}, limit)

	wantTooLarge(t, v.e.Send(v.ctx, "c", "inc", big, nil), "payload", limit)
	err := v.e.Deliver(v.ctx, "c", pending(t, before.inst, "inc").Callback, big, nil)
	wantTooLarge(t, err, "payload", limit)
	v.unchanged("c", before)

	wantTooLarge(t, v.e.Start(v.ctx, blobWF, "b", Blob{Data: big}), "payload", limit)
	if _, err := v.e.Get(v.ctx, "b"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the refused start created the instance: %v", err)
	}

	// Just under the limit is fine.
	if err := v.e.Send(v.ctx, "c", "inc", 1, nil); err != nil {
		t.Fatal(err)
	}
	v.start(blobWF, "b", Blob{Data: big[:limit-64]})
}

// A step that grows the state past the limit: the event is refused with a
// *TooLargeError, the state, meta and outbox stay as last committed, and
// the instance goes on taking the events its workflow allows.
func TestStateTooLarge(t *testing.T) {
	const limit = 64 << 10
	v := newBlobEnv(t, engine.WithMaxState(limit))
	v.start(blobWF, "b", Blob{})
	if err := v.e.Send(v.ctx, "b", "grow", limit/2, nil); err != nil {
		t.Fatal(err)
	}
	v.drain() // perform the setups and teardowns so far
	before := v.snapshot("b")
	wantTooLarge(t, v.e.Send(v.ctx, "b", "grow", limit/2+1, nil), "state", limit)
	err := v.e.Deliver(v.ctx, "b", pending(t, before.inst, "grow").Callback, limit, nil)
	wantTooLarge(t, err, "state", limit)
	v.unchanged("b", before)

	var n int
	if err := v.e.Send(v.ctx, "b", "inc", 0, &n); err != nil || n != 1 {
		t.Fatalf("inc after the refusal: %d, %v", n, err)
	}
	if err := v.e.Send(v.ctx, "b", "grow", limit/4, nil); err != nil {
		t.Fatalf("a grow within the limit: %v", err)
	}
	s, err := engine.Query[Blob](v.ctx, v.e, "b")
	if err != nil || len(s.Data) != limit/2+limit/4 || s.N != 1 {
		t.Fatalf("state: %d bytes, N %d, %v", len(s.Data), s.N, err)
	}
}

// The defaults apply without options, and no option lifts the codec's
// own cap: a state past codec.MaxBytes, which the interpreter cannot
// encode, is a *TooLargeError at that cap, not a corrupt instance (it
// used to be reported as interp.ErrCorrupt, "corrupt instance").
func TestStateLimitDefaultsAndCodecCap(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates states of 8 and 16 MiB")
	}
	for _, c := range []struct {
		name  string
		opts  []engine.Option
		grow  int
		limit int
	}{
		{"default", nil, engine.DefaultMaxState, engine.DefaultMaxState},
		{"codec cap", []engine.Option{engine.WithMaxState(1 << 30)}, codec.MaxBytes, codec.MaxBytes},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := newBlobEnv(t, c.opts...)
			v.start(blobWF, "b", Blob{})
			v.drain()
			before := v.snapshot("b")
			tl := wantTooLarge(t, v.e.Send(v.ctx, "b", "grow", c.grow, nil), "state", c.limit)
			if c.name == "codec cap" {
				var ce *codec.TooLargeError
				if !errors.As(tl, &ce) {
					t.Fatalf("%v does not carry the codec's *TooLargeError", tl)
				}
			}
			v.unchanged("b", before)
			if err := v.e.Send(v.ctx, "b", "inc", 0, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The limit holds for the engine's own events too: a timer whose step
// would grow the state past it is not committed (Drain reports it, and Run
// would retry it with backoff), and other instances are not held up.
func TestStateTooLargeOnResume(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF, swellWF}, engine.WithMaxState(1<<10))
	v.start(swellWF, "s", Swell{})
	v.start(counterWF, "c", Count{})
	before := v.snapshot("s")
	v.clock.Advance(swellAfter)
	err := v.e.Drain(v.ctx)
	wantTooLarge(t, err, "state", 1<<10)
	v.unchanged("s", before)
	if err := v.e.Send(context.Background(), "c", "inc", 1, nil); err != nil {
		t.Fatal(err)
	}
}

type Swell struct{ Data []byte }

const swellAfter = 1 << 30 // ns

var swellWF = dsl.MustCompile[Swell]("swell", dsl.S(
	dsl.Wait("later", dsl.On("tick", dsl.After(swellAfter),
		dsl.Step("swell", func(s *Swell) error { s.Data = make([]byte, 2<<10); return nil }))),
	dsl.Return("swollen"),
))
