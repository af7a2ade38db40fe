package defgen

import (
	"fmt"
	"sort"
	"strings"
)

// Stats is what generated definitions and their runs covered.
type Stats struct {
	Kinds       map[Kind]int   // statements and triggers generated, by kind
	Depth       int            // deepest nesting of statements
	MaxLive     int            // most threads live at once in a run (main included)
	Runs        int            // runs driven
	RunsFive    int            // runs that had five or more threads live at once
	Transitions int            // accepted transitions
	Actions     map[string]int // driver actions taken, by name
	Errors      map[string]int // refused events, by sentinel
	Finished    map[string]int // runs that ended, by status
}

// Add merges o into s.
func (s *Stats) Add(o Stats) {
	if s.Kinds == nil {
		s.Kinds = map[Kind]int{}
	}
	for k, n := range o.Kinds {
		s.Kinds[k] += n
	}
	s.Depth = max(s.Depth, o.Depth)
	s.MaxLive = max(s.MaxLive, o.MaxLive)
	s.Transitions += o.Transitions
	s.Runs += o.Runs
	s.RunsFive += o.RunsFive
	s.Actions = addCounts(s.Actions, o.Actions)
	s.Errors = addCounts(s.Errors, o.Errors)
	s.Finished = addCounts(s.Finished, o.Finished)
}

func addCounts(a, b map[string]int) map[string]int {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = map[string]int{}
	}
	for k, n := range b {
		a[k] += n
	}
	return a
}

// Missing lists the kinds never generated.
func (s Stats) Missing() []Kind {
	var out []Kind
	for _, k := range AllKinds {
		if s.Kinds[k] == 0 {
			out = append(out, k)
		}
	}
	return out
}

// String reports the statistics on a few lines.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d runs, %d transitions; max live threads %d (five or more in %d runs); max depth %d\n",
		s.Runs, s.Transitions, s.MaxLive, s.RunsFive, s.Depth)
	b.WriteString("kinds:")
	for _, k := range AllKinds {
		fmt.Fprintf(&b, " %s=%d", k, s.Kinds[k])
	}
	b.WriteString("\n")
	for _, m := range []struct {
		name string
		m    map[string]int
	}{{"actions", s.Actions}, {"errors", s.Errors}, {"ended", s.Finished}} {
		keys := make([]string, 0, len(m.m))
		for k := range m.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(m.name + ":")
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%d", k, m.m[k])
		}
		b.WriteString("\n")
	}
	return b.String()
}
