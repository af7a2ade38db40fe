package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// IsTerminal reports whether w is an *os.File open on a character device:
// a terminal, as opposed to a file or a pipe. It is the default of
// [Program.Terminal].
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressEvery is how often the progress line is redrawn at most: often
// enough to look alive, rarely enough to cost nothing.
const progressEvery = 100 * time.Millisecond

// progress is a status line on a terminal, rewritten in place with "\r".
// Off (w nil), it writes nothing, so output piped to a file or a program
// holds no progress noise.
type progress struct {
	w     io.Writer
	last  time.Time
	shown int // length of the line on screen, to blank it
}

// progress returns the program's progress line: on Stderr when it is a
// terminal, else off.
func (p *Program) progress() *progress {
	if p.Terminal(p.Stderr) {
		return &progress{w: p.Stderr}
	}
	return &progress{}
}

// show draws the line, unless one was drawn less than progressEvery ago
// and force is false.
func (pr *progress) show(force bool, format string, args ...any) {
	if pr.w == nil {
		return
	}
	now := time.Now()
	if !force && now.Sub(pr.last) < progressEvery {
		return
	}
	pr.last = now
	line := fmt.Sprintf(format, args...)
	pad := max(pr.shown-len(line), 0)
	fmt.Fprintf(pr.w, "\r%s%s", line, strings.Repeat(" ", pad))
	pr.shown = len(line)
}

// clear blanks the line, before other output or at the end, so the
// terminal is left as if there had been no progress line.
func (pr *progress) clear() {
	if pr.w == nil || pr.shown == 0 {
		return
	}
	fmt.Fprintf(pr.w, "\r%s\r", strings.Repeat(" ", pr.shown))
	pr.shown = 0
}
