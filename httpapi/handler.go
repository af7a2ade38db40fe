package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/cborjson"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// Defaults of a [Handler].
const (
	// DefaultMaxBody is the largest request body a handler reads, in bytes.
	DefaultMaxBody = 1 << 20
	// DefaultRunLimit is how many instances a run-due request claims when
	// it does not say.
	DefaultRunLimit = 64
	// MaxRunLimit is the most instances one run-due request may claim.
	MaxRunLimit = 10000
)

// IdempotencyHeader is the request header whose value a send passes to
// engine.IdempotencyKey.
const IdempotencyHeader = "Idempotency-Key"

// Handler serves one engine's workflows over HTTP (see the package
// documentation for the routes). Make one with [New]. It keeps no state
// between requests besides what New was given, so making one per request
// is cheap, and it is safe for concurrent use.
type Handler struct {
	eng        *engine.Engine
	reg        *Registry
	mux        *http.ServeMux
	maxBody    int64
	process    bool
	runLimit   int
	runTimeout time.Duration
	log        *slog.Logger
}

// Option configures a [Handler].
type Option func(*Handler) error

// WithMaxBody sets the largest request body the handler reads (default
// [DefaultMaxBody]); a larger one is refused with 413 and CodeTooLarge
// before it is decoded. n must be positive. The engine's own payload limit
// (engine.WithMaxPayload) applies to the encoded payload as well.
func WithMaxBody(n int64) Option {
	return func(h *Handler) error {
		if n < 1 {
			return fmt.Errorf("httpapi: WithMaxBody(%d): the limit must be positive", n)
		}
		h.maxBody = n
		return nil
	}
}

// WithProcessing makes every request that changes an instance (start,
// send, deliver, cancel, terminate) also do the instance's pending work before it
// answers, with engine.ProcessInstance: perform the effects the event
// committed (setups, the scheduler's wake-up, the finish hook) and resume
// it if it is due. It is for hosts without a run loop (serverless): the
// event is answered, and its consequences are under way, within the one
// request. The event stands even if that work fails (it is retried by the
// next run-due request); the response then carries "process_error".
func WithProcessing() Option {
	return func(h *Handler) error {
		h.process = true
		return nil
	}
}

// WithRunDue sets the number of instances a run-due request claims when
// its "limit" parameter is absent (default [DefaultRunLimit]; at most
// [MaxRunLimit]) and how long it may work (0, the default: as long as the
// request's context allows). See [engine.Engine.RunDueWithin].
func WithRunDue(limit int, within time.Duration) Option {
	return func(h *Handler) error {
		if limit < 1 || limit > MaxRunLimit {
			return fmt.Errorf("httpapi: WithRunDue(%d, %v): the limit must be 1 to %d", limit, within, MaxRunLimit)
		}
		if within < 0 {
			return fmt.Errorf("httpapi: WithRunDue(%d, %v): the time must not be negative", limit, within)
		}
		h.runLimit, h.runTimeout = limit, within
		return nil
	}
}

// WithLogger sets where the handler logs failures it does not return
// (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(h *Handler) error {
		if l == nil {
			return errors.New("httpapi: WithLogger(nil): leave the option out to discard logs")
		}
		h.log = l
		return nil
	}
}

// New returns a handler serving the workflows of reg on e. The
// definitions of reg must be registered with e (reg.Definitions() lists
// them). It fails if e or reg is nil or an option is invalid.
func New(e *engine.Engine, reg *Registry, opts ...Option) (*Handler, error) {
	if e == nil || reg == nil {
		return nil, errors.New("httpapi: New needs an engine and a registry")
	}
	h := &Handler{eng: e, reg: reg, maxBody: DefaultMaxBody, runLimit: DefaultRunLimit,
		log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("httpapi: nil option")
		}
		if err := o(h); err != nil {
			return nil, err
		}
	}
	h.mux = http.NewServeMux()
	h.route("/workflows/{workflow}/instances/{id}", http.MethodPost, h.start)
	h.route("/instances/{id}", http.MethodGet, h.query)
	h.route("/instances/{id}/queries/{name}", http.MethodGet, h.runQuery)
	h.route("/instances/{id}/result", http.MethodGet, h.result)
	h.route("/workflows/{workflow}/instances/{id}/events/{event}", http.MethodPost, h.signalWithStart)
	h.route("/instances/{id}/events/{event}", http.MethodPost, h.send)
	h.route("/instances/{id}/callbacks/{callback}", http.MethodPost, h.deliver)
	h.route("/instances/{id}/cancel", http.MethodPost, h.cancel)
	h.route("/instances/{id}/terminate", http.MethodPost, h.terminate)
	h.route("/instances/{id}/process", http.MethodPost, h.processRoute)
	h.route("/run-due", http.MethodPost, h.runDue)
	return h, nil
}

// route registers a path for one method; the others get a JSON 405.
func (h *Handler) route(path, method string, f func(w http.ResponseWriter, r *http.Request) (int, any, error)) {
	h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			h.writeError(w, fail(CodeMethod, fmt.Sprintf("%s %s: use %s", r.Method, path, method)))
			return
		}
		status, body, err := f(w, r)
		if err != nil {
			h.writeError(w, err)
			return
		}
		writeJSON(w, status, body)
	})
}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		h.writeError(w, fail(CodeNoRoute, "no route "+r.Method+" "+r.URL.Path))
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) writeError(w http.ResponseWriter, err error) {
	e := classify(err)
	status := e.Code.Status()
	if status >= 500 {
		h.log.Warn("httpapi: request failed", "code", e.Code, "err", err)
	}
	writeJSON(w, status, errorBody{Error: e})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: Error{Code: CodeInternal, Message: "encoding the response: " + err.Error()}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// Started is the response to a start.
type Started struct {
	ID       string `json:"id"`
	Workflow string `json:"workflow"`
	Processed
}

// Processed is the work done after an event, with [WithProcessing].
type Processed struct {
	Work         *Work  `json:"work,omitempty"`
	ProcessError string `json:"process_error,omitempty"`
}

// Replied is the response to a send or a delivery: the handler's reply
// (null for a timer, an activity result, or an event without a reply).
type Replied struct {
	Reply any `json:"reply"`

	Buffered bool `json:"buffered,omitempty"` // a send no wait took yet: it waits in the inbox, and has no reply
	Processed
}

// Work is engine.Work as JSON.
type Work struct {
	Instances   int        `json:"instances"`
	Transitions int        `json:"transitions"`
	Effects     int        `json:"effects"`
	Retried     int        `json:"retried"`
	DeadLetters int        `json:"dead_letters"`
	Next        *time.Time `json:"next,omitempty"` // when there is more work; absent: none known
}

func workOf(w engine.Work) *Work {
	out := &Work{Instances: w.Instances, Transitions: w.Transitions, Effects: w.Effects, Retried: w.Retried, DeadLetters: w.DeadLetters}
	if !w.Next.IsZero() {
		t := w.Next.UTC()
		out.Next = &t
	}
	return out
}

func (h *Handler) start(w http.ResponseWriter, r *http.Request) (int, any, error) {
	name, id := r.PathValue("workflow"), r.PathValue("id")
	wf := h.reg.workflow(name)
	if wf == nil {
		return 0, nil, fail(CodeUnknownWF, fmt.Sprintf("no workflow %q", name))
	}
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		return 0, nil, err
	}
	input, err := Decode(body, wf.def.StateType())
	if err != nil {
		return 0, nil, err
	}
	if err := h.eng.Start(r.Context(), wf.def, id, input); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, Started{ID: id, Workflow: name, Processed: h.after(r.Context(), id)}, nil
}

// after does the instance's pending work if the handler processes.
func (h *Handler) after(ctx context.Context, id string) Processed {
	if !h.process {
		return Processed{}
	}
	wk, err := h.eng.ProcessInstance(ctx, id)
	p := Processed{Work: workOf(wk)}
	if err != nil && !errors.Is(err, storage.ErrLeased) { // leased: its holder does the work
		h.log.Warn("httpapi: processing after an event failed; run-due retries it", "instance", id, "err", err)
		p.ProcessError = err.Error()
	}
	return p
}

// instanceOf loads instance id and the registered workflow it belongs to.
func (h *Handler) instanceOf(ctx context.Context, id string) (engine.Instance, *workflow, error) {
	inst, err := h.eng.Get(ctx, id)
	if err != nil {
		return engine.Instance{}, nil, err
	}
	wf := h.reg.workflow(inst.Workflow)
	if wf == nil {
		return engine.Instance{}, nil, fail(CodeUnknownWF, fmt.Sprintf("instance %q is of workflow %q, which this handler does not serve", id, inst.Workflow))
	}
	return inst, wf, nil
}

func (h *Handler) send(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, event := r.PathValue("id"), r.PathValue("event")
	var opts []engine.SendOption
	if keys, ok := r.Header[IdempotencyHeader]; ok {
		key := ""
		if len(keys) > 0 {
			key = keys[0]
		}
		opts = append(opts, engine.IdempotencyKey(key))
	}
	switch b := r.URL.Query().Get("buffer"); b {
	case "", "true":
	case "false":
		opts = append(opts, engine.NoBuffer())
	default:
		return 0, nil, fail(CodeBadRequest, fmt.Sprintf("buffer=%q: want true or false", b))
	}
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		return 0, nil, err
	}
	inst, wf, err := h.instanceOf(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	types, _, known := wf.sendTypes(&inst.Meta, event)
	if !known {
		return 0, nil, fail(CodeUnknownEvent, fmt.Sprintf("workflow %q has no custom event %q", wf.def.Name(), event))
	}
	payload, err := Decode(body, types.payload)
	if err != nil {
		return 0, nil, err
	}
	var reply reflect.Value
	var replyPtr any
	if types.reply != nil {
		reply = reflect.New(types.reply)
		replyPtr = reply.Interface()
	}
	var buffered bool
	if err := h.eng.Send(r.Context(), id, event, payload, replyPtr, append(opts, engine.ReportBuffered(&buffered))...); err != nil {
		return 0, nil, err
	}
	out := Replied{Buffered: buffered}
	if replyPtr != nil && !buffered {
		out.Reply = reply.Elem().Interface()
	}
	out.Processed = h.after(r.Context(), id)
	return http.StatusOK, out, nil
}

func (h *Handler) deliver(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	cb, err := strconv.ParseUint(r.PathValue("callback"), 10, 64)
	if err != nil || cb == 0 {
		return 0, nil, fail(CodeBadRequest, fmt.Sprintf("callback %q: want a positive integer", r.PathValue("callback")))
	}
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		return 0, nil, err
	}
	inst, wf, err := h.instanceOf(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	types, kind, pending := wf.callbackTypes(&inst.Meta, cb)
	var payload any
	if pending && kind != interp.Timer && types.payload != nil {
		if payload, err = Decode(body, types.payload); err != nil {
			return 0, nil, err
		}
	}
	var reply reflect.Value
	var replyPtr any
	if pending && kind == interp.Custom && types.reply != nil {
		reply = reflect.New(types.reply)
		replyPtr = reply.Interface()
	}
	// Not pending: the engine says why (unknown, duplicate, stale, finished).
	if err := h.eng.Deliver(r.Context(), id, cb, payload, replyPtr); err != nil {
		return 0, nil, err
	}
	out := Replied{}
	if replyPtr != nil {
		out.Reply = reply.Elem().Interface()
	}
	out.Processed = h.after(r.Context(), id)
	return http.StatusOK, out, nil
}

// Canceled is the response to a cancel.
type Canceled struct {
	ID string `json:"id"`
	Processed
}

func (h *Handler) cancel(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	if err := h.eng.Cancel(r.Context(), id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, Canceled{ID: id, Processed: h.after(r.Context(), id)}, nil
}

func (h *Handler) processRoute(w http.ResponseWriter, r *http.Request) (int, any, error) {
	wk, err := h.eng.ProcessInstance(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, workOf(wk), nil
}

func (h *Handler) runDue(w http.ResponseWriter, r *http.Request) (int, any, error) {
	limit := h.runLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxRunLimit {
			return 0, nil, fail(CodeBadRequest, fmt.Sprintf("limit %q: want 1 to %d", s, MaxRunLimit))
		}
		limit = n
	}
	var wk engine.Work
	var err error
	if h.runTimeout > 0 {
		wk, err = h.eng.RunDueWithin(r.Context(), limit, h.runTimeout)
	} else {
		wk, err = h.eng.RunDue(r.Context(), limit)
	}
	if err != nil && wk.Instances == 0 {
		return 0, nil, err
	}
	// Failures of single instances are retried by the store's backoff:
	// the call did its work, and says when there is more.
	if err != nil {
		h.log.Warn("httpapi: run due: some instances failed", "err", err)
	}
	return http.StatusOK, workOf(wk), nil
}

// Instance is the response to a query.
type Instance struct {
	ID       string          `json:"id"`
	Workflow string          `json:"workflow"`
	Version  uint64          `json:"version"`
	Status   string          `json:"status"`
	Due      *time.Time      `json:"due,omitempty"`
	Waits    []Wait          `json:"waits"`
	State    any             `json:"state"`
	Output   any             `json:"output,omitempty"`
	Failure  *interp.Failure `json:"failure,omitempty"`
	Inbox    []Buffered      `json:"inbox,omitempty"`   // events sent before a wait took them, oldest first
	Queries  []string        `json:"queries,omitempty"` // the definition's query handlers: GET /instances/{id}/queries/{name}
	// Terminated says who terminated the instance, why and when.
	Terminated *Termination `json:"terminated,omitempty"`
}

// Buffered is an event in an instance's inbox (see engine.Engine.Send).
type Buffered struct {
	Event string    `json:"event"`
	At    time.Time `json:"at"` // when it was sent
}

// QueryResult is the response to a query handler's route.
type QueryResult struct {
	Query  string `json:"query"`
	Result any    `json:"result"`
}

func (h *Handler) runQuery(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, name := r.PathValue("id"), r.PathValue("name")
	if _, _, err := h.instanceOf(r.Context(), id); err != nil {
		return 0, nil, err
	}
	var v any
	if err := h.eng.Query(r.Context(), id, name, &v); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, QueryResult{Query: name, Result: cborjson.Plain(v)}, nil
}

// Wait is a pending wait of an instance: what it waits for, and the
// callback that answers it.
type Wait struct {
	Thread   string     `json:"thread"`
	Path     string     `json:"path"`
	Event    string     `json:"event,omitempty"`
	Kind     string     `json:"kind"` // "timer", "custom" or "activity"
	Callback uint64     `json:"callback"`
	At       *time.Time `json:"at,omitempty"`
}

func (h *Handler) query(w http.ResponseWriter, r *http.Request) (int, any, error) {
	inst, wf, err := h.instanceOf(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	m := inst.Meta
	out := Instance{ID: inst.ID, Workflow: inst.Workflow, Version: inst.Version, Status: m.Status.String(),
		Waits: []Wait{}, Failure: m.Failure, Terminated: terminationOf(m)}
	if d := m.Due; !d.IsZero() {
		d = d.UTC()
		out.Due = &d
	}
	for _, th := range m.Threads {
		for _, p := range th.Waits {
			wt := Wait{Thread: th.ID, Path: th.Path, Event: p.Event, Kind: p.Kind.String(), Callback: p.Callback}
			if !p.At.IsZero() {
				t := p.At.UTC()
				wt.At = &t
			}
			out.Waits = append(out.Waits, wt)
		}
	}
	for _, b := range m.Inbox {
		out.Inbox = append(out.Inbox, Buffered{Event: b.Event, At: b.At.UTC()})
	}
	out.Queries = wf.def.Queries()
	state := reflect.New(wf.def.StateType()).Interface() // a *S, as the interpreter decodes it
	if err := decode.Into("state", inst.State, state); err != nil {
		return 0, nil, fmt.Errorf("httpapi: instance %q: %w", inst.ID, err)
	}
	out.State = state
	if len(inst.Output) > 0 {
		var o any
		if err := decode.Into("output", inst.Output, &o); err != nil {
			return 0, nil, fmt.Errorf("httpapi: instance %q: %w", inst.ID, err)
		}
		out.Output = cborjson.Plain(o)
	}
	return http.StatusOK, out, nil
}
