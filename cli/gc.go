package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/weftflow/weft/engine"
)

var gcCommand = Command{
	Name:    "gc",
	Summary: "delete finished instances whose retention period has passed",
	Usage:   "--db FILE|--postgres DSN [--keep DURATION] [--keep-workflow W=DURATION]...",
	Help: `Deletes completed, failed, canceled and terminated instances that finished longer ago
than their retention period: --keep for every workflow, --keep-workflow for
one (over --keep; "forever" keeps them). At least one is needed. Durations
are Go durations ("168h" for a week). An instance whose effects are not all
performed (in the outbox, or dead-lettered) is kept until they are, so
nothing it asked for is lost. Prints how many it deleted and kept.

A service running the engine with engine.WithRetention does the same in
the background; gc is for stores without one, or to collect at once.

The store is opened read-write. A PostgreSQL store can be collected while
services run on it. A bbolt file cannot: a running service holds its
file's lock; stop it first.

Flags:
` + StoreUsage + `  --keep DURATION  retention period of every workflow's instances
  --keep-workflow W=DURATION
                   retention period of workflow W ("forever" to keep)
`,
	Run: runGC,
}

func runGC(ctx context.Context, p *Program, args []string) error {
	fs := newFlags("gc")
	var sf StoreFlags
	sf.Register(fs)
	var opts []engine.Option
	fs.Func("keep", "", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("--keep %q: want a positive duration such as 168h", v)
		}
		opts = append(opts, engine.WithRetention(d))
		return nil
	})
	fs.Func("keep-workflow", "", func(v string) error {
		w, ds, ok := strings.Cut(v, "=")
		if !ok || w == "" {
			return fmt.Errorf("--keep-workflow %q: want WORKFLOW=DURATION", v)
		}
		d := engine.KeepForever
		if ds != "forever" {
			var err error
			if d, err = time.ParseDuration(ds); err != nil || d <= 0 {
				return fmt.Errorf("--keep-workflow %q: want a positive duration such as 168h, or forever", v)
			}
		}
		opts = append(opts, engine.WithWorkflowRetention(w, d))
		return nil
	})
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := sf.Check(); err != nil {
		return err
	}
	if len(rest) > 0 {
		return &UsageError{Msg: fmt.Sprintf("unexpected arguments %q", rest)}
	}
	if len(opts) == 0 {
		return &UsageError{Msg: "want a retention period: --keep DURATION or --keep-workflow W=DURATION"}
	}
	st, closeStore, err := sf.Open(ctx, false)
	if err != nil {
		return err
	}
	defer closeStore()
	e, err := engine.New(st, opts...)
	if err != nil {
		return err
	}
	rep, err := e.GC(ctx)
	fmt.Fprintf(p.Stdout, "deleted %s", plural(rep.Deleted, "instance"))
	if rep.Held > 0 {
		fmt.Fprintf(p.Stdout, "; kept %d whose effects are not all performed yet", rep.Held)
	}
	if rep.Dated > 0 {
		fmt.Fprintf(p.Stdout, "; dated %d finished before weft kept end times (their retention starts now)", rep.Dated)
	}
	fmt.Fprintln(p.Stdout)
	return err
}
