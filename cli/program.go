package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/weftflow/weft/dsl"
)

// Program is a command line over a set of definitions.
type Program struct {
	Name        string            // the command's name, as typed ("weft")
	Version     string            // printed by --version
	Definitions []*dsl.Definition // the workflows deployed today: their state the tool can decode
	Upgrades    []*dsl.Definition // new versions (with migrations) that verify and plan check stored instances against
	Commands    []Command         // extra commands, next to the built-in ones
	Stdout      io.Writer         // default os.Stdout
	Stderr      io.Writer         // default os.Stderr
	// Terminal reports whether w is a terminal a person watches; long
	// commands draw a progress line on Stderr only when it is. Default
	// [IsTerminal].
	Terminal func(w io.Writer) bool
}

// Command is one subcommand.
type Command struct {
	Name    string
	Summary string // one line for the help listing
	Usage   string // arguments, as in "--db FILE [ID]"
	Help    string // more lines for 'help COMMAND': flags, examples
	// Run runs the command with its arguments (after the command name).
	// Return a *UsageError for bad arguments.
	Run func(ctx context.Context, p *Program, args []string) error
}

// UsageError reports bad arguments; Main prints it with the command's usage
// and exits with status 2.
type UsageError struct{ Msg string }

// Error returns the message.
func (e *UsageError) Error() string { return e.Msg }

// ErrHelp is returned by a command asked for -h: Main prints its usage and
// exits with status 0.
var ErrHelp = flag.ErrHelp

// Main runs the command line args (without the program name) and returns the
// exit status.
func (p *Program) Main(ctx context.Context, args []string) int {
	if p.Stdout == nil {
		p.Stdout = os.Stdout
	}
	if p.Stderr == nil {
		p.Stderr = os.Stderr
	}
	if p.Terminal == nil {
		p.Terminal = IsTerminal
	}
	if len(args) == 0 {
		p.usage(p.Stderr)
		return 2
	}
	switch args[0] {
	case "--version", "-version", "version":
		fmt.Fprintf(p.Stdout, "%s %s\n", p.Name, p.Version)
		return 0
	case "help", "-h", "--help", "-help":
		return p.help(args[1:])
	}
	c, ok := p.command(args[0])
	if !ok {
		fmt.Fprintf(p.Stderr, "%s: unknown command %q\n\n", p.Name, args[0])
		p.usage(p.Stderr)
		return 2
	}
	if len(args) > 1 && isHelpFlag(args[1]) {
		// Every command answers "CMD --help", also an extra command that
		// parses no flags.
		p.commandUsage(p.Stdout, c)
		return 0
	}
	err := c.Run(ctx, p, args[1:])
	var ue *UsageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrHelp):
		p.commandUsage(p.Stdout, c)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(p.Stderr, "%s %s: %v\n", p.Name, c.Name, err)
		p.commandUsage(p.Stderr, c)
		return 2
	default:
		fmt.Fprintf(p.Stderr, "%s %s: %v\n", p.Name, c.Name, err)
		return 1
	}
}

func isHelpFlag(s string) bool { return s == "-h" || s == "--help" || s == "-help" }

// help runs "help [COMMAND]": the command list, or one command's usage.
func (p *Program) help(args []string) int {
	switch {
	case len(args) == 0:
		p.usage(p.Stdout)
		return 0
	case len(args) > 1:
		fmt.Fprintf(p.Stderr, "%s help: want at most one command name, got %q\n\n", p.Name, args)
	case args[0] == "help":
		fmt.Fprintf(p.Stdout, "Usage: %s help [COMMAND]\n\nshow the commands, or one command's arguments and flags\n", p.Name)
		return 0
	default:
		if c, ok := p.command(args[0]); ok {
			p.commandUsage(p.Stdout, c)
			return 0
		}
		fmt.Fprintf(p.Stderr, "%s help: unknown command %q\n\n", p.Name, args[0])
	}
	p.usage(p.Stderr)
	return 2
}

func (p *Program) commands() []Command {
	cs := append([]Command{diagramCommand, gcCommand, inspectCommand, lintCommand, planCommand, queryCommand, requeueCommand, terminateCommand, verifyCommand, vetCommand}, p.Commands...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs
}

func (p *Program) command(name string) (Command, bool) {
	for _, c := range p.commands() {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

func (p *Program) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s COMMAND [ARGS]\n\nCommands:\n", p.Name)
	for _, c := range p.commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(w, "  %-10s %s\n\nRun '%s help COMMAND' for a command's arguments; '%s --version' for the version.\n",
		"help", "show this help, or a command's", p.Name, p.Name)
}

func (p *Program) commandUsage(w io.Writer, c Command) {
	fmt.Fprintf(w, "Usage: %s %s %s\n\n%s\n", p.Name, c.Name, c.Usage, c.Summary)
	if c.Help != "" {
		fmt.Fprintf(w, "\n%s", c.Help)
	}
}

func (p *Program) definition(name string) *dsl.Definition { return find(p.Definitions, name) }

// upgrade returns the definition stored instances of workflow name are
// checked against: its upgrade if there is one, else today's definition.
func (p *Program) upgrade(name string) *dsl.Definition {
	if d := find(p.Upgrades, name); d != nil {
		return d
	}
	return find(p.Definitions, name)
}

func find(defs []*dsl.Definition, name string) *dsl.Definition {
	for _, d := range defs {
		if d.Name() == name {
			return d
		}
	}
	return nil
}
