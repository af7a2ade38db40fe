package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// acks groups the acknowledgements of effects that workers finish at the
// same time into one store.Ack, the way a store's group commit shares an
// fsync among commits. On a durable store every Ack is a write
// transaction: acknowledging each effect on its own made a send to a wait
// with a setup and a teardown cost three transactions instead of one
// (docs/performance.md). A worker that finds no batch being written
// leads: it writes every ID waiting, its own among them, then hands the
// lead to the first worker that arrived meanwhile, if any. So a batch
// forms while the previous one is written, and no worker writes more than
// one batch.
type acks struct {
	mu      sync.Mutex
	pending []*ackRequest
	spare   []*ackRequest // the leader's last batch, emptied, for pending to reuse
	leading bool          // a batch is being written
}

type ackRequest struct {
	ids  []string
	done chan error // the batch's outcome, or errLead
}

// errLead tells a waiting worker that its ID has not been written yet and
// that it writes the next batch.
var errLead = errors.New("engine: lead the next batch of acknowledgements")

var ackRequests = sync.Pool{New: func() any { return &ackRequest{done: make(chan error, 1)} }}

// stopAckTimeout bounds the acknowledgements of effects that succeeded as
// Run was stopping (see ackContext).
const stopAckTimeout = 5 * time.Second

// ackContext returns the context Run's workers acknowledge effects with:
// it outlives ctx by stopAckTimeout. A handler that did its work as Run
// stopped is then acknowledged, instead of performed again by the next
// Run after every graceful stop (an acknowledgement of a batch, written
// by one worker for several, began before the stop more often than not);
// a store that does not answer still cannot hold Run's return for long.
// Call stop once the workers have returned.
func ackContext(ctx context.Context) (_ context.Context, stop func()) {
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	after := context.AfterFunc(ctx, func() { time.AfterFunc(stopAckTimeout, cancel) })
	return actx, func() {
		after()
		cancel()
	}
}

// ack removes effects ids (one, or those of a group of jobs a worker
// performed together) from the outbox, in a batch with the
// acknowledgements of other workers. Under Run (ctx is a worker's
// carrier) the write outlives Run's context by a bound (see ackContext).
func (e *Engine) ack(ctx context.Context, ids ...string) error {
	if c, ok := ctx.(*carrier); ok && c.acks != nil {
		ctx = c.acks
	}
	a := &e.acks
	req := ackRequests.Get().(*ackRequest)
	defer ackRequests.Put(req)
	req.ids = ids
	defer func() { req.ids = nil }()
	a.mu.Lock()
	a.pending = append(a.pending, req)
	lead := !a.leading
	a.leading = true
	a.mu.Unlock()
	if !lead {
		if err := <-req.done; err != errLead {
			return err
		}
	}
	a.mu.Lock()
	batch := a.pending
	a.pending, a.spare = a.spare, nil
	a.mu.Unlock()
	err := e.writeAcks(ctx, batch)
	for _, r := range batch {
		if r != req {
			r.done <- err
		}
	}
	clear(batch)
	a.mu.Lock()
	a.spare = batch[:0] // (only the leader, one at a time, takes and returns it)
	if len(a.pending) > 0 {
		a.pending[0].done <- errLead
	} else {
		a.leading = false
	}
	a.mu.Unlock()
	return err
}

// writeAcks acknowledges a batch; a panic of the store is recovered, so
// that the workers waiting for the batch hear of it.
func (e *Engine) writeAcks(ctx context.Context, batch []*ackRequest) (err error) {
	ids := batch[0].ids
	if len(batch) > 1 {
		ids = nil
		for _, r := range batch {
			ids = append(ids, r.ids...)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = e.recovered("", "", "effect", r)
		}
	}()
	if err := e.store.Ack(ctx, ids...); err != nil {
		if len(ids) == 1 {
			return fmt.Errorf("engine: ack %s: %w", ids[0], err)
		}
		return fmt.Errorf("engine: ack %d effects with %s: %w", len(ids), ids[0], err)
	}
	return nil
}
