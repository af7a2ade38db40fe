package crashtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"github.com/weftflow/weft/storage/postgres"
)

// server performs the parent's requests on an engine: in a child
// process for TestKill9, in the test's own process for TestWriteFailures.
type server struct {
	e     *engine.Engine
	store storage.Store
	defs  map[string]*dsl.Definition
}

// newServer makes an engine over store whose handlers, finish hook and
// counter activity all report to recv, and registers the workflows.
func newServer(store storage.Store, recv *Receiver, opts ...engine.Option) (*server, error) {
	counter := NewCounter(func(ctx context.Context, s Counter) (string, error) {
		if err := recv.Activity(ctx, s.Name); err != nil {
			return "", err
		}
		return reportOf(s.Name, len(s.Tokens)), nil
	})
	e, err := engine.New(store, append([]engine.Option{engine.WithFinish(recv.Finish)}, opts...)...)
	if err != nil {
		return nil, err
	}
	if err := e.Register(counter, pizza.Workflow, approval.Workflow); err != nil {
		return nil, err
	}
	for _, typ := range []string{IncType, "confirm-order", "ask-manager"} {
		e.Handle(typ, recv)
	}
	return &server{e: e, store: store, defs: map[string]*dsl.Definition{
		CounterName: counter, pizza.Workflow.Name(): pizza.Workflow, approval.Workflow.Name(): approval.Workflow,
	}}, nil
}

// runChild is TestKill9 in a child process: an engine on the bbolt file
// (fsync on), with as many workers and as large a group commit as the
// parent says, serving the parent's requests. It returns when the parent
// asks it to quit or closes the request pipe; usually it is killed first.
func runChild(t *testing.T) {
	life, err := strconv.Atoi(os.Getenv(envLife))
	if err != nil {
		t.Fatalf("child: %s: %v", envLife, err)
	}
	in, out := os.NewFile(requestFD, "requests"), os.NewFile(responseFD, "responses")
	var pg *pgChild
	if s := os.Getenv(envPG); s != "" {
		pg = new(pgChild)
		if err := json.Unmarshal([]byte(s), pg); err != nil {
			t.Fatalf("child: %s: %v", envPG, err)
		}
	}
	openRecv := OpenReceiver
	if pg != nil {
		openRecv = OpenSharedReceiver
	}
	recv, err := openRecv(os.Getenv(envLog), life)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	var workers, batch int
	var lazy bool
	if _, err := fmt.Sscanf(os.Getenv(envTune), "%d,%d,%t", &workers, &batch, &lazy); err != nil {
		t.Fatalf("child: %s: %v", envTune, err)
	}
	if lazy {
		recv.lazy(200 * time.Millisecond)
	}
	level := slog.LevelWarn
	if pg != nil {
		level = slog.LevelInfo // "lease lost": the parent counts them
	}
	opts := []engine.Option{
		engine.WithWorkers(workers),
		engine.WithPollInterval(100 * time.Millisecond),
		engine.WithRetryBackoff(10*time.Millisecond, 500*time.Millisecond),
		engine.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))),
	}
	var store storage.Store
	if pg != nil {
		// Many processes on one schema: claims, leases and fenced writes.
		store, err = postgres.Open(context.Background(), pg.DSN, postgres.WithSchema(pg.Schema))
		opts = append(opts, engine.WithLeases(pg.Owner, pg.TTL), engine.WithPollInterval(pg.Poll))
	} else {
		store, err = bolt.Open(os.Getenv(envDB), bolt.WithTimeout(10*time.Second), bolt.WithMaxBatch(batch))
	}
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	srv, err := newServer(store, recv, opts...)
	if err != nil {
		t.Fatalf("child: %v", err)
	}

	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.e.Run(ctx) }()
	shutdown := func() error {
		stop()
		return errors.Join(<-ran, store.Close(), recv.Close())
	}

	var outMu sync.Mutex
	respond := func(r response) {
		b, err := json.Marshal(r)
		if err != nil {
			panic(err)
		}
		outMu.Lock()
		defer outMu.Unlock()
		// A write error means the parent is gone; it will not read the answer.
		_, _ = out.Write(append(b, '\n'))
	}
	respond(response{ID: 0}) // ready
	var calls sync.WaitGroup
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var req request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			t.Fatalf("child: bad request %q: %v", sc.Text(), err)
		}
		if req.Op == opQuit {
			calls.Wait()
			respond(response{ID: req.ID, Err: errString(shutdown())})
			return
		}
		calls.Go(func() { respond(response{ID: req.ID, Err: errString(srv.serve(ctx, req))}) })
	}
	// The parent went away: stop as cleanly as possible.
	calls.Wait()
	if err := shutdown(); err != nil {
		t.Errorf("child: shutdown: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// serve performs one request; nil means the engine call returned nil.
func (c *server) serve(ctx context.Context, req request) error {
	switch req.Op {
	case opStart:
		def := c.defs[req.Workflow]
		if def == nil {
			return fmt.Errorf("unknown workflow %q", req.Workflow)
		}
		input, err := decodeInput(req.Workflow, req.Payload)
		if err != nil {
			return err
		}
		return c.e.Start(ctx, def, req.Instance, input)
	case opSend:
		payload, err := decodePayload(req.Event, req.Payload)
		if err != nil {
			return err
		}
		return c.e.Send(ctx, req.Instance, req.Event, payload, nil)
	case opCancel:
		return c.e.Cancel(ctx, req.Instance)
	case opIdle:
		return c.idle(ctx, time.Minute)
	}
	return fmt.Errorf("unknown op %q", req.Op)
}

// decodeInput decodes a start input as the workflow's state type.
func decodeInput(workflow string, raw json.RawMessage) (any, error) {
	switch workflow {
	case CounterName:
		return decodeJSON[Counter](raw)
	case pizza.Workflow.Name():
		return decodeJSON[pizza.Order](raw)
	case approval.Workflow.Name():
		return decodeJSON[approval.Request](raw)
	}
	return nil, fmt.Errorf("unknown workflow %q", workflow)
}

// decodePayload decodes an event's payload as the type its handler takes.
func decodePayload(event string, raw json.RawMessage) (any, error) {
	switch event {
	case "inc":
		return decodeJSON[Inc](raw)
	case "add":
		return decodeJSON[pizza.Add](raw)
	case "confirm":
		return decodeJSON[pizza.Confirmation](raw)
	case "decide":
		return decodeJSON[approval.Decision](raw)
	case "submit", "cooked", "delivered":
		return struct{}{}, nil
	}
	return nil, fmt.Errorf("unknown event %q", event)
}

func decodeJSON[T any](raw json.RawMessage) (T, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err
}

// idle waits until every instance has finished and every effect has been
// acknowledged, or fails after limit with what is left.
func (c *server) idle(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		busy, err := c.busy(ctx)
		if err != nil || len(busy) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not idle after %v: %s", limit, strings.Join(busy, "; "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// busy describes the unfinished instances and the outbox.
func (c *server) busy(ctx context.Context) ([]string, error) {
	var busy []string
	for after := ""; ; {
		page, err := c.e.List(ctx, after, 100)
		if err != nil {
			return nil, err
		}
		for _, inst := range page {
			if !inst.Meta.Status.Finished() {
				var at []string
				for _, th := range inst.Meta.Threads {
					at = append(at, th.ID+"@"+th.Path+"/"+th.Phase.String())
				}
				busy = append(busy, fmt.Sprintf("%s is %s at %v", inst.ID, inst.Meta.Status, at))
			}
		}
		if len(page) < 100 {
			break
		}
		after = page[len(page)-1].ID
	}
	effects, err := c.store.Outbox(ctx, 10)
	if err != nil {
		return nil, err
	}
	if len(effects) > 0 {
		ids := make([]string, 0, len(effects))
		for _, ef := range effects {
			ids = append(ids, ef.ID)
		}
		busy = append(busy, "outbox holds "+strings.Join(ids, ", "))
	}
	return busy, nil
}

// reportOf is the result of the counter's report activity.
func reportOf(instance string, tokens int) string {
	return fmt.Sprintf("%s reached %d", instance, tokens)
}
