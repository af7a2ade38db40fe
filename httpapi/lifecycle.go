package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/cborjson"
	"github.com/weftflow/weft/interp"
)

// MaxResultWait is the longest wait the result route takes (?wait=).
const MaxResultWait = time.Minute

// Result is the response to the result route: how the instance ended, or
// "running" (with status 202) if it had not ended when the wait was over.
type Result struct {
	ID      string          `json:"id"`
	Status  string          `json:"status"` // "completed", "failed", "canceled", "terminated" or "running"
	Output  any             `json:"output,omitempty"`
	Failure *interp.Failure `json:"failure,omitempty"`
}

// result waits (engine.Engine.Await) up to ?wait= (a Go duration, at most
// MaxResultWait; default 0: look once) for the instance to end.
func (h *Handler) result(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	var wait time.Duration
	if s := r.URL.Query().Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || d > MaxResultWait {
			return 0, nil, fail(CodeBadRequest, fmt.Sprintf("wait=%q: want a duration from 0 to %v", s, MaxResultWait))
		}
		wait = d
	}
	if _, _, err := h.instanceOf(r.Context(), id); err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), max(wait, time.Millisecond))
	defer cancel()
	var out any
	err := h.eng.Await(ctx, id, &out)
	res := Result{ID: id}
	var failed *engine.WorkflowFailedError
	switch {
	case err == nil:
		res.Status, res.Output = interp.StatusCompleted.String(), cborjson.Plain(out)
	case errors.As(err, &failed):
		res.Status = interp.StatusFailed.String()
		res.Failure = &interp.Failure{Path: failed.Path, Thread: failed.Thread, Message: failed.Message, Panic: failed.Panic}
	case errors.Is(err, engine.ErrCanceled):
		res.Status = interp.StatusCanceled.String()
	case errors.Is(err, engine.ErrTerminated):
		res.Status = "terminated"
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		res.Status = interp.StatusRunning.String()
		return http.StatusAccepted, res, nil
	default:
		return 0, nil, err
	}
	return http.StatusOK, res, nil
}

// signalWithStartBody is the body of the signal-with-start route.
type signalWithStartBody struct {
	Input   json.RawMessage `json:"input"`
	Payload json.RawMessage `json:"payload"`
}

// SignalStarted is the response to the signal-with-start route.
type SignalStarted struct {
	ID       string `json:"id"`
	Workflow string `json:"workflow"`
	Buffered bool   `json:"buffered,omitempty"` // no wait took the event yet: it waits in the inbox
	Processed
}

// signalWithStart is engine.Engine.SignalWithStart: body {"input": S,
// "payload": P}; input is used only if the instance does not exist.
func (h *Handler) signalWithStart(w http.ResponseWriter, r *http.Request) (int, any, error) {
	name, id, event := r.PathValue("workflow"), r.PathValue("id"), r.PathValue("event")
	wf := h.reg.workflow(name)
	if wf == nil {
		return 0, nil, fail(CodeUnknownWF, fmt.Sprintf("no workflow %q", name))
	}
	types, _, known := wf.sendTypes(&interp.Meta{}, event)
	if !known {
		return 0, nil, fail(CodeUnknownEvent, fmt.Sprintf("workflow %q has no custom event %q", name, event))
	}
	opts := []engine.SendOption{}
	if keys, ok := r.Header[IdempotencyHeader]; ok {
		key := ""
		if len(keys) > 0 {
			key = keys[0]
		}
		opts = append(opts, engine.IdempotencyKey(key))
	}
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		return 0, nil, err
	}
	var b signalWithStartBody
	if len(body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			return 0, nil, fail(CodeBadJSON, "body: want {\"input\": ..., \"payload\": ...}: "+err.Error())
		}
	}
	input, err := Decode(b.Input, wf.def.StateType())
	if err != nil {
		return 0, nil, err
	}
	payload, err := Decode(b.Payload, types.payload)
	if err != nil {
		return 0, nil, err
	}
	var buffered bool
	if err := h.eng.SignalWithStart(r.Context(), wf.def, id, input, event, payload, append(opts, engine.ReportBuffered(&buffered))...); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, SignalStarted{ID: id, Workflow: name, Buffered: buffered, Processed: h.after(r.Context(), id)}, nil
}
