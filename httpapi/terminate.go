package httpapi

import (
	"net/http"
	"reflect"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
)

// TerminateRequest is the body of a terminate request.
type TerminateRequest struct {
	Reason string `json:"reason"`       // why the instance is ended; required
	By     string `json:"by,omitempty"` // who ends it (engine.TerminatedBy)
}

// Terminated is the response to a terminate.
type Terminated struct {
	ID string `json:"id"`
	Processed
}

// Termination is who terminated an instance, why and when, as a query
// shows it.
type Termination struct {
	Reason string    `json:"reason"`
	By     string    `json:"by,omitempty"`
	At     time.Time `json:"at"`
}

func (h *Handler) terminate(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		return 0, nil, err
	}
	v, err := Decode(body, reflect.TypeFor[TerminateRequest]())
	if err != nil {
		return 0, nil, err
	}
	req := v.(*TerminateRequest)
	if req.Reason == "" {
		return 0, nil, fail(CodeBadRequest, `terminate: the body needs a "reason"`)
	}
	if err := h.eng.Terminate(r.Context(), id, req.Reason, engine.TerminatedBy(req.By)); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, Terminated{ID: id, Processed: h.after(r.Context(), id)}, nil
}

func terminationOf(m interp.Meta) *Termination {
	if m.Terminated == nil {
		return nil
	}
	return &Termination{Reason: m.Terminated.Reason, By: m.Terminated.By, At: m.Terminated.At.UTC()}
}
