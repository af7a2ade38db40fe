package diagram

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weftflow/weft/dsl"
)

// A flow is the definition as a graph of nodes and edges, for the text
// formats: every statement is a node, control passes along edges.
type flow struct {
	nodes    []flowNode
	edges    []flowEdge
	clusters []cluster
}

type flowNode struct {
	id, label, path string
	shape           string // "box", "round", "diamond", "event", "terminal"
}

type flowEdge struct {
	from, to, label string
	back            bool // a loop's return to its head
}

type cluster struct {
	title string
	nodes []string
	dash  bool // a thread's lane
}

// build walks def into a flow.
func build(def *dsl.Definition) *flow {
	f := &flow{}
	start := f.node("start", "start", "", "terminal")
	entry, exits := f.seq(def.Root().Body(), nil)
	end := f.node("end", "end", "", "terminal")
	f.connect([]string{start}, entry, end, "")
	f.join(exits, end)
	if cleanup, ok := def.Cleanup(); ok {
		c := f.node("cancel", "on cancel", cleanup.Path(), "terminal")
		entry, exits := f.seq(cleanup.Body(), nil)
		f.connect([]string{c}, entry, end, "")
		f.join(exits, end)
	}
	return f
}

// loopCtx is the innermost loop being walked: where continue and break go.
type loopCtx struct {
	head   string
	breaks *[]string
}

func (f *flow) node(id, label, path, shape string) string {
	f.nodes = append(f.nodes, flowNode{id: id, label: label, path: path, shape: shape})
	return id
}

func (f *flow) edge(from, to, label string) {
	f.edges = append(f.edges, flowEdge{from: from, to: to, label: label})
}

// connect links each of from to entry, or to dflt when entry is empty.
func (f *flow) connect(from []string, entry, dflt, label string) {
	to := entry
	if to == "" {
		to = dflt
	}
	for _, x := range from {
		f.edge(x, to, label)
	}
}

func (f *flow) join(from []string, to string) { f.connect(from, to, to, "") }

// seq walks a statement list: its entry node ("" if empty) and the nodes
// control leaves it from.
func (f *flow) seq(body []dsl.Node, loop *loopCtx) (entry string, exits []string) {
	var open []string
	first := true
	for _, n := range body {
		e, x := f.stmt(n, loop)
		if first {
			entry, first = e, false
		} else {
			f.join(open, e)
		}
		open = x
	}
	return entry, open
}

func (f *flow) id(n dsl.Node) string {
	if n.Path() == "" {
		return fmt.Sprintf("n%d_", len(f.nodes)) // unique: one id per flow node
	}
	return "s_" + n.Path()
}

func (f *flow) stmt(n dsl.Node, loop *loopCtx) (entry string, exits []string) {
	id := f.id(n)
	switch n.Kind() {
	case dsl.KindStep, dsl.KindCall, dsl.KindWaitFor, dsl.KindJoin:
		label := n.Kind().String() + " " + n.Name()
		if n.Kind() == dsl.KindJoin {
			label += " (" + strings.Join(n.Threads(), ", ") + ")"
		}
		return f.node(id, label, n.Path(), "box"), []string{id}
	case dsl.KindChild:
		return f.node(id, childLabel(n), n.Path(), "box"), []string{id}
	case dsl.KindReturn, dsl.KindFail:
		return f.node(id, n.Kind().String(), n.Path(), "terminal"), nil
	case dsl.KindBreak:
		f.node(id, "break", n.Path(), "round")
		if loop != nil {
			*loop.breaks = append(*loop.breaks, id)
		}
		return id, nil
	case dsl.KindContinue:
		f.node(id, "continue", n.Path(), "round")
		if loop != nil {
			f.edges = append(f.edges, flowEdge{from: id, to: loop.head, back: true})
		}
		return id, nil
	case dsl.KindSection:
		e, x := f.seq(n.Body(), loop)
		f.clusters = append(f.clusters, cluster{title: "section " + n.Name(), nodes: f.under(n)})
		if e == "" {
			e = f.node(id, "section "+n.Name(), n.Path(), "round")
			x = []string{e}
		}
		return e, x
	case dsl.KindLoop:
		head := f.node(id, "loop "+n.Name(), n.Path(), "diamond")
		var breaks []string
		e, x := f.seq(n.Body(), &loopCtx{head: head, breaks: &breaks})
		if e != "" {
			f.edge(head, e, "repeat")
		}
		for _, b := range x {
			f.edges = append(f.edges, flowEdge{from: b, to: head, back: true})
		}
		exits = breaks
		if n.HasCond() {
			exits = append(exits, head) // the condition can end it
		}
		return head, exits
	case dsl.KindIf:
		head := f.node(id, "if "+n.Name(), n.Path(), "diamond")
		hasElse := false
		for _, br := range n.Arms() {
			if !br.HasCond() {
				hasElse = true
			}
			e, x := f.seq(br.Body(), loop)
			if e == "" {
				exits = append(exits, head)
				continue
			}
			f.edge(head, e, br.Name())
			exits = append(exits, x...)
		}
		if !hasElse {
			exits = append(exits, head)
		}
		return head, exits
	case dsl.KindWait:
		head := f.node(id, "wait "+n.Name(), n.Path(), "box")
		for _, on := range n.Arms() {
			ev := f.node(f.id(on), onLabel(on), on.Path(), "event")
			f.edge(head, ev, "")
			e, x := f.seq(on.Body(), loop)
			if e == "" {
				exits = append(exits, ev)
				continue
			}
			f.edge(ev, e, "")
			exits = append(exits, x...)
		}
		return head, exits
	case dsl.KindGo:
		head := f.node(id, "go "+n.Name(), n.Path(), "round")
		e, _ := f.seq(n.Body(), nil)
		if e != "" {
			f.edge(head, e, "thread")
		}
		f.clusters = append(f.clusters, cluster{title: "thread " + n.Name(), nodes: f.under(n), dash: true})
		return head, []string{head}
	}
	return f.node(id, n.Kind().String()+" "+n.Name(), n.Path(), "box"), []string{id}
}

// under lists the flow nodes of statements below n.
func (f *flow) under(n dsl.Node) []string {
	var out []string
	for _, fn := range f.nodes {
		if fn.path != "" && strings.HasPrefix(fn.path, n.Path()+"/") {
			out = append(out, fn.id)
		}
	}
	return out
}

// onLabel names a wait's event and what fires it.
func onLabel(on dsl.Node) string {
	switch {
	case on.Trigger() == 0:
		return on.Name()
	case on.At():
		return on.Name() + " (timer, at a time)"
	case on.Trigger() == dsl.TriggerTimer:
		return on.Name() + " (after " + shortDuration(on.After()) + ")"
	case on.HasSetup():
		return on.Name() + " (event, with setup)"
	}
	return on.Name() + " (event)"
}

func shortDuration(d time.Duration) string {
	s := d.String() // "24h0m0s", "1h30m0s", "1m30s"
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		return "0s"
	}
	return s
}

// Mermaid writes def as a Mermaid flowchart.
func Mermaid(w io.Writer, def *dsl.Definition) error {
	f := build(def)
	ids := f.shortIDs()
	var b strings.Builder
	fmt.Fprintf(&b, "flowchart TD\n")
	inCluster := map[string]bool{}
	for i, c := range f.clusters {
		fmt.Fprintf(&b, "  subgraph c%d[%q]\n", i, c.title)
		for _, n := range c.nodes {
			if !inCluster[n] {
				fmt.Fprintf(&b, "    %s\n", ids[n])
				inCluster[n] = true
			}
		}
		b.WriteString("  end\n")
	}
	for _, n := range f.nodes {
		l := strings.ReplaceAll(n.label, `"`, "'")
		switch n.shape {
		case "diamond":
			fmt.Fprintf(&b, "  %s{\"%s\"}\n", ids[n.id], l)
		case "round", "terminal":
			fmt.Fprintf(&b, "  %s([\"%s\"])\n", ids[n.id], l)
		case "event":
			fmt.Fprintf(&b, "  %s>\"%s\"]\n", ids[n.id], l)
		default:
			fmt.Fprintf(&b, "  %s[\"%s\"]\n", ids[n.id], l)
		}
	}
	for _, e := range f.edges {
		arrow := "-->"
		if e.back {
			arrow = "-.->"
		}
		if e.label != "" {
			fmt.Fprintf(&b, "  %s %s|%q| %s\n", ids[e.from], arrow, e.label, ids[e.to])
		} else {
			fmt.Fprintf(&b, "  %s %s %s\n", ids[e.from], arrow, ids[e.to])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Dot writes def as a Graphviz digraph.
func Dot(w io.Writer, def *dsl.Definition) error {
	f := build(def)
	ids := f.shortIDs()
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=11];\n", def.Name())
	for i, c := range f.clusters {
		style := "rounded"
		if c.dash {
			style = "dashed"
		}
		fmt.Fprintf(&b, "  subgraph cluster_%d {\n    label=%q; style=%s;\n", i, c.title, style)
		for _, n := range c.nodes {
			fmt.Fprintf(&b, "    %s;\n", ids[n])
		}
		b.WriteString("  }\n")
	}
	for _, n := range f.nodes {
		shape := map[string]string{"diamond": "diamond", "round": "oval", "terminal": "oval", "event": "cds"}[n.shape]
		if shape == "" {
			shape = "box"
		}
		fmt.Fprintf(&b, "  %s [label=%q, shape=%s];\n", ids[n.id], n.label, shape)
	}
	for _, e := range f.edges {
		attrs := []string{}
		if e.label != "" {
			attrs = append(attrs, fmt.Sprintf("label=%q", e.label))
		}
		if e.back {
			attrs = append(attrs, "style=dashed", "constraint=false")
		}
		fmt.Fprintf(&b, "  %s -> %s", ids[e.from], ids[e.to])
		if len(attrs) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(attrs, ", "))
		}
		b.WriteString(";\n")
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// shortIDs gives the nodes identifiers both formats accept: n0, n1, ...
// in walk order (statement paths hold spaces and slashes).
func (f *flow) shortIDs() map[string]string {
	ids := make(map[string]string, len(f.nodes))
	for i, n := range f.nodes {
		ids[n.id] = fmt.Sprintf("n%d", i)
	}
	return ids
}

// childLabel is a Child statement's label: "child NAME (workflow W)".
func childLabel(n dsl.Node) string {
	if n.Workflow() == "" {
		return "child " + n.Name()
	}
	return "child " + n.Name() + " (workflow " + n.Workflow() + ")"
}
