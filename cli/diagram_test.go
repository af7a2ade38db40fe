package cli_test

import (
	"strings"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
)

func TestDiagram(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"diagram", "pizza"}, 0, `<svg xmlns="http://www.w3.org/2000/svg"`},
		{[]string{"diagram", "--format", "mermaid", "pizza"}, 0, "flowchart TD"},
		{[]string{"diagram", "--format", "dot", "pizza"}, 0, `digraph "pizza"`},
		{[]string{"diagram", "--upgrade", "pizza"}, 0, "workflow pizza v2"},
		{[]string{"diagram", "nope"}, 2, ""},
		{[]string{"diagram", "--format", "png", "pizza"}, 2, ""},
		{[]string{"diagram"}, 2, ""},
	} {
		p, out, errb := tool(approval.Workflow, pizza.Workflow)
		p.Upgrades = []*dsl.Definition{pizza.WorkflowV2}
		if code := runTool(p, c.args...); code != c.code {
			t.Errorf("%v: exit %d, want %d\n%s%s", c.args, code, c.code, out, errb)
			continue
		}
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("%v: output lacks %q:\n%.300s", c.args, c.want, out)
		}
	}
}
