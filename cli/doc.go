// Package cli turns a set of workflow definitions into a weft-style command
// line. Definitions are Go code, so a team builds its own tool: a main that
// lists its definitions and calls [Program.Main]. The command weft itself
// (cmd/weft) is built this way over weft's examples, plus a demo.
//
//	func main() {
//		p := &cli.Program{Name: "orders", Version: "1.4.0", Definitions: []*dsl.Definition{checkout.Workflow}}
//		os.Exit(p.Main(context.Background(), os.Args[1:]))
//	}
//
// # Commands
//
//   - inspect --db FILE [ID]: a table of the instances in a bbolt store, or one
//     instance's state (as JSON, typed when its definition is known) and meta.
//   - verify --db FILE: check every stored instance against the upgrades.
//     Instances of workflows the program has no definition of fail the run,
//     with their count per workflow, unless --allow-unknown expects them.
//   - plan --db FILE ID EVENT [PAYLOAD]: one event under today's definition
//     and under its upgrade, compared field by field.
//   - lint [WORKFLOW]: the static checks of package lint.
//   - vet [PACKAGES]: the nondeterminism analyzer of package vet over Go
//     packages (the code passed to dsl constructors).
//   - help [COMMAND], COMMAND --help, and the --version flag.
//
// # Arguments
//
// Flags go anywhere among a command's arguments ("inspect ID --db F" and
// "inspect --db F ID" are the same); "--" ends them. Count flags reject
// negative values. Extra commands get the same parsing from [ParseFlags]
// and [CountFlag].
//
// # Output
//
// Reports go to standard output. Errors go to standard error and the exit
// status is non-zero: 1 for a failed command, 2 for a usage error. A long
// command draws a progress line on standard error, rewritten in place,
// only when [Program.Terminal] says standard error is a terminal.
package cli
