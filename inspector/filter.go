package inspector

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage"
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
// of instances matching f after the cursor. The store's listing indexes
// (engine.Find) select by workflow, status and ID prefix; a position
// (f.At) is checked here, on the decoded threads, reading at most budget
// instances per request (a page that could not fill says so, and its
// cursor goes on from where the scan stopped).
func listPage(ctx context.Context, e *engine.Engine, f filter, after string, size, budget int) (found, error) {
	var out found
	q := storage.Query{Filter: storage.Filter{Workflow: f.Workflow, Status: f.Status, IDPrefix: f.Prefix}, After: after}
	for out.Scanned < budget {
		q.Limit = min(size-len(out.Instances), budget-out.Scanned)
		if f.At != "" {
			q.Limit = min(max(q.Limit, 100), budget-out.Scanned) // most will not be there
		}
		page, err := e.Find(ctx, q)
		if err != nil {
			return out, err
		}
		for i, in := range page.Instances {
			out.Scanned++
			if f.At != "" && !at(in, f.At) {
				continue
			}
			out.Instances = append(out.Instances, in)
			if len(out.Instances) == size {
				if i < len(page.Instances)-1 || page.Next != "" {
					// A cursor right after this instance: the next page
					// starts with what this one did not show.
					out.Next = cursorAfter(q, page, i)
				}
				return out, nil
			}
		}
		if page.Next == "" {
			return out, nil // the end
		}
		q.After = page.Next
	}
	out.Short, out.Next = true, q.After
	return out, nil
}

// cursorAfter is the cursor that continues q after instance i of page.
func cursorAfter(q storage.Query, page engine.Page, i int) string {
	if i == len(page.Instances)-1 {
		return page.Next
	}
	in := page.Instances[i]
	return storage.NextCursor(q.Order, storage.Instance{ID: in.ID, Due: in.Meta.Due})
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
	At       time.Time // when it was made
	Read     int       // live instances read for positions and due times
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

// count makes the census of the store (of workflow only, when not ""):
// the counts per status come from the store's listing index (engine.Count,
// exact at any size); positions, due times and failures from the live
// instances and the latest failures, reading at most limit instances.
func count(ctx context.Context, e *engine.Engine, workflow string, limit int) (*census, error) {
	c := &census{Status: map[string]map[string]int{}, Parked: map[string]map[string]int{}}
	workflows := []string{workflow}
	if workflow == "" {
		workflows = registered(e)
	}
	for _, w := range workflows {
		counts, err := e.Count(ctx, storage.Filter{Workflow: w})
		if err != nil {
			return nil, err
		}
		c.Status[w], c.Parked[w] = counts, map[string]int{}
		for _, n := range counts {
			c.Total += n
		}
	}
	// Instances of workflows the program has no definition of still count.
	if workflow == "" {
		all, err := e.Count(ctx, storage.Filter{})
		if err != nil {
			return nil, err
		}
		known := 0
		for _, n := range all {
			known += n
		}
		if other := known - c.Total; other > 0 {
			c.Status["(other workflows)"] = map[string]int{"all": other}
			c.Total = known
		}
	}
	read := 0
	for _, w := range workflows {
		for _, st := range []string{"running", "canceling"} {
			q := storage.Query{Filter: storage.Filter{Workflow: w, Status: st}}
			for {
				if read >= limit {
					c.Short = true
					return c, nil
				}
				q.Limit = min(500, limit-read)
				page, err := e.Find(ctx, q)
				if err != nil {
					return nil, err
				}
				for _, in := range page.Instances {
					read++
					c.Read = read
					c.addLive(in)
				}
				if page.Next == "" {
					break
				}
				q.After = page.Next
			}
		}
		page, err := e.Find(ctx, storage.Query{Filter: storage.Filter{Workflow: w, Status: "failed"}, Limit: failKeep})
		if err != nil {
			return nil, err
		}
		c.Failures = append(c.Failures, page.Instances...)
	}
	return c, nil
}

// addLive adds a live instance's positions and due time.
func (c *census) addLive(in engine.Instance) {
	if c.Parked[in.Workflow] == nil {
		c.Parked[in.Workflow] = map[string]int{}
	}
	seen := map[string]bool{}
	for _, th := range in.Meta.Threads {
		if !seen[th.Path] {
			seen[th.Path] = true
			c.Parked[in.Workflow][th.Path]++
		}
	}
	if !in.Meta.Due.IsZero() {
		c.Due = insertDue(c.Due, in)
	}
}

// insertDue keeps the dueKeep soonest instances, sorted.
func insertDue(due []engine.Instance, in engine.Instance) []engine.Instance {
	i := len(due)
	for i > 0 && due[i-1].Meta.Due.After(in.Meta.Due) {
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

// registered lists the names of e's workflows, sorted.
func registered(e *engine.Engine) []string {
	var names []string
	for _, d := range e.Definitions() {
		if !slices.Contains(names, d.Name()) {
			names = append(names, d.Name())
		}
	}
	slices.Sort(names)
	return names
}
