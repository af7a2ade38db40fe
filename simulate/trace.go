package simulate

import "fmt"

// text is a line of the trace, formatted only when a report shows it: a
// run writes a line for every step, and almost every run passes.
type text struct {
	format string
	args   []any
}

// say makes a text. Its arguments must not change afterwards.
func say(format string, args ...any) text { return text{format, args} }

// String formats the text.
func (t text) String() string {
	if len(t.args) == 0 {
		return t.format
	}
	return fmt.Sprintf(t.format, t.args...)
}
