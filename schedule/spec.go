package schedule

import (
	"fmt"
	"reflect"
	"strings"
	"time"
	_ "time/tzdata" // time zones resolve the same on every host, even without system zone files

	"github.com/robfig/cron/v3"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
)

// Spec describes a schedule: when it fires, what it starts, and what it
// does when runs overlap or fires were missed.
type Spec struct {
	// Name names the schedule: its instance is "schedule/" + Name, and the
	// runs it starts are "Name@" + the fire time (RFC 3339, UTC). 1 to
	// MaxNameLen bytes, no "@".
	Name string
	// Cron is a cron spec in the standard five fields ("30 2 * * 1-5") or a
	// descriptor ("@daily", "@every 90m" is not allowed: use Every),
	// parsed by github.com/robfig/cron/v3, in TimeZone. Exactly one of
	// Cron and Every is set.
	Cron string
	// Every fires at every multiple of the interval since the Unix epoch
	// (Every: time.Hour fires on the hour); at least a second.
	Every time.Duration
	// TimeZone is the IANA name ("Europe/Paris") the Cron fields are read
	// in; "" is UTC. A wall time that does not exist on a day (skipped by
	// a daylight-saving change) does not fire that day; one that occurs
	// twice fires twice.
	TimeZone string
	// Workflow is what each fire starts, with Input (a value of its state
	// type S, or a *S; nil for the zero S) as its start input. It must be
	// one of the definitions given to [New].
	Workflow *dsl.Definition
	Input    any
	// Overlap is what a fire does while the last run it started still
	// runs (default OverlapSkip).
	Overlap OverlapPolicy
	// CatchUp is how late a fire may still start its run: after downtime
	// (no process running the schedule), missed fires at most CatchUp old
	// are run (under the overlap policy), older ones are skipped and
	// counted as missed. 0 means DefaultCatchUp.
	CatchUp time.Duration
	// Paused creates the schedule paused (see [Scheduler.Resume]).
	Paused bool
}

// OverlapPolicy says what a fire does while the schedule's last run still
// runs.
type OverlapPolicy uint8

// Overlap policies.
const (
	// OverlapSkip skips the fire (counted in Info.Skipped).
	OverlapSkip OverlapPolicy = iota
	// OverlapBufferOne keeps the fire and starts its run when the running
	// one has finished (checked every BufferPoll); while one fire is kept,
	// further ones are skipped.
	OverlapBufferOne
	// OverlapAllowAll starts every fire's run, whatever runs.
	OverlapAllowAll
)

// String names the policy.
func (p OverlapPolicy) String() string {
	switch p {
	case OverlapSkip:
		return "skip"
	case OverlapBufferOne:
		return "buffer-one"
	case OverlapAllowAll:
		return "allow-all"
	}
	return fmt.Sprintf("OverlapPolicy(%d)", uint8(p))
}

// Limits and defaults.
const (
	// MaxNameLen is the longest schedule name, in bytes.
	MaxNameLen = 128
	// DefaultCatchUp is the catch-up window of a Spec that sets none: a
	// fire performed up to a minute late (a busy or restarting process)
	// still starts its run.
	DefaultCatchUp = time.Minute
	// BufferPoll is how often a schedule with a buffered fire checks
	// whether the running run has finished.
	BufferPoll = 10 * time.Second
)

// stored is a Spec as the schedule's state keeps it.
type stored struct {
	Name     string
	Cron     string        `cbor:",omitempty"`
	Every    time.Duration `cbor:",omitempty"`
	TimeZone string        `cbor:",omitempty"`
	Workflow string
	Input    []byte        `cbor:",omitempty"`
	Overlap  OverlapPolicy `cbor:",omitempty"`
	CatchUp  time.Duration `cbor:",omitempty"`
}

// timing is a parsed schedule: the fire times.
type timing struct {
	cron  cron.Schedule // nil for an interval
	every time.Duration
	loc   *time.Location
}

// parser reads the standard five fields and descriptors, as
// cron.ParseStandard does, without "@every" (Every is the interval form).
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// check validates s against the definitions the scheduler knows and
// returns its stored form.
func (s Spec) check(defs map[string]*dsl.Definition, now time.Time) (stored, error) {
	bad := func(field, format string, args ...any) (stored, error) {
		return stored{}, &SpecError{Name: s.Name, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case s.Name == "" || len(s.Name) > MaxNameLen:
		return bad("Name", "%d bytes, want 1 to %d", len(s.Name), MaxNameLen)
	case strings.Contains(s.Name, "@"):
		return bad("Name", "%q has an @, which separates the name from the fire time in run IDs", s.Name)
	case (s.Cron == "") == (s.Every == 0):
		return bad("Cron", "set exactly one of Cron and Every")
	case s.Every != 0 && s.Every < time.Second:
		return bad("Every", "%v is less than a second", s.Every)
	case s.Overlap > OverlapAllowAll:
		return bad("Overlap", "%v is not an OverlapPolicy", s.Overlap)
	case s.CatchUp < 0:
		return bad("CatchUp", "%v is negative", s.CatchUp)
	case s.Workflow == nil:
		return bad("Workflow", "nil")
	case defs[s.Workflow.Name()] != s.Workflow:
		return bad("Workflow", "%q was not given to schedule.New", s.Workflow.Name())
	}
	st := stored{Name: s.Name, Cron: s.Cron, Every: s.Every, TimeZone: s.TimeZone, Workflow: s.Workflow.Name(),
		Overlap: s.Overlap, CatchUp: s.CatchUp}
	tm, err := st.timing()
	if err != nil {
		return bad("Cron", "%v", err)
	}
	if tm.next(now).IsZero() {
		return bad("Cron", "%q never fires", s.Cron)
	}
	if s.Input != nil {
		t, want := reflect.TypeOf(s.Input), s.Workflow.StateType()
		if t != want && (t.Kind() != reflect.Pointer || t.Elem() != want || reflect.ValueOf(s.Input).IsNil()) {
			return bad("Input", "has type %v, want %v or *%v", t, want, want)
		}
		b, err := codec.Marshal(s.Input)
		if err != nil {
			return bad("Input", "does not encode: %v", err)
		}
		st.Input = b
	}
	return st, nil
}

// timing parses the stored spec.
func (st stored) timing() (timing, error) {
	loc := time.UTC
	if st.TimeZone != "" {
		l, err := time.LoadLocation(st.TimeZone)
		if err != nil {
			return timing{}, fmt.Errorf("time zone %q: %w", st.TimeZone, err)
		}
		loc = l
	}
	if st.Every != 0 {
		return timing{every: st.Every, loc: loc}, nil
	}
	if strings.HasPrefix(st.Cron, "@every") {
		return timing{}, fmt.Errorf("%q: use Every for intervals", st.Cron)
	}
	if strings.HasPrefix(st.Cron, "TZ=") || strings.HasPrefix(st.Cron, "CRON_TZ=") {
		return timing{}, fmt.Errorf("%q: give the time zone in TimeZone", st.Cron)
	}
	c, err := parser.Parse(st.Cron)
	if err != nil {
		return timing{}, err
	}
	return timing{cron: c, loc: loc}, nil
}

// next returns the first fire time strictly after t.
func (tm timing) next(t time.Time) time.Time {
	if tm.cron == nil {
		n := t.UnixNano()/int64(tm.every) + 1
		return time.Unix(0, n*int64(tm.every)).UTC()
	}
	n := tm.cron.Next(t.In(tm.loc))
	if n.IsZero() {
		return n // a spec that never fires again (30 February)
	}
	return n.UTC()
}

// catchUp is the catch-up window of the stored spec.
func (st stored) catchUp() time.Duration {
	if st.CatchUp == 0 {
		return DefaultCatchUp
	}
	return st.CatchUp
}
