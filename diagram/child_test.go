package diagram_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/weftflow/weft/diagram"
	"github.com/weftflow/weft/dsl"
)

type shipment struct{ Box string }

// A Child statement is drawn as a box naming the child's workflow, in
// every format.
func TestChildIsDrawn(t *testing.T) {
	child := dsl.MustCompile[shipment]("ship", dsl.Return("shipped"))
	parent := dsl.MustCompile[shipment]("order", dsl.Child("send", child,
		func(s *shipment) shipment { return *s }, func(*shipment, string, error) error { return nil }))
	const want = "child send (workflow ship)"
	for name, draw := range map[string]func(*bytes.Buffer) error{
		"mermaid": func(b *bytes.Buffer) error { return diagram.Mermaid(b, parent) },
		"dot":     func(b *bytes.Buffer) error { return diagram.Dot(b, parent) },
		"svg":     func(b *bytes.Buffer) error { return diagram.SVG(b, parent, diagram.Overlay{}) },
	} {
		var b bytes.Buffer
		if err := draw(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s does not draw %q:\n%s", name, want, b.String())
		}
	}
}
