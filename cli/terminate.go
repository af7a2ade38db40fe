package cli

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
)

var terminateCommand = Command{
	Name:    "terminate",
	Summary: "end an instance at once, running no workflow code",
	Usage:   "--db FILE|--postgres DSN ID --reason REASON [--by WHO]",
	Help: `Terminate ends instance ID at once, whatever it waits for, even where its
position is lost after a deploy (where send, deliver and cancel fail with
"position lost"): no workflow code runs, not even the cleanup section. The
teardowns of its open setups and the finish notice go to the outbox in the
same commit; a service running on the store performs them. The record keeps
the reason, who terminated it (--by, default "cli") and when; 'inspect ID'
shows them.

The program must know the instance's workflow (its definition is
registered). The store is opened read-write: a PostgreSQL store can be
used while services run on it; a bbolt file cannot (stop the service, or
terminate from inside it with engine.Terminate).

Exit status 1 when the instance does not exist or has already ended.

Flags:
` + StoreUsage + `  --reason REASON  why the instance is ended (required)
  --by WHO         who ends it (default "cli")
`,
	Run: runTerminate,
}

func runTerminate(ctx context.Context, p *Program, args []string) error {
	fs := newFlags("terminate")
	var sf StoreFlags
	sf.Register(fs)
	reason := fs.String("reason", "", "")
	by := fs.String("by", "cli", "")
	ids, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := sf.Check(); err != nil {
		return err
	}
	switch {
	case len(ids) != 1:
		return &UsageError{Msg: fmt.Sprintf("want one instance ID, got %d", len(ids))}
	case *reason == "":
		return &UsageError{Msg: "--reason is required: the record keeps why the instance was ended"}
	}
	e, closeStore, err := p.openEngine(ctx, sf, false)
	if err != nil {
		return err
	}
	defer closeStore()
	// (An instance terminated before gives an error saying that it "is
	// terminated", by whom and why: the engine's message says it all.)
	if err := e.Terminate(ctx, ids[0], *reason, engine.TerminatedBy(*by)); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "terminated %s\n", ids[0])
	return nil
}

// terminationView is how inspect shows interp.Meta.Terminated.
type terminationView struct {
	Reason string `json:"reason"`
	By     string `json:"by,omitempty"`
	At     string `json:"at,omitempty"`
}

func terminationOf(m interp.Meta) *terminationView {
	if m.Terminated == nil {
		return nil
	}
	return &terminationView{Reason: m.Terminated.Reason, By: m.Terminated.By, At: stamp(m.Terminated.At)}
}
