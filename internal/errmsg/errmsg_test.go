package errmsg

import "testing"

// The checker catches each kind of repeat, and passes a clean message.
func TestRepeats(t *testing.T) {
	c := Context{Instance: "order-17", Workflow: "counter", Callback: 7}
	for _, msg := range []string{
		`engine: send "inc" to "order-17": storage: load "order-17": not found`,
		`engine: workflow "counter": interp: workflow "counter" thread main`,
		`engine: deliver callback 7 to "order-17": interp: callback 7: duplicate`,
		`engine: send: engine: no thread waits for the event`,
		`engine: the event was refused: interp: the event was refused`,
	} {
		if len(Repeats(msg, c)) == 0 {
			t.Errorf("no repeat found in %q", msg)
		}
	}
	for _, msg := range []string{
		`engine: send "inc" to "order-17": interp: callback 7 rejected: negative`,
		`engine: workflow "counter-2" of "counter": callback 17 and callback 71`,
	} {
		if p := Repeats(msg, c); len(p) != 0 {
			t.Errorf("repeats found in the clean message %q: %q", msg, p)
		}
	}
}
