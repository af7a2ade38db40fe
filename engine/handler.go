package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/interp"
)

// EffectInfo describes one effect handed to a [SetupHandler], a
// [FinishFunc], an [ActivityRunner] or a [ChildRunner].
type EffectInfo struct {
	// ID identifies the effect ("instance/seq/index"). It is the same every
	// time the effect is retried, in this process or after a restart, so
	// receivers de-duplicate on it.
	ID       string
	Kind     interp.EffectKind // Setup, Teardown, Completed, Failed, Canceled or Terminated; RunActivity (ActivityRunner); StartChild or EndChild (ChildRunner)
	Instance string
	Workflow string
	Thread   string // the waiting thread (Setup, Teardown)
	Path     string // the Wait statement (Setup, Teardown); the failed statement (Failed)
	Event    string // the On name (Setup, Teardown)
	Type     string // the custom event's type, as given to dsl.Custom
	// Callback is the ID that answers the wait (Setup, Teardown): give it to
	// whoever will call back, and deliver their answer with
	// [Engine.Deliver], or use [Engine.Send] with Event.
	Callback uint64
	Data     []byte // CBOR: the setup data (Setup), the output (Completed), the state snapshot (RunActivity)
	Error    string // Failed: why; Terminated: the reason given to Terminate
	// RunActivity only: the 1-based attempt, when it may start, and its timeout (0: none).
	Attempt uint32
	At      time.Time
	Timeout time.Duration
	// Fence is the fence token of the lease under which the effect is
	// performed, when the engine works with leases ([WithLeases],
	// [Engine.RunDue]); 0 otherwise. It grows with every lease of the
	// instance, so a receiver that has seen a higher token for the
	// instance may refuse the call: it comes from a process that lost its
	// lease (a zombie paused past it).
	Fence uint64
	// Child is the child instance's ID (StartChild, EndChild; Type is then
	// the child's workflow and Data its input), and OnEnd what the
	// parent's end does to it (EndChild).
	Child string
	OnEnd dsl.ParentEndPolicy
}

// Decode decodes the effect's Data into v, a pointer.
func (i EffectInfo) Decode(v any) error { return decode.Into("effect data", i.Data, v) }

// SetupHandler performs the setup and teardown effects of one custom event
// type: Setup creates the outside task when a thread starts waiting (send
// an approval request, register a webhook), Teardown removes it when the
// wait is resolved or the instance ends. Both are called at least once per
// effect, retried with backoff until they return nil; de-duplicate on
// EffectInfo.ID. A Teardown is performed only after its Setup succeeded.
type SetupHandler interface {
	Setup(ctx context.Context, info EffectInfo) error
	Teardown(ctx context.Context, info EffectInfo) error
}

// SetupFuncs adapts two functions to [SetupHandler]; a nil one does nothing.
type SetupFuncs struct {
	SetupFunc    func(ctx context.Context, info EffectInfo) error
	TeardownFunc func(ctx context.Context, info EffectInfo) error
}

// Setup calls f.SetupFunc.
func (f SetupFuncs) Setup(ctx context.Context, info EffectInfo) error {
	if f.SetupFunc == nil {
		return nil
	}
	return f.SetupFunc(ctx, info)
}

// Teardown calls f.TeardownFunc.
func (f SetupFuncs) Teardown(ctx context.Context, info EffectInfo) error {
	if f.TeardownFunc == nil {
		return nil
	}
	return f.TeardownFunc(ctx, info)
}

// FinishFunc is told that an instance completed, failed, was canceled or
// was terminated (see [WithFinish]). It is called at least once per instance end, retried
// with backoff until it returns nil.
type FinishFunc func(ctx context.Context, info EffectInfo) error

// Handle registers h for the setup and teardown effects of custom events
// of type typ (the first argument of dsl.Custom). It panics if h is nil or
// typ already has a handler. Until a type has a handler its effects fail
// with [ErrNoHandler] and stay in the outbox.
func (e *Engine) Handle(typ string, h SetupHandler) {
	if h == nil {
		panic("engine: Handle: nil handler")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	reg := e.reg.Load()
	if reg.handlers[typ] != nil {
		panic(fmt.Sprintf("engine: Handle: type %q already has a handler", typ))
	}
	next := reg.clone()
	if next.handlers == nil {
		next.handlers = map[string]SetupHandler{}
	}
	next.handlers[typ] = h
	e.reg.Store(next)
}

// setupOrTeardown performs a Setup or Teardown effect with its handler.
func (e *Engine) setupOrTeardown(ctx context.Context, info EffectInfo) error {
	h := e.handler(info.Type)
	if h == nil {
		return fmt.Errorf("%w: %q (effect %s)", ErrNoHandler, info.Type, info.ID)
	}
	return protect(info, func() error {
		if info.Kind == interp.EffectSetup {
			return h.Setup(ctx, info)
		}
		return h.Teardown(ctx, info)
	})
}

// protect runs a user callback, turning a panic into an error.
func protect(info EffectInfo, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("engine: %s effect %s: panic: %v", info.Kind, info.ID, r)
		}
	}()
	if err := f(); err != nil {
		return fmt.Errorf("engine: %s effect %s: %w", info.Kind, info.ID, err)
	}
	return nil
}
