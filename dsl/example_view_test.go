package dsl_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/weftflow/weft/dsl"
)

// Tools read a compiled definition through its read-only view: Walk visits
// every statement in source order, with its path (or, for a statement
// without a name, its place), its kind and the details a tool draws.
func ExampleDefinition_Walk() {
	type Ticket struct{ Open bool }
	def := dsl.MustCompile[Ticket]("ticket", dsl.S(
		dsl.Step("open", func(s *Ticket) error { s.Open = true; return nil }),
		dsl.For("triage",
			dsl.Wait("reply",
				dsl.On("answer", dsl.Signal(func(s *Ticket, text string) (bool, error) { return true, nil }), dsl.Break()),
				dsl.On("nudge", dsl.After(24*time.Hour)),
			),
		),
		dsl.If("still open", func(s *Ticket) bool { return s.Open }, dsl.Return("closed")).Else(dsl.Fail(fmt.Errorf("reopened"))),
	), dsl.OnCancel(dsl.Step("notify", func(s *Ticket) error { return nil })))

	depth := map[string]int{} // by place: a statement is one deeper than its parent
	def.Walk(func(n dsl.Node) bool {
		d := 0
		if i := strings.LastIndexByte(n.Place(), '/'); i >= 0 {
			d = depth[n.Place()[:i]] + 1
		} else if n.Kind() != dsl.KindRoot {
			d = 1 // in the main body
		}
		depth[n.Place()] = d
		line := fmt.Sprintf("%s%-8s %q", strings.Repeat("  ", d), n.Kind(), n.Place())
		switch {
		case n.Trigger() == dsl.TriggerTimer:
			line += fmt.Sprintf(" timer after %v", n.After())
		case n.Trigger() == dsl.TriggerCustom:
			line += fmt.Sprintf(" custom event, payload %v", n.Payload())
		case n.Kind() == dsl.KindBreak:
			line += fmt.Sprintf(" leaves %q", n.Target().Path())
		case n.Kind() == dsl.KindArm && !n.HasCond():
			line += " (else)"
		}
		fmt.Println(line)
		return true
	})
	// Output:
	// root     ""
	//   step     "open"
	//   loop     "triage"
	//     wait     "triage/reply"
	//       on       "triage/reply/answer" custom event, payload string
	//         break    "triage/reply/answer/#1" leaves "triage"
	//       on       "triage/reply/nudge" timer after 24h0m0s
	//   if       "still open"
	//     branch   "still open/then"
	//       return   "still open/then/#1"
	//     branch   "still open/else" (else)
	//       fail     "still open/else/#1"
	// root     "@cancel"
	//   step     "@cancel/notify"
}
