package postgres_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/postgres"
)

// blockThen runs call while another transaction holds the lock taken by
// lockSQL (run on schema's tables), waits until call's statement waits for
// that lock, then does what to the waiting backend (its pid given), and
// returns call's error. The other transaction is rolled back at the end.
func blockThen(t *testing.T, schema, lockSQL string, call func() error, what func(conn *pgx.Conn, pid int)) error {
	t.Helper()
	return blockThenTx(t, schema, lockSQL, call, func(_ pgx.Tx, conn *pgx.Conn, pid int) { what(conn, pid) })
}

// blockThenTx is blockThen with the lock holder's transaction passed to
// what, which may commit it.
func blockThenTx(t *testing.T, schema, lockSQL string, call func() error, what func(tx pgx.Tx, conn *pgx.Conn, pid int)) error {
	t.Helper()
	ctx := t.Context()
	holder, err := pgx.Connect(ctx, dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, lockSQL); err != nil {
		t.Fatalf("%v in %s", err, lockSQL)
	}
	done := make(chan error, 1)
	go func() { done <- call() }()

	admin, err := pgx.Connect(ctx, dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pid int
		err := admin.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND position($1 in query) > 0 AND pid <> pg_backend_pid()`,
			pgx.Identifier{schema}.Sanitize()).Scan(&pid)
		if err == nil {
			what(tx, admin, pid)
			break
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("the call returned (%v) before it waited for the lock", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the call never waited for the lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not return after its backend was dealt with")
		return nil
	}
}

// terminate ends the backend's session, as a crash of the server process
// or a broken connection would.
func terminate(t *testing.T) func(conn *pgx.Conn, pid int) {
	return func(conn *pgx.Conn, pid int) {
		if _, err := conn.Exec(t.Context(), "SELECT pg_terminate_backend($1)", pid); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOutcomeUnknown terminates the backend of a write while its statement
// waits for a row lock: a write that commits in that statement reports
// storage.ErrOutcomeUnknown, a write whose transaction had not reached its
// COMMIT does not, and neither do the definite failures.
func TestOutcomeUnknown(t *testing.T) {
	schema := newSchema(t)
	s := openSchema(t, schema)
	ctx := t.Context()
	q := pgx.Identifier{schema}.Sanitize()
	if _, err := s.Create(ctx, storage.Instance{ID: "a"}, nil); err != nil {
		t.Fatal(err)
	}
	l, err := s.Acquire(ctx, "a", storage.ClaimRequest{Owner: "t", Now: time.Now(), TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name    string
		lock    string
		call    func() error
		unknown bool
	}{
		{"Commit", "SELECT 1 FROM " + q + ".instances WHERE id = 'a' FOR UPDATE", func() error {
			_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 1})
			return err
		}, true},
		{"Create", "INSERT INTO " + q + ".instances (id, version, workflow, status) VALUES ('b', 1, '', '')", func() error {
			_, err := s.Create(ctx, storage.Instance{ID: "b"}, nil)
			return err
		}, true},
		{"Renew", "SELECT 1 FROM " + q + ".leases WHERE instance = 'a' FOR UPDATE", func() error {
			_, err := s.Renew(ctx, l, time.Now(), time.Hour)
			return err
		}, true},
		// The fence statement waits, before the transaction's COMMIT:
		// the session's end rolls it back, so nothing is unknown.
		{"AckLeased", "SELECT 1 FROM " + q + ".leases WHERE instance = 'a' FOR UPDATE", func() error {
			return s.AckLeased(ctx, l, "a/1")
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := blockThen(t, schema, c.lock, c.call, terminate(t))
			if err == nil {
				t.Fatal("the write succeeded although its backend was terminated")
			}
			if got := errors.Is(err, storage.ErrOutcomeUnknown); got != c.unknown {
				t.Fatalf("errors.Is(%v, ErrOutcomeUnknown) = %v, want %v", err, got, c.unknown)
			}
		})
	}

	// A statement canceled on the server (the context ended while it
	// waited) did not commit: the server says so.
	t.Run("Canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		err := blockThen(t, schema, "SELECT 1 FROM "+q+".instances WHERE id = 'a' FOR UPDATE", func() error {
			_, err := s.Commit(cctx, storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 1})
			return err
		}, func(*pgx.Conn, int) { cancel() })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Commit with its context canceled: %v, want context.Canceled", err)
		}
		if errors.Is(err, storage.ErrOutcomeUnknown) {
			t.Fatalf("Commit canceled while waiting for a lock: %v wraps ErrOutcomeUnknown", err)
		}
	})

	inst, err := s.Load(ctx, "a")
	if err != nil || inst.Version != 1 {
		t.Fatalf("Load after the failed commits = version %d, %v; want 1", inst.Version, err)
	}
	for name, err := range map[string]error{
		"conflict": func() error {
			_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 7})
			return err
		}(),
		"exists": func() error { _, err := s.Create(ctx, storage.Instance{ID: "a"}, nil); return err }(),
	} {
		if err == nil || errors.Is(err, storage.ErrOutcomeUnknown) {
			t.Errorf("%s: %v, want a definite error", name, err)
		}
	}
	s2 := openSchema(t, schema)
	s2.Close()
	if _, err := s2.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 1}); !errors.Is(err, storage.ErrClosed) || errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Errorf("Commit on a closed store: %v, want ErrClosed only", err)
	}
}

// proxy forwards TCP connections to the test server until closed; break
// cuts every connection it forwarded, as a failed network would.
type proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	closed bool // shut: a connection accepted meanwhile is dropped, not forwarded
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.closed {
				// Accepted before shut closed the listener, dialed after
				// it cut the others (the pool reconnects in the
				// background): it must not reach the server either.
				p.mu.Unlock()
				c.Close()
				s.Close()
				continue
			}
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

// shut stops the proxy: no connection, open or being opened, reaches the
// server any more.
func (p *proxy) shut() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.cut()
}

// cut closes every forwarded connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestOutcomeUnknownNetwork cuts the network under a Commit waiting for a
// row lock: the client sees a broken connection, not a server error, and
// the outcome is unknown. A write attempted while the server cannot be
// reached at all sends nothing, and is not.
func TestOutcomeUnknownNetwork(t *testing.T) {
	schema := newSchema(t)
	openSchema(t, schema) // migrates
	cfg, err := pgxpool.ParseConfig(dsn())
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
	cfg.ConnConfig.Host = "127.0.0.1"
	cfg.ConnConfig.Port = uint16(p.ln.Addr().(*net.TCPAddr).Port)
	// The fallbacks too (sslmode=prefer makes one without TLS): else a
	// dial that the shut proxy refuses falls back to the server itself,
	// and a write "with the server unreachable" reaches it.
	for _, fb := range cfg.ConnConfig.Fallbacks {
		fb.Host, fb.Port = cfg.ConnConfig.Host, cfg.ConnConfig.Port
	}
	ctx := t.Context()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := postgres.OpenPool(ctx, pool, postgres.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Create(ctx, storage.Instance{ID: "a"}, nil); err != nil {
		t.Fatal(err)
	}
	q := pgx.Identifier{schema}.Sanitize()
	err = blockThen(t, schema, "SELECT 1 FROM "+q+".instances WHERE id = 'a' FOR UPDATE", func() error {
		_, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 1})
		return err
	}, func(*pgx.Conn, int) { p.cut() })
	var pgErr *pgconn.PgError
	if err == nil || errors.As(err, &pgErr) {
		t.Fatalf("Commit with its connection cut: %v, want a network error", err)
	}
	if !errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Fatalf("Commit with its connection cut: %v, want ErrOutcomeUnknown", err)
	}

	p.shut() // nothing reaches the server any more
	_, err = s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a"}, Expect: 1})
	if err == nil || errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Fatalf("Commit with the server unreachable: %v, want an error that is not ErrOutcomeUnknown", err)
	}
}
