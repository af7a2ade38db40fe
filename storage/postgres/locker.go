package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftflow/weft/storage"
)

var _ storage.Locker = (*Store)(nil)

// lockCheckInterval is how often a held lock's connection is pinged: a
// connection that broke (its backend terminated, the network gone) has
// lost the session-level advisory lock, and Lost closes at the next ping.
const lockCheckInterval = time.Second

// lockStatementTimeout bounds the statements of a held lock (the pings and
// the unlock), which run without a caller's context.
const lockStatementTimeout = 5 * time.Second

// LockKey returns the advisory lock key of the [Store.TryLock] lock name
// on schema: the first 8 bytes, big-endian, of the SHA-256 of
// "weft/storage/postgres lock", NUL, the schema name, NUL and the name, as
// a bigint. Operators find the holder of a lock with
//
//	SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
//	   AND classid = ((key >> 32) & 4294967295)::oid AND objid = (key & 4294967295)::oid
//
// (classid and objid being the high and low 32 bits of the key as unsigned
// numbers).
func LockKey(schema, name string) int64 {
	sum := sha256.Sum256([]byte("weft/storage/postgres lock\x00" + schema + "\x00" + name))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// TryLock implements [storage.Locker] with a session-level advisory lock
// (pg_try_advisory_lock) on the key [LockKey] of the store's schema and
// name, taken on a connection of the pool that the lock keeps until
// Unlock: the lock lasts as long as that session, so Postgres releases it
// when the process dies or its connection breaks. A goroutine pings the
// connection every second and closes Lost when a ping fails (the session,
// and the lock with it, is gone; the connection is discarded). Unlock
// unlocks, returns the connection to the pool and closes Lost before it
// returns; closing the store unlocks every lock it holds. A held lock
// takes one of the pool's connections.
//
// It fails with [storage.ErrClosed] on a closed store, with ctx's error,
// or with the error of the database.
func (s *Store) TryLock(ctx context.Context, name string) (storage.Lock, bool, error) {
	op := fmt.Sprintf("lock %q", name)
	if err := s.check(ctx, op); err != nil {
		return nil, false, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, s.fail(ctx, op, err)
	}
	key := LockKey(s.schema, name)
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		// The lock may have been taken before the call failed: the
		// session must not go back to the pool holding it.
		discard(conn)
		return nil, false, s.fail(ctx, op, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	l := &pgLock{key: key, conn: conn, stop: make(chan struct{}), lost: make(chan struct{})}
	if !s.goBackground(func() { l.watch(s.bg) }) {
		l.unlock()
		return nil, false, fmt.Errorf("storage: %s: %w", op, storage.ErrClosed)
	}
	return l, true, nil
}

// pgLock is a held advisory lock and the pooled connection whose session
// holds it.
type pgLock struct {
	key  int64
	conn *pgxpool.Conn
	once sync.Once
	stop chan struct{} // closed by Unlock
	lost chan struct{} // closed by watch when it has let go of conn
}

// Unlock implements [storage.Lock.Unlock]: it returns once the lock is
// released (or found lost) and Lost is closed.
func (l *pgLock) Unlock() {
	l.once.Do(func() { close(l.stop) })
	<-l.lost
}

// Lost implements [storage.Lock.Lost].
func (l *pgLock) Lost() <-chan struct{} { return l.lost }

// watch pings the lock's connection until Unlock or the end of bg (the
// store closing), then lets go of the connection and closes Lost.
func (l *pgLock) watch(bg context.Context) {
	t := time.NewTicker(lockCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			l.unlock()
			return
		case <-bg.Done():
			l.unlock()
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), lockStatementTimeout)
			err := l.conn.Ping(ctx)
			cancel()
			if err != nil {
				discard(l.conn)
				close(l.lost)
				return
			}
		}
	}
}

// unlock releases the advisory lock, returns the connection to the pool
// (or discards it if the unlock failed: ending the session releases the
// lock too) and closes Lost.
func (l *pgLock) unlock() {
	ctx, cancel := context.WithTimeout(context.Background(), lockStatementTimeout)
	defer cancel()
	var released bool
	if err := l.conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", l.key).Scan(&released); err != nil || !released {
		discard(l.conn)
	} else {
		l.conn.Release()
	}
	close(l.lost)
}

// discard closes a pooled connection instead of returning it to the pool.
func discard(c *pgxpool.Conn) {
	conn := c.Hijack()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}
