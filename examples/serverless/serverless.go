// Package serverless is a stateless HTTP service running a weft workflow
// the way a functions platform runs code: every request builds a fresh
// engine over the shared store, handles its one event, does that
// instance's pending work, and returns. Nothing runs between requests: no
// engine.Run loop, no goroutine, no in-memory retry state. Timers fire
// when something calls the "run what is due" route (POST /run-due), which
// the platform's scheduler calls: once per wake-up the engine hands it
// (engine.WithScheduler), and every minute or so as a backstop.
//
// The workflow is a sign-up: it emails a confirmation link (a setup
// effect, performed by the Mailer), waits a day for the confirmation, and
// ends "confirmed" or "expired"; the email is withdrawn (a teardown) when
// the wait ends. See docs/serverless.md for deploying it; cmd server in
// this folder is the process to deploy.
package serverless

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/httpapi"
	"github.com/weftflow/weft/storage"
)

// Signup is the workflow's state.
type Signup struct {
	Email     string
	Token     string
	Confirmed bool
}

// Confirmation is the payload of the "confirm" event.
type Confirmation struct{ Token string }

// confirmer handles "confirm": the token must match. Its setup asks the
// Mailer to send the link.
type confirmer struct{}

func (confirmer) Handle(s *Signup, c Confirmation) (string, error) {
	if c.Token != s.Token {
		return "", errors.New("wrong token")
	}
	s.Confirmed = true
	return "welcome, " + s.Email, nil
}

// Setup is the email's data: the address and the token.
func (confirmer) Setup(s *Signup) any { return Email{To: s.Email, Token: s.Token} }

// Email is the data of an "email" setup effect.
type Email struct {
	To    string
	Token string
}

// ConfirmWithin is how long a sign-up waits for its confirmation.
const ConfirmWithin = 24 * time.Hour

// Workflow is the sign-up definition.
var Workflow = dsl.MustCompile[Signup]("signup", dsl.S(
	dsl.Wait("confirmation",
		dsl.On("confirm", dsl.Custom[Signup, Confirmation, string]("email", confirmer{}), dsl.Return("confirmed")),
		dsl.On("expire", dsl.After(ConfirmWithin), dsl.Return("expired")),
	),
))

var registry = func() *httpapi.Registry {
	r, err := httpapi.NewRegistry(Workflow)
	if err != nil {
		panic(err)
	}
	return r
}()

// Config is what the service is made of. Store is the one thing that
// outlives a request (a connection pool); the rest is configuration.
type Config struct {
	Store storage.Store
	// Owner names this process in leases (empty: hostname/pid).
	Owner string
	// Mailer performs the "email" setups (send the link) and teardowns
	// (withdraw it), at least once each; de-duplicate on EffectInfo.ID.
	Mailer engine.SetupHandler
	// Scheduler, if set, is handed every wake-up: "call POST
	// /instances/{id}/process (or /run-due) at this time". Without it,
	// call /run-due periodically.
	Scheduler engine.Scheduler
	// Clock is the engine's clock (nil: the wall clock).
	Clock engine.Clock
	// RetryInitial and RetryMax are the backoff of failed effects
	// (0: one second and one minute). The attempts are kept in the store.
	RetryInitial, RetryMax time.Duration
	// RunWithin bounds the work of one run-due request (0: the request's
	// own deadline), so that it answers before the platform's timeout.
	RunWithin time.Duration
}

// Handler returns the service: an http.Handler that builds a fresh engine
// and httpapi handler for every request. It fails if the configuration
// is invalid.
func Handler(cfg Config) (http.Handler, error) {
	if cfg.Mailer == nil {
		return nil, errors.New("serverless: Config.Mailer is required")
	}
	s := &service{cfg: cfg}
	// Build one stack now, so that a bad configuration fails here and not
	// in every request.
	if _, err := s.stack(); err != nil {
		return nil, err
	}
	return s, nil
}

type service struct{ cfg Config }

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, err := s.stack()
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"building the engine failed"}}`, http.StatusInternalServerError)
		return
	}
	h.ServeHTTP(w, r)
}

// stack builds what one request uses: a fresh engine and the HTTP
// handler over it. Both are garbage once the request returns.
func (s *service) stack() (http.Handler, error) {
	e, err := s.cfg.engine()
	if err != nil {
		return nil, err
	}
	hopts := []httpapi.Option{httpapi.WithProcessing()}
	if s.cfg.RunWithin > 0 {
		hopts = append(hopts, httpapi.WithRunDue(httpapi.DefaultRunLimit, s.cfg.RunWithin))
	}
	return httpapi.New(e, registry, hopts...)
}

// engine builds an engine that shares the store with every other request
// and process through leases.
func (c Config) engine() (*engine.Engine, error) {
	opts := []engine.Option{engine.WithLeases(c.Owner, 0)}
	if c.Clock != nil {
		opts = append(opts, engine.WithClock(c.Clock))
	}
	if c.Scheduler != nil {
		opts = append(opts, engine.WithScheduler(c.Scheduler))
	}
	if c.RetryInitial != 0 || c.RetryMax != 0 {
		opts = append(opts, engine.WithRetryBackoff(c.RetryInitial, c.RetryMax))
	}
	e, err := engine.New(c.Store, opts...)
	if err != nil {
		return nil, fmt.Errorf("serverless: %w", err)
	}
	if err := e.Register(registry.Definitions()...); err != nil {
		return nil, fmt.Errorf("serverless: %w", err)
	}
	e.Handle("email", c.Mailer)
	return e, nil
}

// Process is what a scheduler's call for a wake-up does, for hosts that
// receive wake-ups some other way than HTTP (a queue consumer): the
// instance's pending work, with a fresh engine.
func Process(ctx context.Context, cfg Config, id string) (engine.Work, error) {
	e, err := cfg.engine()
	if err != nil {
		return engine.Work{}, err
	}
	return e.ProcessInstance(ctx, id)
}
