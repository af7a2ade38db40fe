package inspector

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/httpapi"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// maxForm bounds the body of an action's form.
const maxForm = 1 << 20

// action wraps an action's handler with what every action does first: a
// bounded form, the CSRF check, the authorizer; and logs the outcome.
// The handler returns where to go next (a relative URL) or an error.
func (h *handler) action(name string, do func(r *http.Request) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			h.refuse(w, r, name, http.StatusBadRequest, fmt.Errorf("the form does not parse: %w", err))
			return
		}
		if err := h.checkCSRF(r, name); err != nil {
			h.refuse(w, r, name, http.StatusForbidden, err)
			return
		}
		if err := h.cfg.authorize(r, name); err != nil {
			h.refuse(w, r, name, http.StatusForbidden, fmt.Errorf("not allowed: %w", err))
			return
		}
		next, err := do(r)
		h.counts.clear() // whatever it did, the next page counts again
		if err != nil {
			h.refuse(w, r, name, statusOf(err), err)
			return
		}
		h.cfg.log.Info("inspector: action", "action", name, "instance", r.PostFormValue("id"),
			"event", r.PostFormValue("event"), "effect", r.PostFormValue("effect"), "remote", r.RemoteAddr)
		// Relative, so that it works wherever the handler is mounted
		// (http.Redirect would make it absolute from the stripped path).
		w.Header().Set("Location", next)
		w.WriteHeader(http.StatusSeeOther)
	}
}

func (h *handler) refuse(w http.ResponseWriter, r *http.Request, action string, code int, err error) {
	h.cfg.log.Warn("inspector: action refused", "action", action, "instance", r.PostFormValue("id"),
		"event", r.PostFormValue("event"), "effect", r.PostFormValue("effect"), "remote", r.RemoteAddr, "status", code, "err", err)
	h.render(w, code, "error", page{Title: http.StatusText(code), Data: errorPage{Code: code, Status: http.StatusText(code), Msg: err.Error()}})
}

// engineError gives an error of the engine the status it is answered
// with: the instance's state refuses the event (409), the input does not
// fit (400), the instance does not exist (404).
func engineError(err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return &httpError{Code: http.StatusNotFound, Msg: msg}
	case errors.Is(err, interp.ErrRejected), errors.Is(err, interp.ErrFinished), errors.Is(err, engine.ErrNoSuchWait),
		errors.Is(err, interp.ErrUnknownCallback), errors.Is(err, interp.ErrStaleCallback):
		return &httpError{Code: http.StatusConflict, Msg: msg}
	case errors.Is(err, engine.ErrTooLarge):
		return &httpError{Code: http.StatusRequestEntityTooLarge, Msg: msg}
	case errors.Is(err, engine.ErrUnregistered):
		return &httpError{Code: http.StatusUnprocessableEntity, Msg: msg}
	}
	return err
}

func formID(r *http.Request) (string, error) {
	id := r.PostFormValue("id")
	if id == "" {
		return "", badRequest("the form names no instance")
	}
	if len(id) > storage.MaxIDLen {
		return "", badRequest("an instance ID is at most %d bytes", storage.MaxIDLen)
	}
	return id, nil
}

// send sends the form's event, its payload decoded from JSON into the
// event's payload type.
func (h *handler) send(r *http.Request) (string, error) {
	id, err := formID(r)
	if err != nil {
		return "", err
	}
	event := r.PostFormValue("event")
	if event == "" {
		return "", badRequest("the form names no event")
	}
	in, err := h.e.Get(r.Context(), id)
	if err != nil {
		return "", engineError(err)
	}
	def := h.definition(in.Workflow, 0)
	if def == nil {
		return "", &httpError{Code: http.StatusUnprocessableEntity, Msg: fmt.Sprintf("workflow %q is not registered with this engine", in.Workflow)}
	}
	var path string
	for _, th := range in.Meta.Threads {
		for _, p := range th.Waits {
			if p.Event == event && p.Kind == interp.Custom {
				path = th.Path
			}
		}
	}
	if path == "" {
		return "", &httpError{Code: http.StatusConflict, Msg: fmt.Sprintf("instance %q waits for no custom event %q", id, event)}
	}
	pt := payloadType(def, path, event)
	if pt == nil {
		return "", &httpError{Code: http.StatusConflict, Msg: fmt.Sprintf("workflow %q has no custom event %q at %q", in.Workflow, event, path)}
	}
	body := []byte(r.PostFormValue("payload"))
	if r.PostFormValue("form") == "fields" {
		if body, err = fieldsJSON(pt, r.PostForm); err != nil {
			return "", badRequest("payload: %v", err)
		}
	}
	payload, err := httpapi.Decode(body, pt)
	if err != nil {
		return "", badRequest("payload: %v", err)
	}
	if err := h.e.Send(r.Context(), id, event, payload, nil); err != nil {
		return "", engineError(err)
	}
	return query("instance", "id", id, "done", "sent "+event), nil
}

func (h *handler) cancel(r *http.Request) (string, error) {
	id, err := formID(r)
	if err != nil {
		return "", err
	}
	if err := h.e.Cancel(r.Context(), id); err != nil {
		return "", engineError(err)
	}
	return query("instance", "id", id, "done", "canceled"), nil
}

func (h *handler) terminate(r *http.Request) (string, error) {
	id, err := formID(r)
	if err != nil {
		return "", err
	}
	reason := r.PostFormValue("reason")
	if reason == "" {
		return "", badRequest("say why the instance is terminated")
	}
	if len(reason) > engine.MaxReasonLen {
		return "", badRequest("the reason is longer than %d bytes", engine.MaxReasonLen)
	}
	if err := h.e.Terminate(r.Context(), id, reason, engine.TerminatedBy("inspector")); err != nil {
		return "", engineError(err)
	}
	return query("instance", "id", id, "done", "terminated"), nil
}

func (h *handler) requeue(r *http.Request) (string, error) {
	effect := r.PostFormValue("effect")
	if effect == "" || len(effect) > storage.MaxIDLen {
		return "", badRequest("the form names no dead letter")
	}
	n, err := h.e.Requeue(r.Context(), effect)
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", notFound("%q is not a dead letter (already requeued, or acknowledged)", effect)
	}
	if id := r.PostFormValue("id"); id != "" && len(id) <= storage.MaxIDLen {
		return query("instance", "id", id, "done", "requeued "+plural(n, "dead letter")), nil
	}
	return query("./", "done", "requeued "+plural(n, "dead letter")), nil
}
