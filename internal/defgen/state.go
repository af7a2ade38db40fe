package defgen

import (
	"fmt"
	"strings"
)

// Slots is the number of counters in [State].
const Slots = 6

// Flags is the number of flags in [State].
const Flags = 3

// MaxThreads is the most threads (main included) a generated definition
// has live at once: every Go is gated on [State.Live].
const MaxThreads = 32

// State is the state type of every generated definition: counters and flags
// that steps, handlers and activities change and conditions read, plus the
// bookkeeping that keeps loops and thread counts bounded.
type State struct {
	C     [Slots]int     // counters
	F     [Flags]bool    // flags
	Loops map[string]int // iterations run, by loop ID; bounds every loop
	IDs   int            // the last dynamic thread ID handed out
	Live  int            // threads started and not yet at the end of their body
	Got   []int          // payloads and activity results received, newest last (at most 8)
}

func (s *State) got(v int) {
	s.Got = append(s.Got, v)
	if len(s.Got) > 8 {
		s.Got = append([]int(nil), s.Got[len(s.Got)-8:]...)
	}
}

func (s *State) tick(loop string) {
	if s.Loops == nil {
		s.Loops = map[string]int{}
	}
	s.Loops[loop]++
}

// String renders the state compactly, for failure reports.
func (s State) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "C=%v F=%v IDs=%d Live=%d Got=%v", s.C, s.F, s.IDs, s.Live, s.Got)
	if len(s.Loops) > 0 {
		fmt.Fprintf(&b, " Loops=%v", s.Loops)
	}
	return b.String()
}
