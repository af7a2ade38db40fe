package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftflow/weft/storage"
)

// TestWorkIndexConcurrent races commits that add effects with acks,
// retries, dead letters and requeues of the same instances' effects, from
// two stores on one schema, and then checks that every instance's stored
// earliest work time (effects_at, migration 4) equals the one computed from
// its outbox: the writes that recompute it must see every effect committed
// before them.
func TestWorkIndexConcurrent(t *testing.T) {
	schema := newSchema(t)
	s1, s2 := openSchema(t, schema), openSchema(t, schema)
	ctx := t.Context()
	const instances, workers, rounds = 2, 9, 100
	for i := range instances {
		id := fmt.Sprintf("w%d", i)
		if _, err := s1.Create(ctx, storage.Instance{ID: id}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := s1
			if w%2 == 1 {
				s = s2
			}
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for r := range rounds {
				id := fmt.Sprintf("w%d", rng.IntN(instances))
				switch w % 3 {
				case 0: // commit an effect, reloading on conflict
					inst, err := s.Load(ctx, id)
					if err != nil {
						t.Error(err)
						return
					}
					nb := time.Time{}
					if rng.IntN(2) == 0 {
						nb = base.Add(time.Duration(rng.IntN(1000)) * time.Second)
					}
					e := storage.Effect{ID: fmt.Sprintf("%s/%d/%d", id, w, r), Instance: id, NotBefore: nb}
					_, _ = s.Commit(ctx, storage.Commit{Instance: inst, Expect: inst.Version, Effects: []storage.Effect{e}})
				case 1: // ack the instance's oldest effects
					out, err := s.Outbox(ctx, 3)
					if err != nil {
						t.Error(err)
						return
					}
					for _, e := range out {
						if err := s.Ack(ctx, e.ID); err != nil {
							t.Error(err)
							return
						}
					}
				case 2: // lease, retry or dead-letter one effect, requeue dead letters
					l, err := s.Acquire(ctx, id, storage.ClaimRequest{Owner: "w", Now: base, TTL: time.Hour})
					if err != nil {
						continue // leased by another worker
					}
					pending, err := s.Pending(ctx, l, 1)
					if err == nil && len(pending) == 1 {
						rs := storage.RetryState{Attempts: 1, NotBefore: base.Add(time.Duration(rng.IntN(1000)) * time.Second)}
						if rng.IntN(3) == 0 {
							_ = s.DeadLetter(ctx, l, pending[0].ID, rs)
						} else {
							_ = s.Retry(ctx, l, pending[0].ID, rs)
						}
					}
					_ = s.Release(ctx, l)
					if dead, err := s.DeadLetters(ctx, "", 2); err == nil && len(dead) > 0 && rng.IntN(2) == 0 {
						_, _ = s.Requeue(ctx, dead[0].ID)
					}
				}
			}
		}()
	}
	wg.Wait()

	conn, err := pgx.Connect(ctx, dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	q := pgx.Identifier{schema}.Sanitize()
	rows, err := conn.Query(ctx, `SELECT i.id, i.effects_at, (SELECT min(coalesce(o.not_before, '-infinity')) FROM `+q+`.outbox o
		WHERE o.instance = i.id AND NOT o.dead) FROM `+q+`.instances i WHERE i.effects_at IS DISTINCT FROM
		(SELECT min(coalesce(o.not_before, '-infinity')) FROM `+q+`.outbox o WHERE o.instance = i.id AND NOT o.dead)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id []byte
		var stored, want any
		if err := rows.Scan(&id, &stored, &want); err != nil {
			t.Fatal(err)
		}
		t.Errorf("instance %q: stored effects_at %v, outbox says %v", id, stored, want)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestWorkIndexWaitsForCommit makes each write that recomputes an
// instance's earliest work time wait for a transaction that adds an effect
// ready at once to the instance and then commits: the recomputed time must
// count that effect. (A statement that waited for the row lock and
// recomputed with the snapshot it started with would miss it.)
func TestWorkIndexWaitsForCommit(t *testing.T) {
	schema := newSchema(t)
	s := openSchema(t, schema)
	ctx := t.Context()
	q := pgx.Identifier{schema}.Sanitize()
	later := base.Add(time.Hour)
	for _, c := range []struct {
		name string
		call func(l storage.Lease) error
	}{
		{"Ack", func(storage.Lease) error { return s.Ack(ctx, "a/1") }},
		{"AckLeased", func(l storage.Lease) error { return s.AckLeased(ctx, l, "a/1") }},
		{"Retry", func(l storage.Lease) error {
			return s.Retry(ctx, l, "a/1", storage.RetryState{Attempts: 1, NotBefore: later})
		}},
		{"DeadLetter", func(l storage.Lease) error {
			return s.DeadLetter(ctx, l, "a/1", storage.RetryState{Attempts: 1, NotBefore: later})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			exec(t, "TRUNCATE "+q+".instances, "+q+".outbox, "+q+".leases")
			if _, err := s.Create(ctx, storage.Instance{ID: "a"}, []storage.Effect{{ID: "a/1", Instance: "a", NotBefore: later}}); err != nil {
				t.Fatal(err)
			}
			l, err := s.Acquire(ctx, "a", storage.ClaimRequest{Owner: "t", Now: base, TTL: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			// What a Commit of an effect ready at once does, held open.
			commitSQL := "UPDATE " + q + ".instances SET effects_at = '-infinity' WHERE id = 'a'; " +
				"INSERT INTO " + q + ".outbox (id, instance) VALUES ('a/2', 'a')"
			err = blockThenTx(t, schema, commitSQL, func() error { return c.call(l) }, func(tx pgx.Tx, _ *pgx.Conn, _ int) {
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			leases, err := s.Claim(ctx, storage.ClaimRequest{Owner: "t2", Now: base, TTL: time.Hour, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Release(ctx, l); err == nil && len(leases) == 0 {
				// Released: a claim now must find a/2, ready at once.
				leases, err = s.Claim(ctx, storage.ClaimRequest{Owner: "t2", Now: base, TTL: time.Hour, Limit: 1})
				if err != nil {
					t.Fatal(err)
				}
			}
			if len(leases) != 1 {
				var stored any
				_ = s2conn(t).QueryRow(ctx, "SELECT effects_at FROM "+q+".instances WHERE id = 'a'").Scan(&stored)
				t.Fatalf("no claim of an instance with an effect ready at once; effects_at is %v", stored)
			}
		})
	}
}

// s2conn returns a connection of its own, closed when t ends.
func s2conn(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
