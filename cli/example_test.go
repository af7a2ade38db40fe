package cli_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/weftflow/weft/cli"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/examples/pizza"
)

// A team's own tool over its definitions, with one extra command.
func ExampleProgram() {
	p := &cli.Program{
		Name:        "orders",
		Version:     "1.4.0",
		Definitions: []*dsl.Definition{pizza.Workflow},
		Commands: []cli.Command{{
			Name:    "paths",
			Summary: "list the positions of the pizza workflow",
			Run: func(ctx context.Context, p *cli.Program, args []string) error {
				fmt.Fprintln(p.Stdout, len(p.Definitions[0].Positions()), "positions")
				return nil
			},
		}},
		Stdout: os.Stdout,
		Stderr: os.Stdout,
	}
	ctx := context.Background()
	fmt.Println(p.Main(ctx, []string{"--version"}))
	fmt.Println(p.Main(ctx, []string{"paths"}))
	fmt.Println(p.Main(ctx, []string{"help"}))
	// Output:
	// orders 1.4.0
	// 0
	// 20 positions
	// 0
	// Usage: orders COMMAND [ARGS]
	//
	// Commands:
	//   diagram    draw a workflow definition as SVG, Mermaid or Graphviz dot
	//   gc         delete finished instances whose retention period has passed
	//   inspect    list the instances of a store, or show one instance's state and meta
	//   lint       run the static checks on every definition, and on every upgrade's migration
	//   paths      list the positions of the pizza workflow
	//   plan       show what the new definition would do with an event, next to what today's does
	//   query      run a query handler of an instance and print its result as JSON
	//   requeue    put dead-lettered effects back into the outbox, to be tried again
	//   terminate  end an instance at once, running no workflow code
	//   verify     check every stored instance against the new definitions before deploying them
	//   vet        report nondeterminism in workflow code: clock, randomness, map order, goroutines, globals, I/O
	//   help       show this help, or a command's
	//
	// Run 'orders help COMMAND' for a command's arguments; 'orders --version' for the version.
	// 0
}

// An extra command's flags, parsed the way the built-in commands parse
// theirs: anywhere among the arguments, "--" ending them, and counts that
// cannot be negative.
func ExampleParseFlags() {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	db := fs.String("db", "", "the store")
	limit := cli.CountFlag(fs, "limit", 100, "instances at most")

	args, err := cli.ParseFlags(fs, []string{"order-1", "--db", "prod.db", "order-2", "--limit=5", "--", "--odd-id"})
	fmt.Println(args, *db, *limit, err)

	_, err = cli.ParseFlags(fs, []string{"--limit", "-1"})
	var ue *cli.UsageError
	fmt.Println(errors.As(err, &ue), err)
	// Output:
	// [order-1 order-2 --odd-id] prod.db 5 <nil>
	// true invalid value "-1" for flag -limit: a count cannot be negative (got -1)
}

// An extra command that opens its store the way the built-in commands do:
// --db FILE or --postgres DSN [--schema NAME], read-only here.
func ExampleStoreFlags() {
	count := cli.Command{
		Name:    "count",
		Summary: "count the instances of a store",
		Usage:   "--db FILE|--postgres DSN",
		Help:    "Flags:\n" + cli.StoreUsage,
		Run: func(ctx context.Context, p *cli.Program, args []string) error {
			fs := flag.NewFlagSet("count", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var sf cli.StoreFlags
			sf.Register(fs)
			if _, err := cli.ParseFlags(fs, args); err != nil {
				return err
			}
			st, closeStore, err := sf.Open(ctx, true) // a *cli.UsageError, or a *cli.StoreError
			if err != nil {
				return err
			}
			defer closeStore()
			insts, err := st.List(ctx, "", 1000)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(p.Stdout, "%d instances in %s\n", len(insts), sf.String())
			return err
		},
	}
	p := &cli.Program{Name: "orders", Commands: []cli.Command{count}}
	os.Exit(p.Main(context.Background(), os.Args[1:]))
}
