package cli

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/cborjson"
	"github.com/weftflow/weft/interp"
)

var queryCommand = Command{
	Name:    "query",
	Summary: "run a query handler of an instance and print its result as JSON",
	Usage:   "--db FILE|--postgres DSN ID [QUERY]",
	Help: `Runs the query handler QUERY (declared in the definition with dsl.Query)
on the last committed state of instance ID, and prints its result as JSON.
Without QUERY, lists the queries the instance's workflow declares. The
program must know the instance's definition. A query changes nothing: the
store is opened read-only, and may be a PostgreSQL store services are
using (a bbolt file a running service has open cannot be opened: query a
copy).

Flags:
` + StoreUsage,
	Run: runQuery,
}

func runQuery(ctx context.Context, p *Program, args []string) error {
	fs := newFlags("query")
	var sf StoreFlags
	sf.Register(fs)
	pos, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := sf.Check(); err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return &UsageError{Msg: "want an instance ID and, optionally, a query name"}
	}
	e, closeStore, err := p.openEngine(ctx, sf, true)
	if err != nil {
		return err
	}
	defer closeStore()
	id := pos[0]
	if len(pos) == 1 {
		inst, err := e.Get(ctx, id)
		if err != nil {
			return err
		}
		for _, d := range p.Definitions {
			if d.Name() == inst.Workflow {
				return writeJSON(p.Stdout, d.Queries())
			}
		}
		return fmt.Errorf("%w: %q (instance %q): this program does not know its definition", engine.ErrUnregistered, inst.Workflow, id)
	}
	var v any
	if err := e.Query(ctx, id, pos[1], &v); err != nil {
		return err
	}
	return writeJSON(p.Stdout, cborjson.Plain(v))
}

// bufferedView is an event in an instance's inbox, as inspect shows it.
type bufferedView struct {
	Event   string `json:"event"`
	At      string `json:"at"`
	Payload any    `json:"payload,omitempty"`
}

func inboxView(inbox []interp.Buffered) ([]bufferedView, error) {
	var out []bufferedView
	for _, b := range inbox {
		v := bufferedView{Event: b.Event, At: stamp(b.At)}
		if len(b.Payload) > 0 {
			p, err := decodeAny(b.Payload)
			if err != nil {
				return nil, fmt.Errorf("payload of %q: %w", b.Event, err)
			}
			v.Payload = p
		}
		out = append(out, v)
	}
	return out, nil
}
