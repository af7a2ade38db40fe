package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage"
)

// filteredView is inspect's JSON with --workflow, --status or --counts.
type filteredView struct {
	Instances []instanceView `json:"instances,omitempty"`
	Counts    map[string]int `json:"counts"` // per status, of the workflow (or all)
}

// inspectFiltered lists the instances matching f in order (unless
// countsOnly) and the number of instances per status of f's workflow.
func (p *Program) inspectFiltered(ctx context.Context, e *engine.Engine, f storage.Filter, order storage.Order, countsOnly, asJSON bool) error {
	var out filteredView
	tw := tabwriter.NewWriter(p.Stdout, 0, 4, 2, ' ', 0)
	if !countsOnly {
		if !asJSON {
			fmt.Fprintln(tw, "ID\tWORKFLOW\tSTATUS\tTHREADS\tWAITING FOR\tDUE")
		}
		q := storage.Query{Filter: f, Order: order, Limit: 500}
		for {
			page, err := e.Find(ctx, q)
			if err != nil {
				return err
			}
			for _, inst := range page.Instances {
				v, err := p.view(inst, false)
				if err != nil {
					return err
				}
				if asJSON {
					out.Instances = append(out.Instances, v)
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Workflow, v.Status,
					strings.Join(v.threadCells(), ", "), strings.Join(v.waitCells(), ", "), v.Due)
			}
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
	}
	counts, err := e.Count(ctx, storage.Filter{Workflow: f.Workflow})
	if err != nil {
		return err
	}
	if asJSON {
		out.Counts = counts
		return writeJSON(p.Stdout, out)
	}
	if !countsOnly {
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(p.Stdout)
	}
	of := "all workflows"
	if f.Workflow != "" {
		of = fmt.Sprintf("workflow %q", f.Workflow)
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	fmt.Fprintf(p.Stdout, "%s of %s", plural(total, "instance"), of)
	for _, st := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(p.Stdout, ", %d %s", counts[st], st)
	}
	_, err = fmt.Fprintln(p.Stdout)
	return err
}
