package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
)

var verifyCommand = Command{
	Name:    "verify",
	Summary: "check every stored instance against the new definitions before deploying them",
	Usage:   "--db FILE|--postgres DSN [--schedules N] [--seed N] [--replay] [--allow-unknown[=WORKFLOW,...]] [--json] [--all]",
	Help: `For each instance, against the upgrade of its workflow (or today's
definition when there is none): its state decodes into the new state type
after migrations, every thread position and pending wait resolves, and with
--schedules N the simulator drives it forward N random times under the new
definition. Nothing is written: the store is opened read-only. Verify a
copy of a bbolt file (a running service's lock excludes readers); a
PostgreSQL store can be verified in place, in read-only transactions, or on
a copy to spare production the load.

Instances of a workflow this program has no definition of cannot be
checked: they are reported with their count per workflow, and they fail
the run unless --allow-unknown says they are expected.

Flags:
` + StoreUsage + `  --schedules N    random schedules per running instance (default 0: static checks only)
  --seed N         seed of the schedules (default 1)
  --replay         also replay each instance's journal (where one is kept)
                   through the new definition: an instance whose recorded
                   events would now emit other effects, be rejected or
                   lose their position is broken
  --allow-unknown  expect instances of workflows this program does not know:
                   all of them, or with =WORKFLOW,... only those (repeatable)
  --json           one JSON report per line, then the summary
  --all            list every instance, not only the broken ones

On a terminal, a progress line on standard error counts the instances
checked; nothing is drawn when standard error is a file or a pipe.

Exit status 1 when any instance is broken, or belongs to a workflow this
program does not know and --allow-unknown does not name it.
`,
	Run: runVerify,
}

func runVerify(ctx context.Context, p *Program, args []string) error {
	fs := newFlags("verify")
	var sf StoreFlags
	sf.Register(fs)
	schedules := CountFlag(fs, "schedules", 0, "")
	seed := fs.Uint64("seed", 1, "")
	asJSON := fs.Bool("json", false, "")
	all := fs.Bool("all", false, "")
	replay := fs.Bool("replay", false, "")
	var allow allowList
	fs.Var(&allow, "allow-unknown", "")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0 && allow.all:
		return &UsageError{Msg: fmt.Sprintf("unexpected argument %q (name the expected workflows with '=': --allow-unknown=%s)", rest[0], rest[0])}
	case len(rest) > 0:
		return &UsageError{Msg: fmt.Sprintf("unexpected arguments %q", rest)}
	}
	if err := sf.Check(); err != nil {
		return err
	}
	known := p.workflows()
	for _, n := range allow.names {
		if known[n] {
			return &UsageError{Msg: fmt.Sprintf("--allow-unknown: this program has a definition of workflow %q", n)}
		}
	}
	st, closeStore, err := sf.Open(ctx, true)
	if err != nil {
		return err
	}
	defer closeStore()
	census, err := countByWorkflow(ctx, st)
	if err != nil {
		return err
	}

	var workflows, unknown []string
	for n := range known {
		workflows = append(workflows, n)
	}
	for n := range census {
		if !known[n] {
			unknown = append(unknown, n)
		}
	}
	sort.Strings(workflows)
	sort.Strings(unknown)
	checkable := 0
	for _, n := range workflows {
		checkable += census[n]
	}

	pr := p.progress()
	defer pr.clear()
	var total simulate.VerifySummary
	done, failing := 0, 0 // across workflows, for the progress line
	for _, name := range workflows {
		def := p.upgrade(name)
		var sum simulate.VerifySummary
		if census[name] > 0 { // a workflow with no instances needs no pass over the store
			sum, err = simulate.Verify(ctx, st, def, simulate.VerifyOptions{Schedules: *schedules, Seed: *seed, Replay: *replay, Recorded: p.Definitions},
				func(r simulate.InstanceReport) error {
					done++
					if !r.OK {
						failing++
					}
					if !r.OK || (*all && !*asJSON) {
						pr.clear()
					}
					switch {
					case *asJSON:
						if err := writeJSONLine(p.Stdout, r); err != nil {
							return err
						}
					case !r.OK:
						where := ""
						if r.Path != "" {
							where = fmt.Sprintf(" at %q", r.Path)
						}
						fmt.Fprintf(p.Stdout, "BROKEN %s (%s, %s): %s%s\n       %s\n", r.ID, r.Workflow, r.Status, r.Cause, where, firstLine(r.Detail))
					case *all:
						fmt.Fprintf(p.Stdout, "ok     %s (%s, %s)%s\n", r.ID, r.Workflow, r.Status, migrated(r.Migrated))
					}
					if len(r.Dropped) > 0 && !*asJSON {
						pr.clear()
						fmt.Fprintf(p.Stdout, "note   %s (%s): the upgrade drops buffered events no wait of v%d takes: %s\n",
							r.ID, r.Workflow, def.Version(), strings.Join(r.Dropped, ", "))
					}
					pr.show(done == 1 || done == checkable, "verified %d/%d instances, %d failing", done, checkable, failing)
					return nil
				})
			if err != nil {
				return err
			}
		}
		pr.clear()
		if !*asJSON {
			fmt.Fprintf(p.Stdout, "%s v%d: %s, %d ok, %d broken\n", name, def.Version(), plural(sum.Instances, "instance"), sum.OK, sum.Broken)
		}
		total.Instances += sum.Instances
		total.OK += sum.OK
		total.Broken += sum.Broken
		total.Replayed += sum.Replayed
		total.NoJournal += sum.NoJournal
	}
	if *replay && !*asJSON {
		// Said plainly, so that a replay over a store with no journals is
		// never mistaken for a pass.
		fmt.Fprintf(p.Stdout, "replayed the journals of %s; %s kept none\n", plural(total.Replayed, "instance"), plural(total.NoJournal, "instance"))
	}

	unknownCount, refusedCount, refused := 0, 0, []string(nil)
	for _, n := range unknown {
		unknownCount += census[n]
		ok := allow.allows(n)
		if !ok {
			refusedCount += census[n]
			refused = append(refused, fmt.Sprintf("%s: %d", n, census[n]))
		}
		switch {
		case *asJSON:
			if err := writeJSONLine(p.Stdout, map[string]any{"unknown": map[string]any{"workflow": n, "instances": census[n], "allowed": ok}}); err != nil {
				return err
			}
		case ok:
			fmt.Fprintf(p.Stdout, "skipped %s: %s of a workflow this program does not know (expected: --allow-unknown)\n", n, plural(census[n], "instance"))
		default:
			fmt.Fprintf(p.Stdout, "UNKNOWN %s: %s of a workflow this program does not know; not checked\n", n, plural(census[n], "instance"))
		}
	}
	if *asJSON {
		sum := map[string]int{"instances": total.Instances, "ok": total.OK, "broken": total.Broken, "unknown": unknownCount}
		if *replay {
			sum["replayed"], sum["noJournal"] = total.Replayed, total.NoJournal
		}
		if err := writeJSONLine(p.Stdout, map[string]any{"summary": sum}); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(p.Stdout, verdictLine(total, len(workflows), unknownCount, len(unknown)))
	}

	var problems []error
	if total.Broken > 0 {
		problems = append(problems, fmt.Errorf("%d of %s would break", total.Broken, plural(total.Instances, "instance")))
	}
	if len(refused) > 0 {
		problems = append(problems, fmt.Errorf("%s of workflows this program does not know (%s); pass --allow-unknown=%s if they are expected",
			plural(refusedCount, "instance"), strings.Join(refused, ", "), strings.Join(unrefused(unknown, allow), ",")))
	}
	return errors.Join(problems...)
}

// verdictLine is the last line of the text report. It says plainly when
// the store is empty or nothing in it could be checked, so zero broken
// instances is never mistaken for a pass over something.
func verdictLine(total simulate.VerifySummary, workflows, unknown, unknownWorkflows int) string {
	switch {
	case total.Instances == 0 && unknown == 0:
		return "the store holds no instances: nothing verified"
	case total.Instances == 0:
		return fmt.Sprintf("nothing verified: none of the store's %s belongs to a workflow this program knows", plural(unknown, "instance"))
	}
	s := fmt.Sprintf("verified %s of %s: %d ok, %d broken", plural(total.Instances, "instance"), plural(workflows, "workflow"), total.OK, total.Broken)
	if unknown > 0 {
		s += fmt.Sprintf("; %s of %s not checked", plural(unknown, "instance"), plural(unknownWorkflows, "unknown workflow"))
	}
	return s
}

// plural is "1 instance", "2 instances".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// countByWorkflow counts the store's instances per workflow name.
func countByWorkflow(ctx context.Context, st storage.Store) (map[string]int, error) {
	counts := map[string]int{}
	const page = 1000
	for after := ""; ; {
		insts, err := st.List(ctx, after, page)
		if err != nil {
			return nil, err
		}
		for _, si := range insts {
			counts[si.Workflow]++
		}
		if len(insts) < page {
			return counts, nil
		}
		after = insts[len(insts)-1].ID
	}
}

// unrefused lists the flag value that would allow every unknown workflow.
func unrefused(unknown []string, allow allowList) []string {
	out := append([]string(nil), allow.names...)
	for _, w := range unknown {
		if !allow.allows(w) {
			out = append(out, w)
		}
	}
	return out
}

// workflows is the set of workflow names the program has a definition of,
// today's or an upgrade.
func (p *Program) workflows() map[string]bool {
	names := map[string]bool{}
	for _, d := range append(append([]*dsl.Definition(nil), p.Definitions...), p.Upgrades...) {
		names[d.Name()] = true
	}
	return names
}

// allowList is the value of --allow-unknown: bare, every unknown workflow
// is expected; with =A,B (repeatable), those.
type allowList struct {
	all   bool
	names []string
}

func (a *allowList) IsBoolFlag() bool { return true }

func (a *allowList) String() string {
	if a == nil || a.all {
		return ""
	}
	return strings.Join(a.names, ",")
}

func (a *allowList) Set(s string) error {
	switch s {
	case "true":
		a.all = true
		return nil
	case "false":
		a.all, a.names = false, nil
		return nil
	}
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n == "" {
			return errors.New("an empty workflow name")
		}
		a.names = append(a.names, n)
	}
	return nil
}

func (a allowList) allows(workflow string) bool {
	if a.all {
		return true
	}
	for _, n := range a.names {
		if n == workflow {
			return true
		}
	}
	return false
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
