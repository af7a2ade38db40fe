package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/httpapi"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// Order is the test workflow's state.
type Order struct {
	Item    string
	Qty     int
	Paid    int
	Tracker string
}

// Payment is the payload of "pay".
type Payment struct{ Amount int }

// Receipt is the reply to "pay".
type Receipt struct{ Total int }

var orderWF = dsl.MustCompile[Order]("order", dsl.S(
	dsl.Wait("payment",
		dsl.On("expire", dsl.After(time.Hour), dsl.Return("expired")),
		dsl.On("pay", dsl.Signal(func(s *Order, p Payment) (Receipt, error) {
			if p.Amount <= 0 {
				return Receipt{}, errors.New("the amount must be positive")
			}
			s.Paid = p.Amount
			return Receipt{Total: p.Amount * 2}, nil
		})),
	),
	dsl.Wait("shipping",
		dsl.On("ship", dsl.Signal(func(s *Order, tracker string) (string, error) {
			s.Tracker = tracker
			return "shipped " + s.Item, nil
		}))),
	dsl.Return("done"),
), dsl.OnCancel(dsl.Wait("cleanup", dsl.On("settle", dsl.After(time.Minute)))),
	dsl.Query("paid", func(s *Order) int { return s.Paid }),
	dsl.Query("label", func(s *Order) map[string]string { return map[string]string{"item": s.Item, "tracker": s.Tracker} }),
	dsl.Query("broken", func(s *Order) int { panic("broken") }))

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type fixture struct {
	t     *testing.T
	store storage.Store
	clock *engine.FakeClock
	eng   *engine.Engine
	srv   http.Handler
}

func newFixture(t *testing.T, store storage.Store, eopts []engine.Option, hopts ...httpapi.Option) *fixture {
	t.Helper()
	if store == nil {
		store = memory.New()
	}
	clock := engine.NewFakeClock(t0)
	eng, err := engine.New(store, append([]engine.Option{engine.WithClock(clock)}, eopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := httpapi.NewRegistry(orderWF, surveyWF)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Register(reg.Definitions()...); err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(eng, reg, hopts...)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, store: store, clock: clock, eng: eng, srv: h}
}

// do serves one request and decodes the JSON response into a map.
func (f *fixture) do(method, path, body string, header ...string) (int, map[string]any) {
	f.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		f.t.Fatalf("%s %s: response %q is not a JSON object: %v", method, path, rec.Body.String(), err)
	}
	return rec.Code, out
}

// wantError checks an error response's status and code.
func (f *fixture) wantError(status int, code httpapi.Code, method, path, body string, header ...string) map[string]any {
	f.t.Helper()
	got, out := f.do(method, path, body, header...)
	e, _ := out["error"].(map[string]any)
	if got != status || e == nil || e["code"] != string(code) {
		f.t.Errorf("%s %s %q: got %d %v, want %d with code %q", method, path, body, got, out, status, code)
	}
	if e != nil && e["message"] == "" {
		f.t.Errorf("%s %s: no message", method, path)
	}
	return e
}

func (f *fixture) want(status int, method, path, body string, header ...string) map[string]any {
	f.t.Helper()
	got, out := f.do(method, path, body, header...)
	if got != status {
		f.t.Fatalf("%s %s %q: got %d %v, want %d", method, path, body, got, out, status)
	}
	return out
}

// callback returns the callback of the instance's wait for event.
func (f *fixture) callback(id, event string) uint64 {
	f.t.Helper()
	out := f.want(200, "GET", "/instances/"+id, "")
	for _, w := range out["waits"].([]any) {
		w := w.(map[string]any)
		if w["event"] == event {
			return uint64(w["callback"].(float64))
		}
	}
	f.t.Fatalf("instance %s waits for no %q: %v", id, event, out)
	return 0
}

func TestStart(t *testing.T) {
	f := newFixture(t, nil, nil)
	out := f.want(201, "POST", "/workflows/order/instances/o1", `{"Item":"tea","Qty":2}`)
	if diff := cmp.Diff(map[string]any{"id": "o1", "workflow": "order"}, out); diff != "" {
		t.Errorf("start (-want +got):\n%s", diff)
	}
	f.want(201, "POST", "/workflows/order/instances/empty", "") // the zero state
	f.want(201, "POST", "/workflows/order/instances/a%2Fb", `{}`)
	if got := f.want(200, "GET", "/instances/a%2Fb", "")["id"]; got != "a/b" {
		t.Errorf("id with a slash: %v", got)
	}
	f.wantError(409, httpapi.CodeExists, "POST", "/workflows/order/instances/o1", `{}`)
	f.wantError(404, httpapi.CodeUnknownWF, "POST", "/workflows/nope/instances/o2", `{}`)
	f.wantError(400, httpapi.CodeBadJSON, "POST", "/workflows/order/instances/o2", `{"Item":`)
	f.wantError(400, httpapi.CodeBadJSON, "POST", "/workflows/order/instances/o2", `{} {}`)
	f.wantError(422, httpapi.CodeWrongType, "POST", "/workflows/order/instances/o2", `{"Qty":"two"}`)
	f.wantError(422, httpapi.CodeWrongType, "POST", "/workflows/order/instances/o2", `{"Colour":"red"}`)
	f.wantError(422, httpapi.CodeWrongType, "POST", "/workflows/order/instances/o2", `[1,2]`)
	f.wantError(400, httpapi.CodeInvalidID, "POST", "/workflows/order/instances/"+strings.Repeat("x", 5000), `{}`)
	f.wantError(405, httpapi.CodeMethod, "GET", "/workflows/order/instances/o2", "")
	f.wantError(404, httpapi.CodeUnknownInst, "GET", "/instances/o2", "")
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t, nil, nil, httpapi.WithMaxBody(64))
	big := `{"Item":"` + strings.Repeat("t", 100) + `"}`
	f.wantError(413, httpapi.CodeTooLarge, "POST", "/workflows/order/instances/o1", big)
	f.want(201, "POST", "/workflows/order/instances/o1", `{"Item":"tea"}`)
	f.wantError(413, httpapi.CodeTooLarge, "POST", "/instances/o1/events/pay", `{"Amount":1`+strings.Repeat(" ", 100)+`}`)
	f.wantError(413, httpapi.CodeTooLarge, "POST", fmt.Sprintf("/instances/o1/callbacks/%d", f.callback("o1", "pay")), big)

	// The engine's own payload limit, on the encoded payload.
	g := newFixture(t, nil, []engine.Option{engine.WithMaxPayload(16)})
	g.wantError(413, httpapi.CodeTooLarge, "POST", "/workflows/order/instances/o1", `{"Item":"a long name for tea"}`)
}

func TestSend(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.want(201, "POST", "/workflows/order/instances/o1", `{"Item":"tea"}`)
	f.wantError(404, httpapi.CodeUnknownEvent, "POST", "/instances/o1/events/refund", `{}`)
	f.wantError(404, httpapi.CodeUnknownInst, "POST", "/instances/nope/events/pay", `{}`)
	f.wantError(409, httpapi.CodeNoSuchWait, "POST", "/instances/o1/events/ship?buffer=false", `"track-1"`)
	f.wantError(400, httpapi.CodeBadRequest, "POST", "/instances/o1/events/ship?buffer=maybe", `"track-1"`)
	f.wantError(422, httpapi.CodeWrongType, "POST", "/instances/o1/events/pay", `{"Amount":"ten"}`)
	f.wantError(422, httpapi.CodeWrongType, "POST", "/instances/o1/events/ship", `{"a":1}`) // not waiting: typed by name
	f.wantError(400, httpapi.CodeBadJSON, "POST", "/instances/o1/events/pay", `{Amount:1}`)
	f.wantError(422, httpapi.CodeRejected, "POST", "/instances/o1/events/pay", `{"Amount":0}`)
	f.wantError(400, httpapi.CodeInvalidKey, "POST", "/instances/o1/events/pay", `{"Amount":5}`, httpapi.IdempotencyHeader, strings.Repeat("k", engine.MaxKeyLen+1))

	out := f.want(200, "POST", "/instances/o1/events/pay", `{"Amount":5}`, httpapi.IdempotencyHeader, "pay-1")
	if diff := cmp.Diff(map[string]any{"reply": map[string]any{"Total": 10.0}}, out); diff != "" {
		t.Errorf("send (-want +got):\n%s", diff)
	}
	// A retry with the key applies nothing and gives the first reply.
	out = f.want(200, "POST", "/instances/o1/events/pay", `{"Amount":7}`, httpapi.IdempotencyHeader, "pay-1")
	if diff := cmp.Diff(map[string]any{"reply": map[string]any{"Total": 10.0}}, out); diff != "" {
		t.Errorf("keyed retry (-want +got):\n%s", diff)
	}
	f.wantError(400, httpapi.CodeInvalidKey, "POST", "/instances/o1/events/ship", `"t"`, httpapi.IdempotencyHeader, "pay-1")
	if paid := f.want(200, "GET", "/instances/o1", "")["state"].(map[string]any)["Paid"]; paid != 5.0 {
		t.Errorf("paid %v after a keyed retry, want 5", paid)
	}
	out = f.want(200, "POST", "/instances/o1/events/ship", `"track-1"`)
	if out["reply"] != "shipped tea" {
		t.Errorf("ship reply %v", out)
	}
	f.wantError(409, httpapi.CodeFinished, "POST", "/instances/o1/events/ship", `"track-2"`)
	q := f.want(200, "GET", "/instances/o1", "")
	if q["status"] != "completed" || q["output"] != "done" {
		t.Errorf("query after the end: %v", q)
	}
}

func TestDeliver(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.want(201, "POST", "/workflows/order/instances/o1", `{"Item":"tea"}`)
	pay, expire := f.callback("o1", "pay"), f.callback("o1", "expire")
	path := func(cb uint64) string { return fmt.Sprintf("/instances/o1/callbacks/%d", cb) }
	f.wantError(400, httpapi.CodeBadRequest, "POST", "/instances/o1/callbacks/abc", `{}`)
	f.wantError(400, httpapi.CodeBadRequest, "POST", "/instances/o1/callbacks/0", `{}`)
	f.wantError(404, httpapi.CodeUnknownCB, "POST", path(999), `{}`)
	f.wantError(404, httpapi.CodeUnknownInst, "POST", "/instances/nope/callbacks/1", `{}`)
	f.wantError(409, httpapi.CodeNotDue, "POST", path(expire), ``)
	f.wantError(422, httpapi.CodeWrongType, "POST", path(pay), `{"Amount":true}`)
	f.wantError(422, httpapi.CodeRejected, "POST", path(pay), `{"Amount":-1}`)
	out := f.want(200, "POST", path(pay), `{"Amount":3}`)
	if diff := cmp.Diff(map[string]any{"reply": map[string]any{"Total": 6.0}}, out); diff != "" {
		t.Errorf("deliver (-want +got):\n%s", diff)
	}
	f.wantError(409, httpapi.CodeDuplicateCB, "POST", path(pay), `{"Amount":3}`)
	f.wantError(409, httpapi.CodeStaleCB, "POST", path(expire), ``)

	// A timer's callback, once due, takes no payload.
	f.want(201, "POST", "/workflows/order/instances/o2", `{}`)
	expire = f.callback("o2", "expire")
	f.clock.Advance(time.Hour)
	out = f.want(200, "POST", fmt.Sprintf("/instances/o2/callbacks/%d", expire), `ignored`)
	if out["reply"] != nil {
		t.Errorf("timer reply %v", out)
	}
	if q := f.want(200, "GET", "/instances/o2", ""); q["output"] != "expired" {
		t.Errorf("after the timer: %v", q)
	}
}

func TestCancel(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.want(201, "POST", "/workflows/order/instances/o1", `{}`)
	f.want(200, "POST", "/instances/o1/cancel", "")
	if s := f.want(200, "GET", "/instances/o1", "")["status"]; s != "canceling" {
		t.Errorf("status %v, want canceling (the cleanup waits)", s)
	}
	f.wantError(409, httpapi.CodeCanceling, "POST", "/instances/o1/cancel", "")
	f.wantError(404, httpapi.CodeUnknownInst, "POST", "/instances/nope/cancel", "")
	f.wantError(405, httpapi.CodeMethod, "GET", "/instances/o1/cancel", "")
	f.clock.Advance(time.Minute)
	f.want(200, "POST", "/run-due", "")
	if s := f.want(200, "GET", "/instances/o1", "")["status"]; s != "canceled" {
		t.Errorf("status %v after the cleanup timer, want canceled", s)
	}
	f.wantError(409, httpapi.CodeFinished, "POST", "/instances/o1/cancel", "")
}

func TestRunDue(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.want(201, "POST", "/workflows/order/instances/o1", `{}`)
	out := f.want(200, "POST", "/run-due?limit=10", "")
	want := map[string]any{"instances": 0.0, "transitions": 0.0, "effects": 0.0, "retried": 0.0, "dead_letters": 0.0,
		"next": t0.Add(time.Hour).Format(time.RFC3339)}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("run due before the timer (-want +got):\n%s", diff)
	}
	f.clock.Advance(time.Hour)
	out = f.want(200, "POST", "/run-due", "")
	if out["transitions"] != 1.0 || out["next"] != nil {
		t.Errorf("run due at the timer: %v", out)
	}
	if q := f.want(200, "GET", "/instances/o1", ""); q["output"] != "expired" {
		t.Errorf("after run due: %v", q)
	}
	f.wantError(400, httpapi.CodeBadRequest, "POST", "/run-due?limit=0", "")
	f.wantError(400, httpapi.CodeBadRequest, "POST", "/run-due?limit=x", "")
	f.wantError(405, httpapi.CodeMethod, "GET", "/run-due", "")
	f.wantError(404, httpapi.CodeNoRoute, "POST", "/run-everything", "")
}

func TestProcess(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.want(201, "POST", "/workflows/order/instances/o1", `{}`)
	f.clock.Advance(time.Hour)
	out := f.want(200, "POST", "/instances/o1/process", "")
	if out["transitions"] != 1.0 {
		t.Errorf("process: %v", out)
	}
	f.wantError(404, httpapi.CodeUnknownInst, "POST", "/instances/nope/process", "")

	// Another process holds the instance.
	f.want(201, "POST", "/workflows/order/instances/o2", `{}`)
	if _, err := f.store.Acquire(context.Background(), "o2", storage.ClaimRequest{Owner: "other", Now: f.clock.Now(), TTL: time.Minute, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	f.wantError(409, httpapi.CodeLeased, "POST", "/instances/o2/process", "")
}

func TestProcessing(t *testing.T) {
	var setups []string
	f := newFixture(t, nil, []engine.Option{engine.WithFinish(func(ctx context.Context, info engine.EffectInfo) error {
		setups = append(setups, info.ID)
		return nil
	})}, httpapi.WithProcessing())
	f.want(201, "POST", "/workflows/order/instances/o1", `{}`)
	f.want(200, "POST", "/instances/o1/events/pay", `{"Amount":1}`)
	out := f.want(200, "POST", "/instances/o1/events/ship", `"t"`)
	if w, _ := out["work"].(map[string]any); w == nil || w["effects"] != 1.0 {
		t.Errorf("ship with processing: %v", out)
	}
	if len(setups) != 1 {
		t.Errorf("finish hook called %d times in the request, want 1", len(setups))
	}
}

// faultStore fails writes with an unknown outcome, or panics on loads.
type faultStore struct {
	storage.Store
	outcome, panics bool
}

func (s *faultStore) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	if s.outcome {
		return 0, fmt.Errorf("connection reset: %w", storage.ErrOutcomeUnknown)
	}
	return s.Store.Commit(ctx, c)
}

func (s *faultStore) Load(ctx context.Context, id string) (storage.Instance, error) {
	if s.panics {
		panic("store bug")
	}
	return s.Store.Load(ctx, id)
}

func TestStoreFailures(t *testing.T) {
	fs := &faultStore{Store: memory.New()}
	f := newFixture(t, fs, nil)
	f.want(201, "POST", "/workflows/order/instances/o1", `{}`)
	pay := f.callback("o1", "pay")
	fs.outcome = true
	e := f.wantError(500, httpapi.CodeOutcome, "POST", "/instances/o1/events/pay", `{"Amount":1}`, httpapi.IdempotencyHeader, "k1")
	if e["callback"] != float64(pay) || e["key"] != "k1" {
		t.Errorf("outcome unknown: %v, want the callback %d and the key", e, pay)
	}
	f.wantError(500, httpapi.CodeOutcome, "POST", fmt.Sprintf("/instances/o1/callbacks/%d", pay), `{"Amount":1}`)
	f.wantError(500, httpapi.CodeOutcome, "POST", "/instances/o1/cancel", ``)
	fs.outcome = false
	fs.panics = true
	f.wantError(500, httpapi.CodeInternal, "GET", "/instances/o1", "")
	fs.panics = false

	ms := memory.New()
	g := newFixture(t, ms, nil)
	if err := ms.Close(); err != nil {
		t.Fatal(err)
	}
	g.wantError(503, httpapi.CodeUnavailable, "POST", "/workflows/order/instances/o1", `{}`)
}

func TestRegistry(t *testing.T) {
	if _, err := httpapi.NewRegistry(orderWF, orderWF); err == nil {
		t.Error("two definitions of one name: no error")
	}
	if _, err := httpapi.NewRegistry(nil); err == nil {
		t.Error("nil definition: no error")
	}
	eng, _ := engine.New(memory.New())
	reg, _ := httpapi.NewRegistry(orderWF)
	for _, o := range []httpapi.Option{httpapi.WithMaxBody(0), httpapi.WithRunDue(0, 0), httpapi.WithRunDue(1, -1), httpapi.WithLogger(nil), nil} {
		if _, err := httpapi.New(eng, reg, o); err == nil {
			t.Error("an invalid option: no error")
		}
	}
	if _, err := httpapi.New(nil, reg); err == nil {
		t.Error("nil engine: no error")
	}
}

// TestCodes checks that every code has its status and that the statuses
// are the documented ones.
func TestCodes(t *testing.T) {
	for code, want := range map[httpapi.Code]int{
		httpapi.CodeBadJSON: 400, httpapi.CodeUnknownInst: 404, httpapi.CodeNoSuchWait: 409, httpapi.CodeConflict: 409,
		httpapi.CodeTooLarge: 413, httpapi.CodeRejected: 422, httpapi.CodeOutcome: 500, httpapi.CodeReply: 500,
		httpapi.CodeUnavailable: 503, httpapi.Code("made-up"): 500,
	} {
		if got := code.Status(); got != want {
			t.Errorf("%s: status %d, want %d", code, got, want)
		}
	}
}

func TestNoPanicOnAnyRequest(t *testing.T) {
	f := newFixture(t, nil, nil, httpapi.WithMaxBody(256))
	f.want(201, "POST", "/workflows/order/instances/o1", `{}`)
	for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
		for _, p := range []string{"/", "/instances/", "/instances/o1/events/", "/instances/o1/callbacks/18446744073709551616",
			"/workflows/order/instances/", "/run-due?limit=-1", "/instances/%00/cancel"} {
			for _, b := range []string{"", "null", "{", "\x00", `{"Amount":1e400}`} {
				req := httptest.NewRequest(m, "http://x"+p, bytes.NewBufferString(b))
				rec := httptest.NewRecorder()
				f.srv.ServeHTTP(rec, req)
				if rec.Code == 0 || !json.Valid(rec.Body.Bytes()) {
					t.Errorf("%s %s %q: %d %q", m, p, b, rec.Code, rec.Body.String())
				}
			}
		}
	}
	_ = url.PathEscape
}

// TestErrorCode covers the mapping of the errors a request cannot easily
// provoke, each wrapped as the engine wraps them.
func TestErrorCode(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("engine: something of %q: %w", "x", err) }
	for _, c := range []struct {
		err  error
		want httpapi.Code
	}{
		{wrap(storage.ErrConflict), httpapi.CodeConflict},
		{wrap(storage.ErrExists), httpapi.CodeExists},
		{&engine.ReplyDecodeError{Instance: "x", Err: errors.New("bad")}, httpapi.CodeReply},
		{wrap(engine.ErrUnregistered), httpapi.CodeUnknownWF},
		{wrap(engine.ErrStateType), httpapi.CodeWrongType},
		{&engine.OutcomeUnknownError{Op: "start", Err: storage.ErrOutcomeUnknown}, httpapi.CodeOutcome},
		{wrap(storage.ErrOutcomeUnknown), httpapi.CodeOutcome},
		// An unknown outcome wins over what the store's error also says.
		{&engine.OutcomeUnknownError{Op: "send", Err: errors.Join(storage.ErrOutcomeUnknown, storage.ErrConflict)}, httpapi.CodeOutcome},
		{wrap(context.DeadlineExceeded), httpapi.CodeUnavailable},
		{wrap(storage.ErrClosed), httpapi.CodeUnavailable},
		{errors.New("anything else"), httpapi.CodeInternal},
	} {
		if got := httpapi.ErrorCode(c.err); got != c.want {
			t.Errorf("ErrorCode(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

// Survey is a workflow with one event name at two waits, of two payload
// types, and a struct output.
type Survey struct {
	Age  int
	Name string
}

var surveyWF = dsl.MustCompile[Survey]("survey", dsl.S(
	dsl.Wait("first", dsl.On("answer", dsl.Signal(func(s *Survey, age int) (int, error) { s.Age = age; return age + 1, nil }))),
	dsl.Wait("second", dsl.On("answer", dsl.Signal(func(s *Survey, name string) (string, error) { s.Name = name; return "hi " + name, nil }))),
	dsl.ReturnWith(func(s *Survey) Survey { return *s }),
))

// The payload type is the one of the wait the instance is at.
func TestPayloadTypeOfTheWait(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.want(201, "POST", "/workflows/survey/instances/s", ``)
	f.wantError(422, httpapi.CodeWrongType, "POST", "/instances/s/events/answer", `"bo"`)
	if out := f.want(200, "POST", "/instances/s/events/answer", `41`); out["reply"] != 42.0 {
		t.Errorf("first answer: %v", out)
	}
	f.wantError(422, httpapi.CodeWrongType, "POST", "/instances/s/events/answer", `41`)
	if out := f.want(200, "POST", "/instances/s/events/answer", `"bo"`); out["reply"] != "hi bo" {
		t.Errorf("second answer: %v", out)
	}
	q := f.want(200, "GET", "/instances/s", "")
	if diff := cmp.Diff(map[string]any{"Age": 41.0, "Name": "bo"}, q["output"]); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	f.wantError(404, httpapi.CodeUnknownEvent, "POST", "/instances/s/events/pay", `{}`) // another workflow's event
}

// An event sent before its wait opens is buffered: the response says so,
// the instance lists it, and the wait takes it when it opens.
func TestSendBuffered(t *testing.T) {
	f := newFixture(t, nil, []engine.Option{engine.WithInboxLimit(1)})
	f.want(201, "POST", "/workflows/order/instances/o1", `{"Item":"tea"}`)
	out := f.want(200, "POST", "/instances/o1/events/ship", `"track-1"`)
	if diff := cmp.Diff(map[string]any{"reply": nil, "buffered": true}, out); diff != "" {
		t.Errorf("buffered send (-want +got):\n%s", diff)
	}
	f.wantError(429, httpapi.CodeInboxFull, "POST", "/instances/o1/events/ship", `"track-2"`)
	q := f.want(200, "GET", "/instances/o1", "")
	inbox, _ := q["inbox"].([]any)
	if len(inbox) != 1 || inbox[0].(map[string]any)["event"] != "ship" {
		t.Errorf("inbox %v", q["inbox"])
	}
	f.want(200, "POST", "/instances/o1/events/pay", `{"Amount":5}`)
	q = f.want(200, "GET", "/instances/o1", "")
	if q["status"] != "completed" || q["state"].(map[string]any)["Tracker"] != "track-1" {
		t.Errorf("after pay the buffered ship was not taken: %v", q)
	}
}

func TestQueryRoute(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.want(201, "POST", "/workflows/order/instances/o1", `{"Item":"tea"}`)
	f.want(200, "POST", "/instances/o1/events/pay", `{"Amount":5}`)
	if diff := cmp.Diff(map[string]any{"query": "paid", "result": 5.0}, f.want(200, "GET", "/instances/o1/queries/paid", "")); diff != "" {
		t.Errorf("paid (-want +got):\n%s", diff)
	}
	want := map[string]any{"query": "label", "result": map[string]any{"item": "tea", "tracker": ""}}
	if diff := cmp.Diff(want, f.want(200, "GET", "/instances/o1/queries/label", "")); diff != "" {
		t.Errorf("label (-want +got):\n%s", diff)
	}
	f.wantError(404, httpapi.CodeUnknownQuery, "GET", "/instances/o1/queries/nope", "")
	f.wantError(404, httpapi.CodeUnknownInst, "GET", "/instances/nope/queries/paid", "")
	f.wantError(500, httpapi.CodeQueryFailed, "GET", "/instances/o1/queries/broken", "")
	f.wantError(405, httpapi.CodeMethod, "POST", "/instances/o1/queries/paid", "")
	q := f.want(200, "GET", "/instances/o1", "")
	if diff := cmp.Diff([]any{"broken", "label", "paid"}, q["queries"]); diff != "" {
		t.Errorf("queries listed (-want +got):\n%s", diff)
	}
}

func TestResultRoute(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.want(201, "POST", "/workflows/order/instances/o1", `{"Item":"tea"}`)
	running := f.want(202, "GET", "/instances/o1/result", "")
	if running["status"] != "running" {
		t.Errorf("running: %v", running)
	}
	f.wantError(400, httpapi.CodeBadRequest, "GET", "/instances/o1/result?wait=forever", "")
	f.wantError(400, httpapi.CodeBadRequest, "GET", "/instances/o1/result?wait=2h", "")
	f.wantError(404, httpapi.CodeUnknownInst, "GET", "/instances/nope/result", "")
	f.want(200, "POST", "/instances/o1/events/pay", `{"Amount":5}`)
	f.want(200, "POST", "/instances/o1/events/ship", `"t"`)
	if diff := cmp.Diff(map[string]any{"id": "o1", "status": "completed", "output": "done"}, f.want(200, "GET", "/instances/o1/result?wait=1s", "")); diff != "" {
		t.Errorf("completed (-want +got):\n%s", diff)
	}
	f.want(201, "POST", "/workflows/order/instances/o2", `{"Item":"tea"}`)
	f.want(200, "POST", "/instances/o2/cancel", "")
	f.clock.Advance(time.Hour) // the cleanup section's timer
	if err := f.eng.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := f.want(200, "GET", "/instances/o2/result?wait=1s", ""); got["status"] != "canceled" {
		t.Errorf("canceled: %v", got)
	}
}

func TestSignalWithStartRoute(t *testing.T) {
	f := newFixture(t, nil, nil)
	out := f.want(200, "POST", "/workflows/order/instances/o1/events/ship", `{"input":{"Item":"tea"},"payload":"track-1"}`)
	if diff := cmp.Diff(map[string]any{"id": "o1", "workflow": "order", "buffered": true}, out); diff != "" {
		t.Errorf("signal-with-start (-want +got):\n%s", diff)
	}
	out = f.want(200, "POST", "/workflows/order/instances/o1/events/pay", `{"payload":{"Amount":5}}`)
	if out["buffered"] != nil {
		t.Errorf("pay to the open wait: %v", out)
	}
	if got := f.want(200, "GET", "/instances/o1/result", ""); got["status"] != "completed" {
		t.Errorf("after pay the buffered ship was taken: %v", got)
	}
	f.wantError(404, httpapi.CodeUnknownWF, "POST", "/workflows/nope/instances/o2/events/pay", `{}`)
	f.wantError(404, httpapi.CodeUnknownEvent, "POST", "/workflows/order/instances/o2/events/nope", `{}`)
	f.wantError(400, httpapi.CodeBadJSON, "POST", "/workflows/order/instances/o2/events/pay", `{"inputs":{}}`)
	f.wantError(422, httpapi.CodeWrongType, "POST", "/workflows/order/instances/o2/events/pay", `{"payload":{"Amount":"x"}}`)
	f.wantError(422, httpapi.CodeRejected, "POST", "/workflows/order/instances/o2/events/pay", `{"payload":{"Amount":0}}`)
	f.wantError(404, httpapi.CodeUnknownInst, "GET", "/instances/o2", "")
}
