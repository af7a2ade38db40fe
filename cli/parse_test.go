package cli

import (
	"strings"
	"testing"
)

// parse leaves the positional arguments in fs.Args, flags anywhere, for
// commands written against the flag package's own accessors.
func TestParseLeavesPositionalArgs(t *testing.T) {
	fs := newFlags("t")
	db := fs.String("db", "", "")
	if err := parse(fs, []string{"a", "--db", "F", "b", "--", "-c", "--db"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fs.Args(), " "); got != "a b -c --db" || *db != "F" {
		t.Fatalf("args %q db %q", got, *db)
	}
}
