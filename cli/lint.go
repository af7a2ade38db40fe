package cli

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/lint"
)

var lintCommand = Command{
	Name:    "lint",
	Summary: "run the static checks on every definition, and on every upgrade's migration",
	Usage:   "[WORKFLOW]",
	Help: `Runs lint.Check on today's definitions and their upgrades, and
lint.Upgrade on each upgrade against today's definition. Warnings are
printed; exit status 1 when a finding is an error.
`,
	Run: runLint,
}

func runLint(ctx context.Context, p *Program, args []string) error {
	fs := newFlags("lint")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return &UsageError{Msg: "at most one workflow name"}
	}
	only := fs.Arg(0)
	errors, seen := 0, 0
	show := func(label string, fs []lint.Finding) {
		for _, f := range fs {
			fmt.Fprintf(p.Stdout, "%s: %s: %s\n", label, f.Severity, f)
			if f.Severity == lint.Error {
				errors++
			}
		}
	}
	for _, defs := range [][]*dsl.Definition{p.Definitions, p.Upgrades} {
		for _, d := range defs {
			if only != "" && d.Name() != only {
				continue
			}
			seen++
			show(fmt.Sprintf("%s v%d", d.Name(), d.Version()), lint.Check(d))
		}
	}
	for _, up := range p.Upgrades {
		if old := p.definition(up.Name()); old != nil && (only == "" || up.Name() == only) {
			show(fmt.Sprintf("%s v%d -> v%d", up.Name(), old.Version(), up.Version()), lint.Upgrade(old, up))
		}
	}
	if seen == 0 {
		return fmt.Errorf("no workflow named %q", only)
	}
	if errors > 0 {
		return fmt.Errorf("%d errors", errors)
	}
	return nil
}
