// Package errmsg checks that an error message says each piece of context
// once, for the tests of the packages that wrap errors in layers (engine,
// cli, httpapi). See docs/guarantees.md, "Error messages".
package errmsg

import (
	"fmt"
	"regexp"
	"strings"
)

// Context is what a message may name at most once. Empty fields are not
// checked.
type Context struct {
	Instance string // an instance ID
	Workflow string // a workflow's name
	Callback uint64 // a callback number
}

// Prefixes are the package prefixes a message may hold at most once each.
var Prefixes = []string{"engine:", "interp:", "codec:", "storage:", "bolt:", "postgres:", "memory:", "dsl:", "httpapi:", "cli:"}

var word = regexp.MustCompile(`[\p{L}\p{N}_./-]+`)

// Repeats lists what msg says more than once: the instance ID, the
// workflow's name (as a whole word), the callback number (after the word
// "callback"), a package prefix, or a run of three words.
func Repeats(msg string, c Context) []string {
	var out []string
	count := func(re string) int { return len(regexp.MustCompile(re).FindAllStringIndex(msg, -1)) }
	if c.Instance != "" {
		if n := strings.Count(msg, c.Instance); n > 1 {
			out = append(out, fmt.Sprintf("instance ID %q %d times", c.Instance, n))
		}
	}
	if c.Workflow != "" {
		if n := count(`(^|[^\p{L}\p{N}_-])` + regexp.QuoteMeta(c.Workflow) + `($|[^\p{L}\p{N}_-])`); n > 1 {
			out = append(out, fmt.Sprintf("workflow %q %d times", c.Workflow, n))
		}
	}
	if c.Callback != 0 {
		if n := count(fmt.Sprintf(`(?i)callback\D{0,12}\b%d\b`, c.Callback)); n > 1 {
			out = append(out, fmt.Sprintf("callback %d %d times", c.Callback, n))
		}
	}
	for _, p := range Prefixes {
		if n := strings.Count(msg, p); n > 1 {
			out = append(out, fmt.Sprintf("prefix %q %d times", p, n))
		}
	}
	words := word.FindAllString(strings.ToLower(msg), -1)
	seen := map[string]bool{}
	for i := 0; i+3 <= len(words); i++ {
		k := strings.Join(words[i:i+3], " ")
		if seen[k] {
			out = append(out, fmt.Sprintf("words %q twice", k))
		}
		seen[k] = true
	}
	return out
}
