package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftflow/weft/storage"
)

var _ storage.Waker = (*Store)(nil)

// Wake-ups are Postgres notifications on one channel per schema. A write
// that leaves work asks the store's notifier goroutine for one (a
// non-blocking send on a 1-buffered channel, so the write never waits);
// the notifier sends pg_notify on a pooled connection after the write has
// committed, outside its transaction (a NOTIFY inside the commit
// transaction serializes commits on the notification queue's lock: it cut
// commit throughput 2-6x when measured), then waits notifyInterval before
// sending again, so a burst of commits gives one notification per interval.

// notifyInterval is the least time between two notifications of a store.
const notifyInterval = 5 * time.Millisecond

// dueHorizon is how soon a Due must be for a commit that writes no effect
// to wake other processes: one that sleeps until its next work would
// otherwise oversleep the new due time, while a due time further away is
// found by the NextWork of the sleepers' next poll.
const dueHorizon = time.Minute

// Backoff of a listener whose connection failed.
const (
	minListenBackoff = 50 * time.Millisecond
	maxListenBackoff = 5 * time.Second
)

// channelName returns the notification channel of schema: "weft_" and the
// first 16 hex digits of the SHA-256 of the schema name, which fits
// Postgres's 63-byte identifiers whatever the name and is the same in every
// process.
func channelName(schema string) string {
	sum := sha256.Sum256([]byte(schema))
	return "weft_" + hex.EncodeToString(sum[:8])
}

// wakeAfter asks the notifier for a wake-up if a successful Create or
// Commit left work: effects, or a Due no later than dueHorizon from now.
func (s *Store) wakeAfter(effects int, due time.Time) {
	if effects == 0 && (due.IsZero() || due.After(time.Now().Add(dueHorizon))) {
		return
	}
	s.requestWake()
}

// requestWake asks the notifier for a wake-up without waiting.
func (s *Store) requestWake() {
	select {
	case s.wake <- struct{}{}:
	default: // one is already pending
	}
}

// notifier sends the wake-ups requested, at most one per notifyInterval,
// until the store is closed. A notification that fails is dropped: it is a
// hint, and pollers find the work anyway.
func (s *Store) notifier() {
	channel := channelName(s.schema)
	for {
		select {
		case <-s.bg.Done():
			return
		case <-s.wake:
		}
		ctx, cancel := context.WithTimeout(s.bg, 5*time.Second)
		_, _ = s.pool.Exec(ctx, "SELECT pg_notify($1, '')", channel)
		cancel()
		select {
		case <-s.bg.Done():
			return
		case <-time.After(notifyInterval):
		}
	}
}

// Wakeups implements [storage.Waker]. It opens a connection of its own
// (with the pool's settings, outside the pool) that LISTENs on the
// schema's channel, and delivers each notification into the returned
// channel (1-buffered; a value already waiting absorbs the next ones). If
// the connection breaks, it reconnects with backoff, from 50 ms to 5 s, and
// delivers one value after reconnecting, since notifications sent while it
// was away are lost. The channel is closed when ctx ends or the store is
// closed.
//
// It fails with [storage.ErrClosed] on a closed store, with ctx's error,
// or with the error of the first connection or LISTEN.
func (s *Store) Wakeups(ctx context.Context) (<-chan struct{}, error) {
	const op = "wakeups"
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	conn, err := s.listen(ctx)
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	out := make(chan struct{}, 1)
	lctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.bg, cancel)
	started := s.goBackground(func() {
		defer close(out)
		defer stop()
		defer cancel()
		s.deliver(lctx, conn, out)
	})
	if !started {
		stop()
		cancel()
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("storage: %s: %w", op, storage.ErrClosed)
	}
	return out, nil
}

// listen connects and LISTENs on the schema's channel.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+quote(channelName(s.schema))); err != nil {
		_ = conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// deliver forwards the notifications of conn into out until ctx ends,
// reconnecting when the connection fails.
func (s *Store) deliver(ctx context.Context, conn *pgx.Conn, out chan<- struct{}) {
	backoff := minListenBackoff
	for {
		if conn == nil {
			var err error
			if conn, err = s.listen(ctx); err != nil {
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, maxListenBackoff)
				continue
			}
			backoff = minListenBackoff
			send(out) // what was notified while disconnected is lost
		}
		_, err := conn.WaitForNotification(ctx)
		if err == nil {
			send(out)
			continue
		}
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(closeCtx)
		cancel()
		conn = nil
		if ctx.Err() != nil {
			return
		}
	}
}

// send puts a value in out unless one is already waiting.
func send(out chan<- struct{}) {
	select {
	case out <- struct{}{}:
	default:
	}
}
