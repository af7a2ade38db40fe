package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ParseFlags parses args into fs with flags allowed anywhere: before,
// between and after the positional arguments, as in "inspect ID --db F".
// A "--" ends the flags; every argument after it is positional, even one
// that starts with "-". It returns the positional arguments in order.
//
// Errors are for Main: [ErrHelp] when -h or --help is among the flags, a
// *[UsageError] for an unknown flag or a bad value.
func ParseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, ErrHelp
			}
			return nil, &UsageError{Msg: err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if endedByDashes(fs, args[:len(args)-len(rest)]) {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// endedByDashes reports whether the flag package stopped after consuming a
// "--" terminator, rather than at a positional argument. A "--" can also be
// a flag's value ("--db --"), and so can a token that looks like a flag
// ("--db -n --"), so the consumed tokens are walked from the start, skipping
// each value the way the flag package took it.
func endedByDashes(fs *flag.FlagSet, consumed []string) bool {
	for i := 0; i < len(consumed); i++ {
		switch tok := consumed[i]; {
		case tok == "--":
			return i == len(consumed)-1
		case takesValue(fs, tok):
			i++ // the next token is this flag's value
		}
	}
	return false
}

// takesValue reports whether tok is a flag that takes its value from the
// next argument: a defined, non-boolean flag written without "=".
func takesValue(fs *flag.FlagSet, tok string) bool {
	name, ok := strings.CutPrefix(tok, "-")
	if !ok || tok == "-" || tok == "--" {
		return false
	}
	name = strings.TrimPrefix(name, "-")
	if strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return false
	}
	return true
}

// parse is [ParseFlags] for a command that reads its positional arguments
// with fs.Arg and fs.Args: it leaves exactly those there, flags anywhere.
func parse(fs *flag.FlagSet, args []string) error {
	pos, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	// Parsing "--" and the positional arguments sets no flag and leaves
	// fs.Args() as the positional arguments.
	return fs.Parse(append([]string{"--"}, pos...))
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// CountFlag defines a count or limit flag on fs: an integer that must be 0
// or more. A negative value is a usage error naming the flag, where
// [flag.FlagSet.Int] would accept it.
func CountFlag(fs *flag.FlagSet, name string, value int, usage string) *int {
	c := count(value)
	fs.Var(&c, name, usage)
	return (*int)(&c)
}

type count int

func (c *count) String() string {
	if c == nil {
		return "0"
	}
	return strconv.Itoa(int(*c))
}

func (c *count) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not a whole number")
	}
	if n < 0 {
		return fmt.Errorf("a count cannot be negative (got %d)", n)
	}
	*c = count(n)
	return nil
}
