package cli_test

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/cli"
	"pgregory.net/rapid"
)

func testFlags() (*flag.FlagSet, *string, *bool, *int) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	db := fs.String("db", "", "")
	js := fs.Bool("json", false, "")
	n := cli.CountFlag(fs, "n", 7, "")
	return fs, db, js, n
}

func TestParseFlagsAnywhere(t *testing.T) {
	for _, c := range []struct {
		args []string
		pos  []string
		db   string
		json bool
		n    int
	}{
		{nil, nil, "", false, 7},
		{[]string{"ID", "--db", "F"}, []string{"ID"}, "F", false, 7},
		{[]string{"--db", "F", "ID"}, []string{"ID"}, "F", false, 7},
		{[]string{"ID", "--json", "EV", "-db=F", "P"}, []string{"ID", "EV", "P"}, "F", true, 7},
		{[]string{"a", "--n", "3", "b", "--n=4"}, []string{"a", "b"}, "", false, 4},
		// "--" ends the flags: what follows is positional, dashes and all.
		{[]string{"ID", "--", "--json", "-5"}, []string{"ID", "--json", "-5"}, "", false, 7},
		{[]string{"--", "--db", "F"}, []string{"--db", "F"}, "", false, 7},
		// A "--" that is a flag's value is the value, not the end of flags.
		{[]string{"--db", "--", "ID", "--json"}, []string{"ID"}, "--", true, 7},
		{[]string{"--json", "--", "--db"}, []string{"--db"}, "", true, 7},
		// A flag's value that looks like a flag taking a value ("-n") does
		// not make the "--" after it a value (found by the property below).
		{[]string{"x", "--db", "-n", "--", "--json", "-x"}, []string{"x", "--json", "-x"}, "-n", false, 7},
		// A lone "-" is positional (conventionally standard input).
		{[]string{"-", "--json"}, []string{"-"}, "", true, 7},
	} {
		fs, db, js, n := testFlags()
		pos, err := cli.ParseFlags(fs, c.args)
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if diff := cmp.Diff(c.pos, pos); diff != "" || *db != c.db || *js != c.json || *n != c.n {
			t.Errorf("%q: positional (-want +got):\n%s db %q json %v n %d; want db %q json %v n %d",
				c.args, diff, *db, *js, *n, c.db, c.json, c.n)
		}
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // "" for ErrHelp
	}{
		{[]string{"ID", "-h"}, ""},
		{[]string{"ID", "--db", "F", "--help"}, ""},
		{[]string{"ID", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"ID", "--db"}, "flag needs an argument: -db"},
		{[]string{"--n", "-1"}, `invalid value "-1" for flag -n: a count cannot be negative (got -1)`},
		{[]string{"x", "--n=-20"}, "a count cannot be negative (got -20)"},
		{[]string{"--n", "1.5"}, `invalid value "1.5" for flag -n: not a whole number`},
	} {
		fs, _, _, _ := testFlags()
		_, err := cli.ParseFlags(fs, c.args)
		var ue *cli.UsageError
		switch {
		case c.want == "" && !errors.Is(err, cli.ErrHelp):
			t.Errorf("%q: %v, want ErrHelp", c.args, err)
		case c.want != "" && (!errors.As(err, &ue) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: %v, want a UsageError with %q", c.args, err, c.want)
		}
	}
}

// Any interleaving of flags and positional arguments parses to the same
// flags and the same positional arguments, in order.
func TestParseFlagsInterleavedProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pos := rapid.SliceOfN(rapid.StringMatching(`[a-z0-9{}"=:,]{1,6}`), 0, 6).Draw(t, "positional")
		db := rapid.StringMatching(`[a-z/.-]{0,8}`).Draw(t, "db")
		n := rapid.IntRange(0, 1<<20).Draw(t, "n")
		flags := [][]string{{"--db", db}, {fmt.Sprintf("-n=%d", n)}}
		if rapid.Bool().Draw(t, "json") {
			flags = append(flags, []string{"--json"})
		}
		// Insert each flag at a random place among the positionals.
		var args []string
		slots := make([][]string, len(pos)+1)
		for _, f := range flags {
			i := rapid.IntRange(0, len(pos)).Draw(t, "slot")
			slots[i] = append(slots[i], f...)
		}
		for i := range pos {
			args = append(args, slots[i]...)
			args = append(args, pos[i])
		}
		args = append(args, slots[len(pos)]...)
		dashes := rapid.Bool().Draw(t, "dashes")
		tail := []string{"--json", "-x"}
		if dashes {
			args = append(append(args, "--"), tail...)
		}

		fs, gotDB, gotJSON, gotN := testFlags()
		got, err := cli.ParseFlags(fs, args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		want := append([]string(nil), pos...)
		if dashes {
			want = append(want, tail...)
		}
		if len(want) != len(got) || strings.Join(want, "\x00") != strings.Join(got, "\x00") {
			t.Fatalf("%q: positional %q, want %q", args, got, want)
		}
		if *gotDB != db || *gotN != n || *gotJSON != (len(flags) == 3) {
			t.Fatalf("%q: db %q n %d json %v", args, *gotDB, *gotN, *gotJSON)
		}
	})
}
