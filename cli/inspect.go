package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/cborjson"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

var inspectCommand = Command{
	Name:    "inspect",
	Summary: "list the instances of a store, or show one instance's state and meta",
	Usage:   "--db FILE|--postgres DSN [--dead] [--json] [--workflow W] [--status S] [--by-due] [--counts] [ID] [--history]",
	Help: `Without ID, a table of the store's instances, and the number of
dead-lettered effects (effects whose delivery failed too often: they stay
in the store, out of the outbox, until 'requeue' puts them back). With ID,
that instance's state (as JSON, typed when the program knows its
definition) and meta. With --dead, the dead letters instead: ID, instance,
kind, failed attempts and last error (of instance ID only, when given).
With ID and --history, the instance's journal, one line per transition
(kept when the program's engine has a journal: engine.WithJournal).

The store is opened read-only. A bbolt file that a running service has
open cannot be opened (its lock excludes readers): inspect a copy of the
file. A PostgreSQL store is read in read-only transactions, next to the
services using it.

With --workflow, --status or both, only the instances of that workflow
and with that status ("running", "canceling", "completed", "failed",
"canceled", "terminated"), read from the store's listing indexes, then how many
instances of the workflow (of every workflow without --workflow) there are
per status. With --by-due, only instances with a due time (a timer, a
retry), earliest first. With --counts, only the counts.

Flags:
` + StoreUsage + `  --dead           list the dead-lettered effects
  --json           print machine-readable JSON instead of a table
  --workflow W     only instances of workflow W
  --status S       only instances with status S
  --by-due         list instances with a due time, earliest first
  --counts         print only the number of instances per status
  --history        with ID: print the instance's journal as a timeline
`,
	Run: runInspect,
}

func runInspect(ctx context.Context, p *Program, args []string) error {
	fs := newFlags("inspect")
	var sf StoreFlags
	sf.Register(fs)
	asJSON := fs.Bool("json", false, "")
	dead := fs.Bool("dead", false, "")
	history := fs.Bool("history", false, "")
	var filter storage.Filter
	fs.StringVar(&filter.Workflow, "workflow", "", "")
	fs.StringVar(&filter.Status, "status", "", "")
	countsOnly := fs.Bool("counts", false, "")
	byDue := fs.Bool("by-due", false, "")
	ids, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := sf.Check(); err != nil {
		return err
	}
	if len(ids) > 1 {
		return &UsageError{Msg: "at most one instance ID"}
	}
	if *history && len(ids) != 1 {
		return &UsageError{Msg: "--history needs an instance ID"}
	}
	st, closeStore, err := sf.Open(ctx, true)
	if err != nil {
		return err
	}
	defer closeStore()
	if *dead {
		instance := ""
		if len(ids) == 1 {
			instance = ids[0]
		}
		return p.deadLetters(ctx, st, instance, *asJSON)
	}
	e, err := engine.New(st)
	if err != nil {
		return err
	}
	if *history {
		return p.history(ctx, e, ids[0], *asJSON)
	}
	if filter != (storage.Filter{}) || *countsOnly || *byDue {
		if len(ids) > 0 {
			return &UsageError{Msg: "--workflow, --status, --by-due and --counts list instances: give them or an instance ID, not both"}
		}
		order := storage.ByID
		if *byDue {
			order = storage.ByDue
		}
		return p.inspectFiltered(ctx, e, filter, order, *countsOnly, *asJSON)
	}
	if len(ids) == 1 {
		inst, err := e.Get(ctx, ids[0])
		if err != nil {
			return err
		}
		v, err := p.view(inst, true)
		if err != nil {
			return err
		}
		return writeJSON(p.Stdout, v)
	}
	var views []instanceView
	tw := tabwriter.NewWriter(p.Stdout, 0, 4, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "ID\tWORKFLOW\tSTATUS\tTHREADS\tWAITING FOR\tDUE")
	}
	for after := ""; ; {
		page, err := e.List(ctx, after, 500)
		if err != nil {
			return err
		}
		for _, inst := range page {
			v, err := p.view(inst, false)
			if err != nil {
				return err
			}
			if *asJSON {
				views = append(views, v)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Workflow, v.Status,
				strings.Join(v.threadCells(), ", "), strings.Join(v.waitCells(), ", "), v.Due)
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	if *asJSON {
		return writeJSON(p.Stdout, views)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	n, err := countDeadLetters(ctx, st)
	if err != nil {
		return err
	}
	if n == 0 {
		_, err = fmt.Fprintln(p.Stdout, "\nno dead letters")
		return err
	}
	_, err = fmt.Fprintf(p.Stdout, "\n%s: list them with '%s inspect --dead', put them back with '%s requeue'\n",
		plural(n, "dead letter"), p.Name, p.Name)
	return err
}

// instanceView is the readable form of an instance, for tables and JSON.
type instanceView struct {
	ID       string          `json:"id"`
	Workflow string          `json:"workflow"`
	Version  uint64          `json:"version"`
	Status   string          `json:"status"`
	Due      string          `json:"due,omitempty"`
	Threads  []threadView    `json:"threads,omitempty"`
	Failure  *interp.Failure `json:"failure,omitempty"`
	// Terminated says who terminated the instance, why and when.
	Terminated *terminationView `json:"terminated,omitempty"`
	Output     any              `json:"output,omitempty"`
	State      any              `json:"state,omitempty"`
	Meta       *metaView        `json:"meta,omitempty"`
}

type threadView struct {
	ID      string     `json:"id"`
	Path    string     `json:"path"`
	Phase   string     `json:"phase"`
	Attempt uint32     `json:"failedAttempts,omitempty"`
	RetryAt string     `json:"retryAt,omitempty"`
	Waits   []waitView `json:"waits,omitempty"`
}

type waitView struct {
	Callback uint64 `json:"callback"`
	Event    string `json:"event,omitempty"`
	Kind     string `json:"kind"`
	At       string `json:"at,omitempty"` // timer deadline, or activity not-before
	Attempt  uint32 `json:"attempt,omitempty"`
	Setup    bool   `json:"setup,omitempty"`
}

type metaView struct {
	Instance     string   `json:"instance"`
	Seq          uint64   `json:"seq"`
	NextCallback uint64   `json:"nextCallback"`
	Started      string   `json:"started,omitempty"`
	Recent       []uint64 `json:"recentCallbacks,omitempty"`
	Version      uint32   `json:"definitionVersion,omitempty"`
	Migrated     []uint32 `json:"migratedFrom,omitempty"`
	Yielded      string   `json:"lastYielded,omitempty"`

	Inbox []bufferedView `json:"inbox,omitempty"` // buffered events, oldest first (query.go)
}

func (p *Program) view(inst engine.Instance, full bool) (instanceView, error) {
	m := inst.Meta
	v := instanceView{ID: inst.ID, Workflow: inst.Workflow, Version: inst.Version, Status: m.Status.String(),
		Due: stamp(m.Due), Failure: m.Failure, Terminated: terminationOf(m)}
	for _, th := range m.Threads {
		tv := threadView{ID: th.ID, Path: th.Path, Phase: th.Phase.String(), Attempt: th.Attempt}
		if th.Phase == interp.PhaseRetry {
			tv.RetryAt = stamp(th.At)
		}
		for _, w := range th.Waits {
			tv.Waits = append(tv.Waits, waitView{Callback: w.Callback, Event: w.Event, Kind: w.Kind.String(),
				At: stamp(w.At), Attempt: w.Attempt, Setup: w.Setup})
		}
		v.Threads = append(v.Threads, tv)
	}
	if !full {
		return v, nil
	}
	if len(m.Output) > 0 {
		out, err := decodeAny(m.Output)
		if err != nil {
			return v, fmt.Errorf("output of %q: %w", inst.ID, err)
		}
		v.Output = out
	}
	st, err := p.decodeState(inst)
	if err != nil {
		return v, err
	}
	v.State = st
	v.Meta = &metaView{Instance: m.Instance, Seq: m.Seq, NextCallback: m.NextCallback, Started: stamp(m.Started),
		Recent: m.Recent, Version: m.Version, Migrated: m.Migrated, Yielded: m.Yielded}
	if v.Meta.Inbox, err = inboxView(m.Inbox); err != nil {
		return v, fmt.Errorf("inbox of %q: %w", inst.ID, err)
	}
	return v, nil
}

// writer returns the definition that wrote inst (its name and version),
// whose state type its state has, or nil.
func (p *Program) writer(inst engine.Instance) *dsl.Definition {
	version := int(max(inst.Meta.Version, 1))
	for _, d := range append(append([]*dsl.Definition(nil), p.Definitions...), p.Upgrades...) {
		if d.Name() == inst.Workflow && d.Version() == version {
			return d
		}
	}
	return nil
}

// decodeState decodes the state into the workflow's state type when the
// program knows the definition (so JSON shows Go field names), else into
// generic values.
func (p *Program) decodeState(inst engine.Instance) (any, error) {
	if def := p.writer(inst); def != nil {
		ptr := reflect.New(def.StateType())
		if err := decode.Into("state", inst.State, ptr.Interface()); err != nil {
			return nil, fmt.Errorf("state of %q: %w", inst.ID, err)
		}
		return ptr.Interface(), nil
	}
	return decodeAny(inst.State)
}

func (v instanceView) threadCells() []string {
	var out []string
	for _, th := range v.Threads {
		out = append(out, th.ID+"@"+th.Path+" ("+th.Phase+")")
	}
	return out
}

func (v instanceView) waitCells() []string {
	var out []string
	for _, th := range v.Threads {
		for _, w := range th.Waits {
			switch {
			case w.Kind == "activity":
				out = append(out, fmt.Sprintf("%s: attempt %d", th.Path, w.Attempt))
			case w.At != "":
				out = append(out, fmt.Sprintf("%s until %s", w.Event, w.At))
			default:
				out = append(out, w.Event)
			}
		}
	}
	return out
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// decodeAny decodes CBOR into values encoding/json can print.
func decodeAny(b []byte) (any, error) { return cborjson.Decode(b) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
