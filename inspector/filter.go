package inspector

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/weftflow/weft/engine"
)

// filter is what the instance list is narrowed to.
type filter struct {
	Workflow string // "" for every workflow
	Status   string // interp.Status.String(), "" for every status
	Prefix   string // of the instance ID
	At       string // a statement path one of its threads is at; "" for any
}

func (f filter) match(in engine.Instance) bool {
	return (f.Workflow == "" || in.Workflow == f.Workflow) &&
		(f.Status == "" || in.Meta.Status.String() == f.Status) &&
		strings.HasPrefix(in.ID, f.Prefix) && (f.At == "" || at(in, f.At))
}

func at(in engine.Instance, path string) bool {
	for _, th := range in.Meta.Threads {
		if th.Path == path {
			return true
		}
	}
	return false
}

// found is one page of the instance list.
type found struct {
	Instances []engine.Instance
	Next      string // the cursor of the next page; "" when there is none
	Scanned   int    // stored instances read for this page
	Short     bool   // the scan budget ran out before the page filled
}

// listPage is the one place the instance list reads the store: the page
// of instances matching f with IDs after the cursor. The engine has no
// index by workflow or status yet, so it reads engine.List pages in ID
// order and filters them here, reading at most budget instances per
// request (a page that could not fill says so, and its cursor goes on
// from where the scan stopped). An ID prefix starts the scan at the
// prefix and stops it past the prefix's range. When the engine has an
// indexed query, this function is what changes.
func listPage(ctx context.Context, e *engine.Engine, f filter, after string, size, budget int) (found, error) {
	var out found
	if f.Prefix != "" && after < f.Prefix {
		after = before(f.Prefix)
	}
	batch := min(max(size, 100), 500)
	for out.Scanned < budget {
		n := min(batch, budget-out.Scanned)
		page, err := e.List(ctx, after, n)
		if err != nil {
			return out, err
		}
		for _, in := range page {
			out.Scanned++
			if f.Prefix != "" && !strings.HasPrefix(in.ID, f.Prefix) && in.ID > f.Prefix {
				return out, nil // past the prefix's range
			}
			if !f.match(in) {
				continue
			}
			out.Instances = append(out.Instances, in)
			if len(out.Instances) == size {
				out.Next = in.ID
				return out, nil
			}
		}
		if len(page) < n {
			return out, nil // the end of the store
		}
		after = page[len(page)-1].ID
	}
	out.Short, out.Next = true, after
	return out, nil
}

// before returns a string less than prefix with no likely ID between the
// two, so that a scan after it starts at prefix: prefix with its last
// character decremented and followed by the largest one (U+10FFFF). It
// stays valid UTF-8 when prefix is (a PostgreSQL store compares text);
// for other prefixes it drops the last byte, which is correct, only
// slower.
func before(prefix string) string {
	r, n := utf8.DecodeLastRuneInString(prefix)
	head := prefix[:len(prefix)-n]
	switch {
	case r == utf8.RuneError && n <= 1, r == 0:
		return head
	case r == 0xE000:
		r = 0xD7FF // below the surrogates
	default:
		r--
	}
	return head + string(r) + string(utf8.MaxRune)
}

// census counts instances: per workflow and status, and per workflow and
// thread position of the live ones. It reads at most limit instances.
type census struct {
	Total    int
	Short    bool                      // stopped at the limit
	Status   map[string]map[string]int // workflow -> status -> count
	Parked   map[string]map[string]int // workflow -> path -> live instances with a thread there
	Due      []engine.Instance         // live instances with a due time, soonest first (at most dueKeep)
	Failures []engine.Instance         // failed instances (at most failKeep)
}

const (
	dueKeep  = 10
	failKeep = 10
)

// count reads the store's instances (of workflow only, when not "") into a
// census.
func count(ctx context.Context, e *engine.Engine, workflow string, limit int) (*census, error) {
	c := &census{Status: map[string]map[string]int{}, Parked: map[string]map[string]int{}}
	const batch = 500
	for after := ""; ; {
		if c.Total >= limit {
			c.Short = true
			return c, nil
		}
		n := min(batch, limit-c.Total)
		page, err := e.List(ctx, after, n)
		if err != nil {
			return nil, err
		}
		for _, in := range page {
			c.Total++
			if workflow == "" || in.Workflow == workflow {
				c.add(in)
			}
		}
		if len(page) < n {
			return c, nil
		}
		after = page[len(page)-1].ID
	}
}

func (c *census) add(in engine.Instance) {
	st := in.Meta.Status.String()
	if c.Status[in.Workflow] == nil {
		c.Status[in.Workflow] = map[string]int{}
		c.Parked[in.Workflow] = map[string]int{}
	}
	c.Status[in.Workflow][st]++
	if in.Meta.Status.Finished() {
		if st == "failed" && len(c.Failures) < failKeep {
			c.Failures = append(c.Failures, in)
		}
		return
	}
	seen := map[string]bool{}
	for _, th := range in.Meta.Threads {
		if !seen[th.Path] {
			seen[th.Path] = true
			c.Parked[in.Workflow][th.Path]++
		}
	}
	if in.Meta.Due != 0 {
		c.Due = insertDue(c.Due, in)
	}
}

// insertDue keeps the dueKeep soonest instances, sorted.
func insertDue(due []engine.Instance, in engine.Instance) []engine.Instance {
	i := len(due)
	for i > 0 && due[i-1].Meta.Due > in.Meta.Due {
		i--
	}
	if i >= dueKeep {
		return due
	}
	due = append(due, engine.Instance{})
	copy(due[i+1:], due[i:])
	due[i] = in
	if len(due) > dueKeep {
		due = due[:dueKeep]
	}
	return due
}
