package inspector

import (
	"bytes"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// ErrNilEngine is what [New] returns for a nil engine.
var ErrNilEngine = errors.New("inspector: nil engine")

// handler is the inspector: a mux over the pages, and what they share.
type handler struct {
	e      *engine.Engine
	cfg    config
	counts counts // recent censuses (see WithCountCache)
	mux    *http.ServeMux
	pages  map[string]*template.Template
	cop    *http.CrossOriginProtection
}

// New returns the inspector of e's store, an http.Handler to mount in the
// host's own server (under a path ending in "/", with http.StripPrefix:
// every link in its pages is relative). The workflows registered with e
// give the state types its pages decode states into; instances of other
// workflows are shown with their state as generic CBOR values.
//
// It is read-only unless [WithActions] is given. Errors: [ErrNilEngine],
// or an *[OptionError] (matching [ErrBadOption]) for an option it cannot
// use.
func New(e *engine.Engine, opts ...Option) (http.Handler, error) {
	if e == nil {
		return nil, ErrNilEngine
	}
	h := &handler{e: e, cfg: config{now: time.Now, loc: time.Local, log: slog.Default(), pageSize: 50, scanBudget: 5000, census: 10000, countTTL: 2 * time.Second}}
	for i, o := range opts {
		if o == nil {
			return nil, fmtOption(fmt.Sprintf("option %d", i), "an option must not be nil")
		}
		if err := o(&h.cfg); err != nil {
			return nil, err
		}
	}
	if h.cfg.secret == nil {
		h.cfg.secret = make([]byte, 32)
		if _, err := rand.Read(h.cfg.secret); err != nil {
			return nil, fmt.Errorf("inspector: the CSRF secret: %w", err)
		}
	}
	h.cop = http.NewCrossOriginProtection()
	if err := h.parseTemplates(); err != nil {
		return nil, err
	}
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /{$}", h.overview)
	h.mux.HandleFunc("GET /instances", h.instances)
	h.mux.HandleFunc("GET /instance", h.instance)
	h.mux.HandleFunc("GET /diagram", h.diagramPage)
	h.mux.HandleFunc("GET /diagram.svg", h.diagramSVG)
	h.mux.HandleFunc("GET /upgrade", h.upgrade)
	assets, _ := fs.Sub(assetFS, "assets")
	h.mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assetFiles{assets})))
	if h.cfg.authorize != nil {
		h.mux.HandleFunc("POST /send", h.action(ActionSend, h.send))
		h.mux.HandleFunc("POST /cancel", h.action(ActionCancel, h.cancel))
		h.mux.HandleFunc("POST /terminate", h.action(ActionTerminate, h.terminate))
		h.mux.HandleFunc("POST /requeue", h.action(ActionRequeue, h.requeue))
	}
	return h, nil
}

// assetFiles are the embedded assets, where a name that is not a valid
// path (not UTF-8, say) names no file: fs.Sub reports it as fs.ErrInvalid,
// which http.FileServerFS answers with a server error.
type assetFiles struct{ fs.FS }

func (a assetFiles) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return a.FS.Open(name)
}

// ServeHTTP serves the pages, with headers that keep them from being
// framed or sniffed and allow no script or style from elsewhere.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// The diagrams are inline SVG with their own style element and
	// attributes, hence 'unsafe-inline' for styles (never for scripts).
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.cfg.log.Error("inspector: panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	h.mux.ServeHTTP(w, r)
}

func (h *handler) parseTemplates() error {
	funcs := template.FuncMap{
		"token":   h.token,
		"actions": func() bool { return h.cfg.authorize != nil },
		"query":   query,
		"plural":  plural,
		"now":     func() string { return h.cfg.now().UTC().Format(time.RFC3339Nano) },
	}
	h.pages = map[string]*template.Template{}
	for _, name := range []string{"overview", "instances", "instance", "diagram", "upgrade", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/tree.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("inspector: template %s: %w", name, err)
		}
		h.pages[name] = t
	}
	return nil
}

// page is what the layout needs around a page's content.
type page struct {
	Title  string
	Nav    string // the current section: "overview", "instances"
	Notice string // what the last action did, shown at the top
	Data   any
}

// render writes a page; the template runs into a buffer first, so that a
// failing template becomes a 500, not half a page.
func (h *handler) render(w http.ResponseWriter, code int, name string, p page) {
	var buf bytes.Buffer
	if err := h.pages[name].Execute(&buf, p); err != nil {
		h.cfg.log.Error("inspector: rendering", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// httpError is an error with the status it is answered with.
type httpError struct {
	Code int
	Msg  string
}

func (e *httpError) Error() string { return e.Msg }

func badRequest(format string, args ...any) error {
	return &httpError{Code: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &httpError{Code: http.StatusNotFound, Msg: fmt.Sprintf(format, args...)}
}

// fail answers err as an error page: its own status for an *httpError,
// else 404 for what the store does not have, 500 for the rest.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	if code >= 500 {
		h.cfg.log.Error("inspector: request failed", "path", r.URL.Path, "err", err)
	}
	h.render(w, code, "error", page{Title: http.StatusText(code), Data: errorPage{Code: code, Status: http.StatusText(code), Msg: err.Error()}})
}

type errorPage struct {
	Code   int
	Status string
	Msg    string
}

// definition returns the definition named name at version (0: the
// registered one), from those registered and the upgrades.
func (h *handler) definition(name string, version int) *dsl.Definition {
	for _, d := range h.e.Definitions() {
		if d.Name() == name && (version == 0 || d.Version() == version) {
			return d
		}
	}
	if version == 0 {
		return nil
	}
	for _, d := range h.cfg.upgrades {
		if d.Name() == name && d.Version() == version {
			return d
		}
	}
	return nil
}

// upgradesOf returns the upgrade definitions of workflow name.
func (h *handler) upgradesOf(name string) []*dsl.Definition {
	var out []*dsl.Definition
	for _, d := range h.cfg.upgrades {
		if d.Name() == name {
			out = append(out, d)
		}
	}
	return out
}
