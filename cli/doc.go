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
//   - plan --db FILE ID EVENT [PAYLOAD]: one event under today's definition
//     and under its upgrade, side by side.
//   - lint [WORKFLOW]: the static checks of package lint.
//   - vet [PACKAGES]: the nondeterminism analyzer of package vet over Go
//     packages (the code passed to dsl constructors).
//   - help [COMMAND], and the --version flag.
//
// Errors go to standard error and the exit status is non-zero: 1 for a
// failed command, 2 for a usage error.
package cli
