// Package diagram draws a workflow definition: its statements, the
// branches of ifs and switches, loops, waits with their events, threads
// started with Go, sections and the cancel cleanup section.
//
// Three renderings share one walk of the definition: [SVG], laid out here
// with no JavaScript or external tool, which can carry an [Overlay] (how
// many instances are parked at each statement, one instance's threads
// highlighted, positions an upgrade would lose); [Mermaid], for Markdown
// that GitHub and many wikis render; and [Dot], for Graphviz. `weft
// diagram WORKFLOW --format svg|mermaid|dot` writes them from the command
// line, and the inspector draws its pages with SVG.
package diagram
