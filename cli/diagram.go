package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/weftflow/weft/diagram"
	"github.com/weftflow/weft/dsl"
)

var diagramCommand = Command{
	Name:    "diagram",
	Summary: "draw a workflow definition as SVG, Mermaid or Graphviz dot",
	Usage:   "[--format svg|mermaid|dot] [--upgrade] WORKFLOW",
	Help: `Writes the diagram of a workflow this program has a definition of to
standard output: statements, the branches of ifs, loops, waits with their
events (timers with their delays, custom events and whether they have a
setup), threads as lanes, sections and the cleanup section. With --upgrade,
the new version the program verifies stored instances against.

Flags:
  --format F   svg (default: a standalone SVG file), mermaid (for Markdown),
               or dot (for Graphviz)
  --upgrade    draw the upgrade instead of today's definition

Example: weft diagram pizza > pizza.svg
`,
	Run: runDiagram,
}

func runDiagram(_ context.Context, p *Program, args []string) error {
	fs := newFlags("diagram")
	format := fs.String("format", "svg", "")
	upgrade := fs.Bool("upgrade", false, "")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return &UsageError{Msg: "name one workflow"}
	}
	var def *dsl.Definition
	if *upgrade {
		def = find(p.Upgrades, rest[0])
	} else {
		def = p.definition(rest[0])
	}
	if def == nil {
		var names []string
		for n := range p.workflows() {
			names = append(names, n)
		}
		sort.Strings(names)
		return &UsageError{Msg: fmt.Sprintf("no definition of workflow %q (this program knows: %s)", rest[0], strings.Join(names, ", "))}
	}
	switch *format {
	case "svg":
		return diagram.SVG(p.Stdout, def, diagram.Overlay{})
	case "mermaid":
		return diagram.Mermaid(p.Stdout, def)
	case "dot":
		return diagram.Dot(p.Stdout, def)
	}
	return &UsageError{Msg: fmt.Sprintf("--format %q: want svg, mermaid or dot", *format)}
}
