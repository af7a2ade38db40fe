package diagram_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/weftflow/weft/diagram"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/internal/defgen"
	"pgregory.net/rapid"
)

var update = flag.Bool("update", false, "rewrite docs/pizza.svg")

// Every statement of any definition is drawn, in every format, and the
// outputs are well formed: the SVG parses as XML, every Mermaid and Dot
// edge joins declared nodes.
func TestEveryStatementIsDrawn(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		d := defgen.Generator(defgen.Config{}).Draw(rt, "definition")
		var svg bytes.Buffer
		if err := diagram.SVG(&svg, d.Definition, diagram.Overlay{}); err != nil {
			rt.Fatal(err)
		}
		dec := xml.NewDecoder(bytes.NewReader(svg.Bytes()))
		drawn := map[string]bool{}
		for {
			tok, err := dec.Token()
			if err != nil {
				if err.Error() != "EOF" {
					rt.Fatalf("the SVG is not well-formed XML: %v", err)
				}
				break
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "g" {
				for _, a := range se.Attr {
					if a.Name.Local == "data-path" {
						drawn[a.Value] = true
					}
				}
			}
		}
		for _, p := range d.Definition.Positions() {
			if !drawn[p] && !onPath(d.Definition.Positions(), p) {
				rt.Fatalf("statement %q is not in the SVG", p)
			}
		}
		var mm, dot bytes.Buffer
		if err := diagram.Mermaid(&mm, d.Definition); err != nil {
			rt.Fatal(err)
		}
		if err := diagram.Dot(&dot, d.Definition); err != nil {
			rt.Fatal(err)
		}
		checkEdges(rt, "mermaid", mm.String(), regexp.MustCompile(`(?m)^\s+(n\d+)[\[\(\{>]`), regexp.MustCompile(`(?m)^\s+(n\d+) -[.-]*-?> (?:\|"[^"]*"\| )?(n\d+)$`))
		checkEdges(rt, "dot", dot.String(), regexp.MustCompile(`(?m)^\s+(n\d+) \[label=`), regexp.MustCompile(`(?m)^\s+(n\d+) -> (n\d+)`))
	})
}

// onPath reports whether p is an event of a wait (an On, drawn in its
// wait's row rather than as a box of its own).
func onPath(all []string, p string) bool {
	i := strings.LastIndex(p, "/")
	if i < 0 {
		return false
	}
	for _, q := range all {
		if q == p[:i] {
			return true // its parent is drawn; On nodes are labels of the row
		}
	}
	return false
}

func checkEdges(rt *rapid.T, format, out string, node, edge *regexp.Regexp) {
	nodes := map[string]bool{}
	for _, m := range node.FindAllStringSubmatch(out, -1) {
		nodes[m[1]] = true
	}
	if len(nodes) == 0 {
		rt.Fatalf("%s: no nodes in\n%s", format, out)
	}
	for _, m := range edge.FindAllStringSubmatch(out, -1) {
		if !nodes[m[1]] || !nodes[m[2]] {
			rt.Fatalf("%s: edge %s -> %s joins an undeclared node:\n%s", format, m[1], m[2], out)
		}
	}
}

// The overlay shows counts, the highlighted threads and lost positions.
func TestOverlay(t *testing.T) {
	var b bytes.Buffer
	err := diagram.SVG(&b, pizza.Workflow, diagram.Overlay{
		Counts:    map[string]int{"cart/shopping": 40000, "kitchen": 3},
		Highlight: map[string]bool{"kitchen": true},
		Lost:      map[string]bool{"courier": true},
		Link:      func(p string) string { return "/instances?at=" + p },
	})
	if err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{
		`class="stmt hl" data-path="kitchen"`,
		`class="stmt lost" data-path="courier"`,
		`>40000</text>`,
		`>3</text>`,
		`href="/instances?at=cart/shopping"`,
		`on abandoned (after 24h)`,
		`on confirm (event, with setup)`,
		`thread payment (runs alongside)`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	// Without an overlay, nothing is marked.
	b.Reset()
	if err := diagram.SVG(&b, pizza.Workflow, diagram.Overlay{}); err != nil {
		t.Fatal(err)
	}
	for _, unwanted := range []string{"stmt hl", "stmt lost", `class="badge"`, "<a "} {
		if strings.Contains(b.String(), unwanted) {
			t.Errorf("SVG without overlay has %q", unwanted)
		}
	}
}

// docs/pizza.svg, embedded in the docs, is what SVG draws today.
func TestPizzaSVGInDocs(t *testing.T) {
	var b bytes.Buffer
	if err := diagram.SVG(&b, pizza.Workflow, diagram.Overlay{}); err != nil {
		t.Fatal(err)
	}
	const path = "../docs/pizza.svg"
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, b.Bytes()) {
		t.Fatalf("%s is out of date: go test ./diagram -run TestPizzaSVGInDocs -update", path)
	}
}
