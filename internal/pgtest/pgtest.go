// Package pgtest is for tests outside storage/postgres that need a
// PostgreSQL server (the command line's): the server to use, the rule for
// when there is none, and throwaway schemas. It follows the tests of
// storage/postgres: WEFT_POSTGRES_DSN names the server, by default
// postgres://postgres@127.0.0.1:5432/test; without a server the tests skip,
// saying how to run them, except under CI=true, where they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultDSN is the server the tests use unless WEFT_POSTGRES_DSN names
// another: the local PostgreSQL with trust authentication and a database
// "test", as on the CI machines.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test"

// DSN returns the server the tests use.
func DSN() string {
	if d := os.Getenv("WEFT_POSTGRES_DSN"); d != "" {
		return d
	}
	return DefaultDSN
}

var probe struct {
	once sync.Once
	err  error
}

// Need skips t when no server answers at DSN(), saying how to run the
// tests; under CI=true it fails t instead, so that CI cannot pass by
// skipping.
func Need(t testing.TB) {
	t.Helper()
	probe.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, DSN())
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		probe.err = err
	})
	if probe.err == nil {
		return
	}
	msg := "no PostgreSQL server answers (" + probe.err.Error() + "); start one (for example " +
		"`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) with a database " +
		"`test`, or set WEFT_POSTGRES_DSN to a server's connection string, to run these tests"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Schema returns the name of a schema no other test uses, prefix followed
// by random hex, and drops it when t ends. It calls [Need] first. The
// schema itself is created by the first store opened on it.
func Schema(t testing.TB, prefix string) string {
	t.Helper()
	Need(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	t.Cleanup(func() { Drop(t, schema) })
	return schema
}

// Drop drops schema and everything in it.
func Drop(t testing.TB, schema string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, DSN())
	if err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
	}
}
