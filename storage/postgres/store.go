package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftflow/weft/storage"
)

// Store is a [storage.Store] kept in a PostgreSQL schema. Open one with
// [Open] or [OpenPool]; the zero value is not usable. It is safe for
// concurrent use, and any number of Stores, in any number of processes, may
// be open on the same schema at once: they see the same instances, outbox and
// due index, and the compare-and-set of [Store.Commit] holds across all of
// them.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool // Close closes the pool only if Open created it
	schema  string
	q       queries
	cq      claimQueries
	jq      journalQueries
	closed  atomic.Bool

	// Background work (the notifier, listeners, lock watchers) runs under
	// bg and is waited for by Close; bgMu orders starting it (goBackground)
	// with Close.
	bg     context.Context
	stopBg context.CancelFunc
	bgMu   sync.Mutex
	wg     sync.WaitGroup
	wake   chan struct{} // 1-buffered: the notifier has a wake-up to send
}

var _ storage.Store = (*Store)(nil)

// Open connects to the database named by dsn (a URL or keyword/value
// connection string, as [pgxpool.ParseConfig] reads it, pool settings such
// as pool_max_conns included; an empty dsn uses the PG* environment variables
// and libpq's defaults), brings the schema up to date (unless
// [WithoutMigrate]) and returns a store on it. Close closes the connections.
//
// Connection errors are returned wrapped; Open fails with [ErrSchemaTooNew]
// if a newer binary migrated the schema, with [ErrSchemaTooOld] if the schema
// is not current and migrations are left to the operator, and with an error
// wrapping [storage.ErrInvalid] for a bad option value.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password from the connection string it quotes.
		return nil, fmt.Errorf("storage: postgres: open: %w: %w", storage.ErrInvalid, err)
	}
	pc.ConnConfig.BuildContextWatcherHandler = cancelOnServer
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("storage: postgres: open: %w", err)
	}
	s, err := open(ctx, pool, cfg)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// cancelOnServer makes a canceled context cancel the statement on the server
// too (pgx's default only stops waiting for it). A statement abandoned by its
// caller, such as a Commit waiting for a row lock, would otherwise still run,
// and could commit, after the call returned; with the cancel request it
// almost never does. The connection is closed if the server has not answered
// a second later.
func cancelOnServer(c *pgconn.PgConn) ctxwatch.Handler {
	return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
}

// OpenPool is [Open] on a pool the caller manages: the store uses it and
// Close leaves it open. Use it to share one pool between the store and the
// application, or to configure the pool in code. Open sets the connections'
// BuildContextWatcherHandler to send the server a cancel request when a
// context ends; a pool made elsewhere keeps its own setting.
func OpenPool(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, fmt.Errorf("storage: postgres: open: nil pool: %w", storage.ErrInvalid)
	}
	return open(ctx, pool, cfg)
}

func open(ctx context.Context, pool *pgxpool.Pool, cfg config) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: postgres: open: %w", err)
	}
	var err error
	if cfg.migrate {
		err = migrate(ctx, pool, cfg.schema)
	} else {
		err = checkVersion(ctx, pool, cfg.schema)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, schema: cfg.schema, q: newQueries(quote(cfg.schema)), cq: newClaimQueries(quote(cfg.schema)),
		jq: newJournalQueries(quote(cfg.schema)), wake: make(chan struct{}, 1)}
	s.bg, s.stopBg = context.WithCancel(context.Background())
	s.goBackground(s.notifier)
	return s, nil
}

// goBackground runs f in a goroutine that Close waits for, unless the
// store is closing; it reports whether it started f. f must return soon
// after s.bg ends.
func (s *Store) goBackground(f func()) bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.bg.Err() != nil {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// Schema returns the name of the schema the store keeps its tables in.
func (s *Store) Schema() string { return s.schema }

// Close implements [storage.Store.Close]. It stops the store's background
// work (closing the channels of [Store.Wakeups] and losing the locks of
// [Store.TryLock]), waits for calls in flight to release their
// connections, and closes the pool if [Open] created it.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.bgMu.Lock()
	s.stopBg()
	s.bgMu.Unlock()
	s.wg.Wait()
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

// queries holds the store's SQL, with the schema name filled in once.
type queries struct {
	create        [2]string // without and with effects
	commit        [2]string // likewise
	fencedCommit  [2]string // likewise
	load, list    string
	outbox, ack   string
	ackLock       string
	recompute     string
	lockInstances string
	dueBefore     string
	dueAfter      string
	outboxAfter   string
	buried        string
}

func newQueries(schema string) queries {
	return queries{
		create:        [2]string{createSQL(schema, false), createSQL(schema, true)},
		commit:        [2]string{commitSQL(schema, false), commitSQL(schema, true)},
		fencedCommit:  [2]string{fencedCommitSQL(schema, false), fencedCommitSQL(schema, true)},
		load:          loadSQL(schema),
		list:          listSQL(schema),
		outbox:        outboxSQL(schema),
		ack:           ackSQL(schema),
		ackLock:       ackLockSQL(schema),
		recompute:     recomputeSQL(schema),
		lockInstances: lockInstancesSQL(schema),
		dueBefore:     dueBeforeSQL(schema),
		dueAfter:      dueAfterSQL(schema),
		outboxAfter:   outboxAfterSQL(schema),
		buried:        buriedSQL(schema),
	}
}
