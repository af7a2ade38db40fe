package simulate

import "fmt"

// text is a line of the trace, formatted only when a report shows it: a
// run writes a line for every step, and almost every run passes.
type text struct {
	format string
	args   []any
	lazy   fmt.Stringer // if not nil, the text is lazy.String()
}

// say makes a text. Its arguments must not change afterwards.
func say(format string, args ...any) text { return text{format: format, args: args} }

// lazily makes the text s.String(). s must not change afterwards.
func lazily(s fmt.Stringer) text { return text{lazy: s} }

// join makes the text a, sep, b: one allocation where say("%s"+sep+"%s",
// a, b) takes three, for the line of every event.
func join(a text, sep string, b text) text { return lazily(&joinedText{a: a, sep: sep, b: b}) }

// joinedText is the text of join.
type joinedText struct {
	a   text
	sep string
	b   text
}

func (j *joinedText) String() string { return j.a.String() + j.sep + j.b.String() }

// String formats the text.
func (t text) String() string {
	if t.lazy != nil {
		return t.lazy.String()
	}
	if len(t.args) == 0 {
		return t.format
	}
	return fmt.Sprintf(t.format, t.args...)
}
