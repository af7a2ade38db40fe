package diagram

import (
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/weftflow/weft/dsl"
)

// Overlay is what an SVG shows on top of the definition.
type Overlay struct {
	// Counts is how many instances are parked at each statement path: a
	// badge on the statement, its fill darker the more there are.
	Counts map[string]int
	// Highlight marks statement paths (one instance's threads): drawn
	// with a thick outline.
	Highlight map[string]bool
	// Lost marks statement paths whose instances an upgrade would lose:
	// drawn red and dashed.
	Lost map[string]bool
	// Link, if set, makes each statement a link (for example to the
	// instances parked there).
	Link func(path string) string
}

// Layout constants, in SVG user units (pixels).
const (
	charW   = 7   // average width of a character of the 12px font
	boxH    = 30  // a statement's box
	gap     = 18  // between statements, vertically
	colGap  = 16  // between branches, horizontally
	pad     = 10  // inside containers
	labelH  = 18  // a container's or branch's title
	minBoxW = 110 // narrowest box
)

// box is a laid-out piece of the diagram: size, then drawing at (x, y).
type box struct {
	w, h int
	draw func(b *strings.Builder, x, y int)
}

// SVG writes def as a standalone SVG document, with o drawn on it.
func SVG(w io.Writer, def *dsl.Definition, o Overlay) error {
	l := &layout{o: o, max: 1}
	for _, c := range o.Counts {
		l.max = max(l.max, c)
	}
	main := l.seq(def.Root().Body(), "start", "", "end")
	parts := []box{l.titled("workflow "+def.Name()+" v"+fmt.Sprint(def.Version()), "", main, "frame")}
	if cleanup, ok := def.Cleanup(); ok {
		parts = append(parts, l.titled("on cancel (cleanup section)", "", l.seq(cleanup.Body(), "canceled", cleanup.Path(), ""), "frame"))
	}
	all := l.row(parts, nil)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="12" role="img" aria-label="workflow %s">`+"\n",
		all.w+2*pad, all.h+2*pad, all.w+2*pad, all.h+2*pad, esc(def.Name()))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>` + "\n")
	b.WriteString(`<style>` +
		`.stmt rect{fill:#fff;stroke:#555}.stmt.hl rect{stroke:#1565c0;stroke-width:3}.stmt.lost rect{stroke:#c62828;stroke-dasharray:5 3;fill:#ffebee}` +
		`.frame{fill:none;stroke:#999}.lane{fill:#f7f9fc;stroke:#7b8fa6;stroke-dasharray:6 4}.loop{fill:#fbfaf5;stroke:#a89f68}` +
		`rect.hl{stroke:#1565c0;stroke-width:3}rect.lost{stroke:#c62828;stroke-dasharray:5 3}` +
		`.title{fill:#333;font-weight:bold}.edge{stroke:#555;fill:none;marker-end:url(#arrow)}.label{fill:#555;font-style:italic}` +
		`rect.badge,.stmt rect.badge{fill:#e65100;stroke:none}.badgetext{fill:#fff;font-size:10px;font-weight:bold}` +
		`</style>` + "\n")
	all.draw(&b, pad, pad)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

type layout struct {
	o   Overlay
	max int // the largest count, for the heat scale
}

func textW(s string) int { return len(s)*charW + 2*pad }

// leaf is one statement's box.
func (l *layout) leaf(label, path, shape string) box {
	w := max(minBoxW, textW(label))
	return box{w: w, h: boxH, draw: func(b *strings.Builder, x, y int) { l.stmt(b, x, y, w, label, path, shape) }}
}

// stmt draws a statement box with its overlay.
func (l *layout) stmt(b *strings.Builder, x, y, w int, label, path, shape string) {
	class := "stmt"
	if l.o.Highlight[path] {
		class += " hl"
	}
	if l.o.Lost[path] {
		class += " lost"
	}
	link := ""
	if l.o.Link != nil && path != "" {
		link = l.o.Link(path)
	}
	if link != "" {
		fmt.Fprintf(b, `<a href="%s">`, esc(link))
	}
	fmt.Fprintf(b, `<g class="%s" data-path="%s"><title>%s</title>`, class, esc(path), esc(path))
	rx := 3
	switch shape {
	case "round", "terminal":
		rx = boxH / 2
	case "diamond":
		rx = 0
	}
	fill := ""
	if c := l.o.Counts[path]; c > 0 {
		// Heat: from pale to deep orange with the share of the largest count.
		a := 0.15 + 0.6*float64(c)/float64(l.max)
		fill = fmt.Sprintf(` style="fill:rgba(230,81,0,%.2f)"`, a)
	}
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" rx="%d"%s/>`, x, y, w, boxH, rx, fill)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, x+w/2, y+boxH/2+4, esc(label))
	l.badge(b, x+w, y, path)
	b.WriteString("</g>")
	if link != "" {
		b.WriteString("</a>")
	}
	b.WriteString("\n")
}

// badge draws the count of instances at path, if any, on the top right
// corner (right, top) of its box.
func (l *layout) badge(b *strings.Builder, right, top int, path string) {
	c := l.o.Counts[path]
	if c <= 0 {
		return
	}
	n := fmt.Sprint(c)
	bw := max(18, len(n)*7+8)
	fmt.Fprintf(b, `<rect class="badge" x="%d" y="%d" width="%d" height="16" rx="8"/><text class="badgetext" x="%d" y="%d" text-anchor="middle">%s</text>`,
		right-bw/2-4-bw/2, top-8, bw, right-4-bw/2, top+4, n)
}

// seq stacks statements vertically with arrows between them, between an
// optional first marker (standing for firstPath) and last marker.
func (l *layout) seq(body []dsl.Node, first, firstPath, last string) box {
	var parts []box
	if first != "" {
		parts = append(parts, l.leaf(first, firstPath, "terminal"))
	}
	for _, n := range body {
		parts = append(parts, l.stmtBox(n))
	}
	if last != "" {
		parts = append(parts, l.leaf(last, "", "terminal"))
	}
	if len(parts) == 0 { // (an event with no body: the thread goes on after the wait)
		return box{w: 20, h: gap, draw: func(b *strings.Builder, x, y int) {
			fmt.Fprintf(b, `<path class="edge" d="M%d,%d V%d"/>`+"\n", x+10, y, y+gap-2)
		}}
	}
	w, h := 0, 0
	for i, p := range parts {
		w = max(w, p.w)
		h += p.h
		if i > 0 {
			h += gap
		}
	}
	return box{w: w, h: h, draw: func(b *strings.Builder, x, y int) {
		for i, p := range parts {
			if i > 0 {
				fmt.Fprintf(b, `<path class="edge" d="M%d,%d V%d"/>`+"\n", x+w/2, y-gap, y-2)
			}
			p.draw(b, x+(w-p.w)/2, y)
			y += p.h + gap
		}
	}}
}

// row sets boxes side by side under optional labels, tops aligned.
func (l *layout) row(parts []box, labels []string) box {
	w, h := 0, 0
	top := 0
	if labels != nil {
		top = labelH
	}
	widths := make([]int, len(parts))
	for i, p := range parts {
		widths[i] = p.w
		if labels != nil {
			widths[i] = max(p.w, textW(labels[i]))
		}
		w += widths[i]
		if i > 0 {
			w += colGap
		}
		h = max(h, p.h)
	}
	return box{w: w, h: h + top, draw: func(b *strings.Builder, x, y int) {
		for i, p := range parts {
			cx := x + widths[i]/2
			if labels != nil && labels[i] != "" {
				fmt.Fprintf(b, `<text class="label" x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", cx, y+12, esc(labels[i]))
			}
			p.draw(b, cx-p.w/2, y+top)
			x += widths[i] + colGap
		}
	}}
}

// titled frames inner with a title; class styles the frame, and path (if
// not empty) is the statement the frame stands for, with its overlay.
func (l *layout) titled(title, path string, inner box, class string) box {
	w := max(inner.w, textW(title)) + 2*pad
	h := inner.h + labelH + 2*pad
	return box{w: w, h: h, draw: func(b *strings.Builder, x, y int) {
		if l.o.Highlight[path] {
			class += " hl"
		}
		if l.o.Lost[path] {
			class += " lost"
		}
		fmt.Fprintf(b, `<g data-path="%s"><rect class="%s" x="%d" y="%d" width="%d" height="%d" rx="6"/>`, esc(path), class, x, y, w, h)
		fmt.Fprintf(b, `<text class="title" x="%d" y="%d">%s</text>`, x+pad, y+14, esc(title))
		l.badge(b, x+w, y, path)
		b.WriteString("</g>\n")
		inner.draw(b, x+(w-inner.w)/2, y+labelH+pad)
	}}
}

// under puts head above body, joined by an arrow.
func (l *layout) under(head, body box) box {
	w := max(head.w, body.w)
	return box{w: w, h: head.h + gap + body.h, draw: func(b *strings.Builder, x, y int) {
		head.draw(b, x+(w-head.w)/2, y)
		fmt.Fprintf(b, `<path class="edge" d="M%d,%d V%d"/>`+"\n", x+w/2, y+head.h, y+head.h+gap-2)
		body.draw(b, x+(w-body.w)/2, y+head.h+gap)
	}}
}

func (l *layout) stmtBox(n dsl.Node) box {
	switch n.Kind() {
	case dsl.KindStep, dsl.KindCall, dsl.KindWaitFor:
		return l.leaf(n.Kind().String()+" "+n.Name(), n.Path(), "box")
	case dsl.KindChild:
		return l.leaf(childLabel(n), n.Path(), "box")
	case dsl.KindJoin:
		return l.leaf("join "+n.Name()+" ("+strings.Join(n.Threads(), ", ")+")", n.Path(), "box")
	case dsl.KindReturn, dsl.KindFail, dsl.KindBreak, dsl.KindContinue:
		return l.leaf(n.Kind().String(), n.Path(), "terminal")
	case dsl.KindSection:
		return l.titled("section "+n.Name(), n.Path(), l.seq(n.Body(), "", "", ""), "frame")
	case dsl.KindLoop:
		return l.titled("loop "+n.Name()+" (repeats)", n.Path(), l.seq(n.Body(), "", "", ""), "loop")
	case dsl.KindGo:
		return l.titled("thread "+n.Name()+" (runs alongside)", n.Path(), l.seq(n.Body(), "", "", ""), "lane")
	case dsl.KindIf:
		var cols []box
		var labels []string
		for _, br := range n.Arms() {
			cols = append(cols, l.seq(br.Body(), "", "", ""))
			labels = append(labels, br.Name())
		}
		return l.under(l.leaf("if "+n.Name(), n.Path(), "diamond"), l.row(cols, labels))
	case dsl.KindWait:
		var cols []box
		var labels []string
		for _, on := range n.Arms() {
			cols = append(cols, l.seq(on.Body(), "", "", ""))
			labels = append(labels, "on "+onLabel(on))
		}
		return l.under(l.leaf("wait "+n.Name(), n.Path(), "box"), l.row(cols, labels))
	}
	return l.leaf(n.Kind().String()+" "+n.Name(), n.Path(), "box")
}

func esc(s string) string { return html.EscapeString(s) }
