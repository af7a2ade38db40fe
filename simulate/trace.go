package simulate

import "fmt"

// text is a line of the trace, formatted only when a report shows it: a
// run writes a line for every step, and almost every run passes.
type text struct {
	format string
	args   []any
	pair   *[2]text // if not nil, the text is pair[0], format, pair[1]
}

// say makes a text. Its arguments must not change afterwards.
func say(format string, args ...any) text { return text{format: format, args: args} }

// join makes the text a, sep, b: one allocation where say("%s"+sep+"%s",
// a, b) takes three, for the line of every event.
func join(a text, sep string, b text) text { return text{format: sep, pair: &[2]text{a, b}} }

// String formats the text.
func (t text) String() string {
	if t.pair != nil {
		return t.pair[0].String() + t.format + t.pair[1].String()
	}
	if len(t.args) == 0 {
		return t.format
	}
	return fmt.Sprintf(t.format, t.args...)
}
