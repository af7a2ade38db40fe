package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// readBody reads the request body, at most limit bytes: a longer one is
// refused with CodeTooLarge.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, fail(CodeTooLarge, fmt.Sprintf("the body is over the limit of %d bytes", mb.Limit))
		}
		return nil, fail(CodeBadRequest, "reading the body: "+err.Error())
	}
	return b, nil
}

// Decode decodes body, one JSON value, into a new value of type t and
// returns a pointer to it. An empty body (or only white space) is t's zero
// value. Fields the type does not have are refused, so that a payload meant
// for another event is not taken silently. The error is for the client:
// CodeBadJSON when body is not one JSON value, CodeWrongType when it does
// not fit t. Decode never panics, whatever body holds.
//
// It is how the handler decodes start inputs, event payloads and activity
// results, exported for hosts that decode payloads their own way (a queue
// consumer, say) and for fuzzing.
func Decode(body []byte, t reflect.Type) (any, error) {
	if t == nil {
		return nil, fail(CodeWrongType, "nothing to decode into")
	}
	v := reflect.New(t)
	if len(bytes.TrimSpace(body)) == 0 {
		return v.Interface(), nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v.Interface()); err != nil {
		return nil, jsonError(err, t)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail(CodeBadJSON, "the body holds more than one JSON value")
	}
	return v.Interface(), nil
}

// jsonError classifies an error of encoding/json: a body that is not JSON
// is the client's syntax error (400), JSON that does not fit the type a
// wrong type (422).
func jsonError(err error, t reflect.Type) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fail(CodeBadJSON, "the body is not JSON: "+err.Error())
	case errors.As(err, &typ):
		return fail(CodeWrongType, fmt.Sprintf("the body does not fit %s: %v", t, err))
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		// encoding/json has no type for this error.
		return fail(CodeWrongType, fmt.Sprintf("the body does not fit %s: %v", t, err))
	}
	// An UnmarshalJSON method of the type refused it.
	return fail(CodeWrongType, fmt.Sprintf("the body does not fit %s: %v", t, err))
}
