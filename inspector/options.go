package inspector

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/weftflow/weft/dsl"
)

// Option configures [New].
type Option func(*config) error

// Authorizer decides whether the request r may perform action, one of
// [ActionSend], [ActionCancel], [ActionTerminate] and [ActionRequeue]. A non-nil error refuses
// it: the handler answers 403 Forbidden with the error's message and logs
// the refusal. It runs after the CSRF check, for every mutating request.
type Authorizer func(r *http.Request, action string) error

// The actions an [Authorizer] is asked about.
const (
	ActionSend   = "send"   // send an event with a payload to an instance
	ActionCancel = "cancel" // cancel an instance
	// ActionTerminate ends an instance at once (engine.Terminate), with
	// the reason given in the form, recorded as by "inspector".
	ActionTerminate = "terminate"
	ActionRequeue   = "requeue" // put a dead-lettered effect back into the outbox
)

type config struct {
	authorize  Authorizer
	upgrades   []*dsl.Definition
	now        func() time.Time
	loc        *time.Location
	log        *slog.Logger
	pageSize   int
	scanBudget int
	census     int
	countTTL   time.Duration
	secret     []byte
}

// ErrBadOption is what [New] returns (wrapped, naming the option) for an
// option given a value it cannot use.
var ErrBadOption = errors.New("inspector: bad option")

// WithActions turns on the actions (send an event, cancel, requeue a dead
// letter), each one checked by authorize. Without it the inspector is
// read-only: the action routes do not exist (404) and no form is shown.
func WithActions(authorize Authorizer) Option {
	return func(c *config) error {
		if authorize == nil {
			return fmtOption("WithActions", "the authorizer must not be nil")
		}
		c.authorize = authorize
		return nil
	}
}

// WithUpgrades lists the next versions of registered workflows (each with
// its migrations), offered on the upgrade page: the positions they would
// lose, the upgrade verifier's summary, and a plan for one instance.
func WithUpgrades(defs ...*dsl.Definition) Option {
	return func(c *config) error {
		for _, d := range defs {
			if d == nil {
				return fmtOption("WithUpgrades", "a definition must not be nil")
			}
		}
		c.upgrades = append(c.upgrades, defs...)
		return nil
	}
}

// WithClock sets the clock that "in 3 h" and "due soon" are measured
// on (default time.Now); give it the engine's clock when that is a fake.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmtOption("WithClock", "the clock must not be nil")
		}
		c.now = now
		return nil
	}
}

// WithLocation sets the time zone times are shown in before the page's
// script turns them into the browser's own (default time.Local).
func WithLocation(loc *time.Location) Option {
	return func(c *config) error {
		if loc == nil {
			return fmtOption("WithLocation", "the location must not be nil")
		}
		c.loc = loc
		return nil
	}
}

// WithLogger sets the logger that records every action and refusal
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmtOption("WithLogger", "the logger must not be nil")
		}
		c.log = l
		return nil
	}
}

// WithPageSize sets how many instances a page of the instance list shows
// (default 50, at most 1000).
func WithPageSize(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 1000 {
			return fmtOption("WithPageSize", "want 1 to 1000")
		}
		c.pageSize = n
		return nil
	}
}

// WithScanLimits bounds the work of one request: perPage is how many
// stored instances one page of a filtered instance list reads at most
// before it stops and offers to go on (default 5,000), and census how many
// instances the overview, the diagram's heat map and the upgrade page
// count at most (default 10,000); pages say when they stopped short.
// Reading an instance costs a few microseconds: the defaults keep a page
// near 30 and 60 ms.
func WithScanLimits(perPage, census int) Option {
	return func(c *config) error {
		if perPage < 1 || census < 1 {
			return fmtOption("WithScanLimits", "want positive limits")
		}
		c.scanBudget, c.census = perPage, census
		return nil
	}
}

// WithCountCache keeps the counts of the overview, the diagrams' heat
// maps and the upgrade page for ttl (default 2 s; 0 counts on every
// request), so that a page refreshed or opened by several people reads
// the store once. An action made through the inspector clears them;
// pages say when their counts were made.
func WithCountCache(ttl time.Duration) Option {
	return func(c *config) error {
		if ttl < 0 {
			return fmtOption("WithCountCache", "want a duration of 0 or more")
		}
		c.countTTL = ttl
		return nil
	}
}

// WithSecret sets the key of the CSRF tokens (at least 32 bytes). By
// default each handler draws its own at random, so tokens do not survive
// a restart, nor pass between processes behind one load balancer: give
// them one shared secret.
func WithSecret(key []byte) Option {
	return func(c *config) error {
		if len(key) < 32 {
			return fmtOption("WithSecret", "want at least 32 bytes")
		}
		c.secret = append([]byte(nil), key...)
		return nil
	}
}

func fmtOption(name, msg string) error {
	return &OptionError{Option: name, Msg: msg}
}

// OptionError reports an option [New] cannot use; it matches
// [ErrBadOption].
type OptionError struct {
	Option string // the option's name, "WithActions"
	Msg    string
}

// Error names the option and what is wrong with it.
func (e *OptionError) Error() string { return "inspector: " + e.Option + ": " + e.Msg }

// Unwrap returns [ErrBadOption].
func (e *OptionError) Unwrap() error { return ErrBadOption }
