package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
)

type tab struct {
	Items []string
	Total int
}

var tabWF = dsl.MustCompile[tab]("tab", dsl.S(
	dsl.Wait("open", dsl.On("open", dsl.Signal(func(s *tab, _ bool) (bool, error) { return true, nil }))),
	dsl.For("orders", dsl.Wait("next",
		dsl.On("order", dsl.Signal(func(s *tab, price int) (int, error) {
			s.Items = append(s.Items, "item")
			s.Total += price
			return s.Total, nil
		})))),
),
	dsl.Query("total", func(s *tab) int { return s.Total }),
	dsl.Query("summary", func(s *tab) map[string]int { return map[string]int{"items": len(s.Items), "total": s.Total} }),
)

func TestQueryCommand(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		st := b.open(t)
		e, err := engine.New(st)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Register(tabWF); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx, tabWF, "t1", tab{}); err != nil {
			t.Fatal(err)
		}
		if err := e.Send(ctx, "t1", "open", true, nil); err != nil {
			t.Fatal(err)
		}
		for _, p := range []int{3, 4} {
			if err := e.Send(ctx, "t1", "order", p, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Start(ctx, tabWF, "t2", tab{}); err != nil {
			t.Fatal(err)
		}
		if err := e.Send(ctx, "t2", "order", 5, nil); err != nil { // buffered: the tab is not open
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"query", "t1", "total"}, 0, "7\n"},
			{[]string{"query", "t1", "summary"}, 0, "{\n  \"items\": 2,\n  \"total\": 7\n}\n"},
			{[]string{"query", "t1"}, 0, "[\n  \"summary\",\n  \"total\"\n]\n"},
			{[]string{"query", "t1", "nope"}, 1, ""},
			{[]string{"query", "absent", "total"}, 1, ""},
			{[]string{"query"}, 2, ""},
			{[]string{"inspect", "t2"}, 0, ""},
		} {
			p, out, errb := tool(tabWF)
			args := append(append([]string(nil), c.args...), b.flags...)
			code := runTool(p, args...)
			if c.args[0] == "inspect" {
				// The buffered order, with its payload, in the meta.
				if code != 0 || !strings.Contains(out.String(), `"inbox": [`) || !strings.Contains(out.String(), `"event": "order"`) ||
					!strings.Contains(out.String(), `"payload": 5`) {
					t.Errorf("inspect t2: exit %d; stdout lacks the inbox:\n%s%s", code, out, errb)
				}
				continue
			}
			if code != c.code || out.String() != c.want {
				t.Errorf("%q: exit %d, want %d; stdout %q, want %q; stderr %s", c.args, code, c.code, out, c.want, errb)
			}
			if c.code == 1 && !strings.Contains(errb.String(), "orders query:") {
				t.Errorf("%q: stderr %q", c.args, errb)
			}
		}
	})
}
