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
//   - inspect STORE [ID]: a table of the instances in a store, with the
//     number of dead-lettered effects, or one instance's state (as JSON,
//     typed when its definition is known) and meta; with --dead, the dead
//     letters (ID, instance, kind, attempts, last error).
//   - verify STORE: check every stored instance against the upgrades.
//     Instances of workflows the program has no definition of fail the run,
//     with their count per workflow, unless --allow-unknown expects them.
//   - plan STORE ID EVENT [PAYLOAD]: one event under today's definition
//     and under its upgrade, compared field by field.
//   - requeue STORE EFFECT-ID... (or --all): put dead letters back into the
//     outbox, through [storage.Claims.Requeue].
//   - terminate STORE ID --reason R [--by WHO]: end an instance at once
//     with engine.Terminate (no workflow code runs; the teardowns of its
//     open setups go to the outbox), even one whose position is lost.
//   - lint [WORKFLOW]: the static checks of package lint.
//   - vet [PACKAGES]: the nondeterminism analyzer of package vet over Go
//     packages (the code passed to dsl constructors).
//   - help [COMMAND], COMMAND --help, and the --version flag.
//
// # Stores
//
// STORE is --db FILE, a bbolt file, or --postgres DSN with an optional
// --schema NAME, a PostgreSQL store (package storage/postgres): exactly
// one of the two. [StoreFlags] defines these flags and opens the store, for
// the built-in commands and for extra ones. inspect, verify and plan open
// it read-only: a bbolt file with a shared lock that a running service's
// lock excludes (work on a copy), a PostgreSQL store in read-only
// transactions, never migrating its schema. requeue opens it read-write: a
// bbolt file then needs its service stopped; a PostgreSQL store does not.
// A store that cannot be opened is a *[StoreError] naming it (without the
// DSN's password) and saying why.
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
