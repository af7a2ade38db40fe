package cli

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage/bolt"
)

var verifyCommand = Command{
	Name:    "verify",
	Summary: "check every stored instance against the new definitions before deploying them",
	Usage:   "--db FILE [--schedules N] [--seed N] [--json] [--all]",
	Help: `For each instance, against the upgrade of its workflow (or today's
definition when there is none): its state decodes into the new state type
after migrations, every thread position and pending wait resolves, and with
--schedules N the simulator drives it forward N random times under the new
definition. Nothing is written: the store is opened read-only, so run it on
a copy of production data.

Flags:
  --db FILE        the bbolt store
  --schedules N    random schedules per running instance (default 0: static checks only)
  --seed N         seed of the schedules (default 1)
  --json           one JSON report per line, then the summary
  --all            list every instance, not only the broken ones

Exit status 1 when any instance is broken.
`,
	Run: runVerify,
}

func runVerify(ctx context.Context, p *Program, args []string) error {
	fs := newFlags("verify")
	db := fs.String("db", "", "")
	schedules := fs.Int("schedules", 0, "")
	seed := fs.Uint64("seed", 1, "")
	asJSON := fs.Bool("json", false, "")
	all := fs.Bool("all", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *db == "" || fs.NArg() > 0 {
		return &UsageError{Msg: "want --db FILE and no arguments"}
	}
	st, err := bolt.Open(*db, bolt.WithReadOnly(), bolt.WithTimeout(time.Second))
	if err != nil {
		return err
	}
	defer st.Close()

	names := map[string]bool{}
	for _, d := range append(p.Definitions, p.Upgrades...) {
		names[d.Name()] = true
	}
	var workflows []string
	for n := range names {
		workflows = append(workflows, n)
	}
	sort.Strings(workflows)
	var total simulate.VerifySummary
	for _, name := range workflows {
		def := p.upgrade(name)
		sum, err := simulate.Verify(ctx, st, def, simulate.VerifyOptions{Schedules: *schedules, Seed: *seed},
			func(r simulate.InstanceReport) error {
				switch {
				case *asJSON:
					return writeJSONLine(p.Stdout, r)
				case !r.OK:
					where := ""
					if r.Path != "" {
						where = fmt.Sprintf(" at %q", r.Path)
					}
					fmt.Fprintf(p.Stdout, "BROKEN %s (%s, %s): %s%s\n       %s\n", r.ID, r.Workflow, r.Status, r.Cause, where, firstLine(r.Detail))
				case *all:
					fmt.Fprintf(p.Stdout, "ok     %s (%s, %s)%s\n", r.ID, r.Workflow, r.Status, migrated(r.Migrated))
				}
				return nil
			})
		if err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(p.Stdout, "%s v%d: %d instances, %d ok, %d broken\n", name, def.Version(), sum.Instances, sum.OK, sum.Broken)
		}
		total.Instances += sum.Instances
		total.OK += sum.OK
		total.Broken += sum.Broken
	}
	if *asJSON {
		sum := map[string]int{"instances": total.Instances, "ok": total.OK, "broken": total.Broken}
		if err := writeJSONLine(p.Stdout, map[string]any{"summary": sum}); err != nil {
			return err
		}
	}
	if total.Broken > 0 {
		return fmt.Errorf("%d of %d instances would break", total.Broken, total.Instances)
	}
	return nil
}

func migrated(froms []uint32) string {
	if len(froms) == 0 {
		return ""
	}
	return fmt.Sprintf(", migrations from versions %v", froms)
}

func firstLine(s string) string {
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
