package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// Code is the machine-readable error code in the body of every error
// response ({"error": {"code": ..., "message": ...}}). Clients switch on the
// code, never on the message. Each code has one HTTP status, listed with
// it.
type Code string

// Error codes and their HTTP statuses.
const (
	CodeBadJSON      Code = "bad_json"    // 400: the body is not one JSON value
	CodeBadRequest   Code = "bad_request" // 400: a bad query parameter or path element
	CodeInvalidID    Code = "invalid_id"  // 400: engine.ErrInvalidID
	CodeInvalidKey   Code = "invalid_key" // 400: engine.ErrInvalidKey (the Idempotency-Key header)
	CodeNoRoute      Code = "no_route"    // 404: no such URL
	CodeUnknownWF    Code = "unknown_workflow"
	CodeUnknownInst  Code = "unknown_instance"   // 404: storage.ErrNotFound
	CodeUnknownEvent Code = "unknown_event"      // 404: the workflow has no custom event of that name
	CodeUnknownCB    Code = "unknown_callback"   // 404: interp.ErrUnknownCallback
	CodeMethod       Code = "method_not_allowed" // 405
	CodeExists       Code = "exists"             // 409: engine.ErrExists
	CodeNoSuchWait   Code = "no_such_wait"       // 409: engine.ErrNoSuchWait
	CodeFinished     Code = "finished"           // 409: interp.ErrFinished
	CodeCanceling    Code = "canceling"          // 409: interp.ErrBadEvent (a cancel of a canceling instance)
	CodeDuplicateCB  Code = "duplicate_callback" // 409: interp.ErrDuplicateCallback
	CodeStaleCB      Code = "stale_callback"     // 409: interp.ErrStaleCallback
	CodeNotDue       Code = "not_due"            // 409: interp.ErrNotDue
	CodeConflict     Code = "conflict"           // 409: storage.ErrConflict after the engine's retries
	CodeLeased       Code = "leased"             // 409: storage.ErrLeased (another process works on the instance)
	CodeTooLarge     Code = "too_large"          // 413: the body is over the handler's limit, or engine.ErrTooLarge
	CodeWrongType    Code = "wrong_type"         // 422: JSON that does not fit the workflow's type
	CodeRejected     Code = "rejected"           // 422: interp.ErrRejected (the event's handler refused the payload)
	CodeOutcome      Code = "outcome_unknown"    // 500: engine.ErrOutcomeUnknown: the write may or may not have been applied
	CodeReply        Code = "reply_undecodable"  // 500: engine.ErrReplyUndecodable: the event WAS applied
	CodeInternal     Code = "internal"           // 500: a panic, corrupt data, anything else
	CodeUnavailable  Code = "unavailable"        // 503: the store is closed, or the request ran out of time
	CodeInboxFull    Code = "inbox_full"         // 429: engine.ErrInboxFull (no wait takes the event and the inbox is full)
	CodeUnknownQuery Code = "unknown_query"      // 404: engine.ErrNoQuery
	CodeQueryFailed  Code = "query_failed"       // 500: engine.ErrQueryFailed (the query function panicked)
)

// Error is the body of an error response.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Outcome unknown only: the retry that cannot apply the event twice
	// (see engine.OutcomeUnknownError): the callback to deliver to, and
	// the idempotency key the send carried.
	Callback uint64 `json:"callback,omitempty"`
	Key      string `json:"key,omitempty"`
}

// errorBody is the JSON of an error response.
type errorBody struct {
	Error Error `json:"error"`
}

// apiError is an error the handler found itself, with its code.
type apiError struct {
	code Code
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func fail(code Code, msg string) error { return &apiError{code: code, msg: msg} }

// statusOf is the HTTP status of each code.
var statusOf = map[Code]int{
	CodeBadJSON: http.StatusBadRequest, CodeBadRequest: http.StatusBadRequest,
	CodeInvalidID: http.StatusBadRequest, CodeInvalidKey: http.StatusBadRequest,
	CodeNoRoute: http.StatusNotFound, CodeUnknownWF: http.StatusNotFound, CodeUnknownInst: http.StatusNotFound,
	CodeUnknownEvent: http.StatusNotFound, CodeUnknownCB: http.StatusNotFound,
	CodeMethod: http.StatusMethodNotAllowed,
	CodeExists: http.StatusConflict, CodeNoSuchWait: http.StatusConflict, CodeFinished: http.StatusConflict,
	CodeCanceling: http.StatusConflict, CodeDuplicateCB: http.StatusConflict, CodeStaleCB: http.StatusConflict,
	CodeNotDue: http.StatusConflict, CodeConflict: http.StatusConflict, CodeLeased: http.StatusConflict,
	CodeTooLarge:  http.StatusRequestEntityTooLarge,
	CodeWrongType: http.StatusUnprocessableEntity, CodeRejected: http.StatusUnprocessableEntity,
	CodeOutcome: http.StatusInternalServerError, CodeReply: http.StatusInternalServerError,
	CodeInternal:    http.StatusInternalServerError,
	CodeUnavailable: http.StatusServiceUnavailable,
	CodeInboxFull:   http.StatusTooManyRequests, CodeUnknownQuery: http.StatusNotFound, CodeQueryFailed: http.StatusInternalServerError,
}

// Status returns the HTTP status of code (500 for a code it does not know).
func (c Code) Status() int {
	if s, ok := statusOf[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// classify maps an error of the engine (or of the handler) to its code.
// The order matters where an error matches several sentinels: an unknown
// outcome first (it wraps the store's error), then the most specific.
func classify(err error) Error {
	var ae *apiError
	if errors.As(err, &ae) {
		return Error{Code: ae.code, Message: ae.msg}
	}
	e := Error{Code: CodeInternal, Message: err.Error()}
	var ou *engine.OutcomeUnknownError
	switch {
	case errors.As(err, &ou):
		e.Code, e.Callback, e.Key = CodeOutcome, ou.Callback, ou.Key
	case errors.Is(err, engine.ErrOutcomeUnknown), errors.Is(err, storage.ErrOutcomeUnknown):
		e.Code = CodeOutcome
	case errors.Is(err, engine.ErrReplyUndecodable):
		e.Code = CodeReply
	case errors.Is(err, engine.ErrPanic):
		e.Code = CodeInternal
	case errors.Is(err, engine.ErrTooLarge):
		e.Code = CodeTooLarge
	case errors.Is(err, engine.ErrInvalidID):
		e.Code = CodeInvalidID
	case errors.Is(err, engine.ErrInvalidKey):
		e.Code = CodeInvalidKey
	case errors.Is(err, engine.ErrUnregistered):
		e.Code = CodeUnknownWF
	case errors.Is(err, engine.ErrStateType):
		e.Code = CodeWrongType
	case errors.Is(err, engine.ErrExists):
		e.Code = CodeExists
	case errors.Is(err, engine.ErrNoSuchWait):
		e.Code = CodeNoSuchWait
	case errors.Is(err, engine.ErrInboxFull):
		e.Code = CodeInboxFull
	case errors.Is(err, engine.ErrNoQuery):
		e.Code = CodeUnknownQuery
	case errors.Is(err, engine.ErrQueryFailed):
		e.Code = CodeQueryFailed
	case errors.Is(err, interp.ErrRejected):
		e.Code = CodeRejected
	case errors.Is(err, interp.ErrUnknownCallback):
		e.Code = CodeUnknownCB
	case errors.Is(err, interp.ErrDuplicateCallback):
		e.Code = CodeDuplicateCB
	case errors.Is(err, interp.ErrStaleCallback):
		e.Code = CodeStaleCB
	case errors.Is(err, interp.ErrNotDue):
		e.Code = CodeNotDue
	case errors.Is(err, interp.ErrFinished):
		e.Code = CodeFinished
	case errors.Is(err, interp.ErrBadEvent):
		e.Code = CodeCanceling
	case errors.Is(err, storage.ErrNotFound):
		e.Code = CodeUnknownInst
	case errors.Is(err, storage.ErrExists):
		e.Code = CodeExists
	case errors.Is(err, storage.ErrLeased):
		e.Code = CodeLeased
	case errors.Is(err, storage.ErrConflict):
		e.Code = CodeConflict
	case errors.Is(err, storage.ErrClosed), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		e.Code = CodeUnavailable
	case errors.Is(err, codec.ErrCorrupt), errors.Is(err, codec.ErrFormat), errors.Is(err, interp.ErrCorrupt):
		e.Code = CodeInternal
	}
	return e
}

// ErrorCode returns the code the handler answers err with: err's own code
// if the handler made it, else the code of the weft error it matches
// (CodeInternal for none).
func ErrorCode(err error) Code { return classify(err).Code }
