package simulate

import (
	"context"
	"errors"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// Host is what the simulator drives: an *engine.Engine (its Start with no
// options, its Apply). A host must return nil only after the event is
// committed. A wrapper of it (Options.Host) may also have the engine's
// Await, Query and SignalWithStart, and StartWith (the engine's Start
// with options); the simulator then calls them too.
type Host interface {
	Start(ctx context.Context, def *dsl.Definition, id string, input any) error
	Apply(ctx context.Context, id string, ev interp.Event) (interp.Result, error)
}

// ErrCrash is what the simulated store returns when the simulator crashes
// the host at a commit. Hosts must pass it through like any store error.
var ErrCrash = errors.New("simulate: crash")

// crashPoint says where the next commit crashes.
type crashPoint uint8

const (
	noCrash      crashPoint = iota
	beforeCommit            // the commit is lost
	afterCommit             // the commit is durable, the caller never hears of it
)

func (c crashPoint) String() string {
	switch c {
	case beforeCommit:
		return "before commit"
	case afterCommit:
		return "after commit"
	}
	return "no crash"
}

// faultStore is the store under the simulated host: it crashes at the armed
// point of the next commit.
type faultStore struct {
	storage.Store
	armed crashPoint
	fired crashPoint // the point of the last crash, for the trace
}

func (f *faultStore) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	point := f.armed
	f.armed = noCrash
	switch point {
	case beforeCommit:
		f.fired = point
		return 0, ErrCrash
	case afterCommit:
		if _, err := f.Store.Commit(ctx, c); err != nil {
			return 0, err
		}
		f.fired = point
		return 0, ErrCrash
	}
	return f.Store.Commit(ctx, c)
}

// crash tells the wrapped store a crash happened, if it cares.
func (f *faultStore) crash() {
	if c, ok := f.Store.(interface{ Crash() }); ok {
		c.Crash()
	}
}

// engineHost is an engine as a Host: Start with the default options; it
// also has the engine's Await, Query and SignalWithStart, and its Start
// with options as StartWith, for wrappers to call.
type engineHost struct{ e *engine.Engine }

func (h engineHost) StartWith(ctx context.Context, def *dsl.Definition, id string, input any, opts ...engine.StartOption) error {
	return h.e.Start(ctx, def, id, input, opts...)
}

func (h engineHost) SignalWithStart(ctx context.Context, def *dsl.Definition, id string, input any, event string, payload any, opts ...engine.SendOption) error {
	return h.e.SignalWithStart(ctx, def, id, input, event, payload, opts...)
}

func (h engineHost) Await(ctx context.Context, id string, out any) error {
	return h.e.Await(ctx, id, out)
}

func (h engineHost) Query(ctx context.Context, id, name string, out any) error {
	return h.e.Query(ctx, id, name, out)
}

func (h engineHost) Start(ctx context.Context, def *dsl.Definition, id string, input any) error {
	return h.e.Start(ctx, def, id, input)
}

func (h engineHost) Apply(ctx context.Context, id string, ev interp.Event) (interp.Result, error) {
	return h.e.Apply(ctx, id, ev)
}
