// Command weft is weft's command line: a demo of durable workflows on an
// embedded bbolt store (or PostgreSQL), and tools to inspect a store and
// requeue its dead letters. It is built with package cli over weft's
// example workflows, the way a team builds its own tool over its
// definitions.
//
//	go run ./cmd/weft demo                 # run the examples, print progress
//	go run ./cmd/weft demo --db demo.db    # keep the store
//	go run ./cmd/weft demo --serve         # then browse its store in the inspector
//	go run ./cmd/weft serve --db demo.db   # the inspector over a store
//	go run ./cmd/weft inspect --db demo.db [ID]
//	go run ./cmd/weft demo --postgres postgres://postgres@127.0.0.1/test
//	go run ./cmd/weft inspect --postgres postgres://postgres@127.0.0.1/test --schema weft_demo
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/weftflow/weft/cli"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
)

// version is the release this command belongs to.
const version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := program().Main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func program() *cli.Program {
	return &cli.Program{
		Name:        "weft",
		Version:     version,
		Definitions: []*dsl.Definition{approval.Workflow, pizza.Workflow},
		Upgrades:    []*dsl.Definition{pizza.WorkflowV2},
		Commands:    []cli.Command{demoCommand},
	}
}
