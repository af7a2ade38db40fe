package postgres_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/postgres"
)

// TestFencedCommit checks a fenced Commit across two stores on one schema,
// as two processes: after a takeover by the second, the first's commit
// fails with ErrFenced and writes nothing, whatever else is wrong with it,
// and the documented error order holds.
func TestFencedCommit(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	a, b := openSchema(t, schema), openSchema(t, schema)
	ctx := t.Context()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := a.Create(ctx, storage.Instance{ID: "x"}, []storage.Effect{{ID: "x/0", Instance: "x"}}); err != nil {
		t.Fatal(err)
	}
	req := storage.ClaimRequest{Owner: "a", Now: now, TTL: time.Second, Limit: 1}
	old, err := a.Acquire(ctx, "x", req)
	if err != nil {
		t.Fatal(err)
	}
	commit := func(s storage.Store, l storage.Lease, expect uint64, effect string) (uint64, error) {
		var effects []storage.Effect
		if effect != "" {
			effects = []storage.Effect{{ID: effect, Instance: "x"}}
		}
		return s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "x", Data: []byte(effect)}, Expect: expect, Effects: effects, Lease: &l})
	}
	// The lease expired, but nobody took over: it is still current.
	if v, err := commit(a, old, 1, "x/1"); err != nil || v != 2 {
		t.Fatalf("commit with an expired current lease: %d, %v", v, err)
	}
	// b takes over at a later time.
	req.Owner, req.Now = "b", now.Add(2*time.Second)
	leases, err := b.Claim(ctx, req)
	if err != nil || len(leases) != 1 || leases[0].Token <= old.Token {
		t.Fatalf("takeover: %+v, %v (old token %d)", leases, err, old.Token)
	}
	cur := leases[0]
	before, err := a.Load(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		expect uint64
		effect string
	}{
		{"right version", 2, "x/2"},
		{"wrong version", 1, "x/2"},
		{"taken effect ID", 2, "x/0"},
		{"wrong version and taken effect ID", 7, "x/0"},
	} {
		if _, err := commit(a, old, tc.expect, tc.effect); !errors.Is(err, storage.ErrFenced) {
			t.Errorf("zombie commit, %s: %v, want ErrFenced", tc.name, err)
		}
	}
	if got, err := b.Load(ctx, "x"); err != nil || got.Version != before.Version || string(got.Data) != string(before.Data) {
		t.Fatalf("after zombie commits: %+v, %v; want %+v", got, err, before)
	}
	if got, err := b.Outbox(ctx, 10); err != nil || len(got) != 2 {
		t.Fatalf("outbox after zombie commits: %+v, %v; want x/0 and x/1", got, err)
	}
	// With the current lease: ErrConflict before ErrExists.
	if _, err := commit(b, cur, 7, "x/0"); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("commit with a wrong version and a taken effect ID: %v, want ErrConflict", err)
	}
	if _, err := commit(b, cur, 2, "x/0"); !errors.Is(err, storage.ErrExists) {
		t.Errorf("commit with a taken effect ID: %v, want ErrExists", err)
	}
	if v, err := commit(b, cur, 2, "x/2"); err != nil || v != 3 {
		t.Errorf("commit with the current lease: %d, %v", v, err)
	}
	// A missing instance comes first of all.
	ghost := storage.Lease{Instance: "ghost", Token: 1}
	if _, err := b.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "ghost"}, Expect: 1, Lease: &ghost}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("fenced commit of a missing instance: %v, want ErrNotFound", err)
	}
	// A released lease fences too.
	if err := b.Release(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if _, err := commit(b, cur, 3, "x/3"); !errors.Is(err, storage.ErrFenced) {
		t.Errorf("commit with a released lease: %v, want ErrFenced", err)
	}
}

// TestClaimRace has many claimers on two stores claim one batch of
// instances at the same time: every instance is leased exactly once.
func TestClaimRace(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	stores := []storage.Store{openSchema(t, schema), openSchema(t, schema)}
	ctx := t.Context()
	const n = 200
	ids := make([]string, n)
	for i := range ids {
		ids[i] = string(rune('a'+i%26)) + string(rune('a'+i/26))
		if _, err := stores[0].Create(ctx, storage.Instance{ID: ids[i]}, []storage.Effect{{ID: ids[i] + "/0", Instance: ids[i]}}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var (
		mu  sync.Mutex
		got = map[string]int{}
		wg  sync.WaitGroup
	)
	for w := range 8 {
		wg.Go(func() {
			s := stores[w%2]
			for {
				leases, err := s.Claim(ctx, storage.ClaimRequest{Owner: "w", Now: now, TTL: time.Hour, Limit: 7})
				if err != nil {
					t.Error(err)
					return
				}
				if len(leases) == 0 {
					return
				}
				mu.Lock()
				for _, l := range leases {
					got[l.Instance]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != n {
		t.Errorf("%d instances leased, want %d", len(got), n)
	}
	for id, k := range got {
		if k != 1 {
			t.Errorf("instance %q leased %d times", id, k)
		}
	}
}

// TestUpgradeToClaims migrates a schema holding data at version 2 (before
// claims) to the current version: its effects keep their positions, get no
// retry state, and can be claimed, dead-lettered and requeued.
func TestUpgradeToClaims(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	script, err := postgres.MigrationSQL(schema, 0)
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(script, "\n-- 0003_claims.sql\n")
	if !ok {
		t.Fatalf("no migration 0003_claims.sql in\n%s", script)
	}
	q := pgx.Identifier{schema}.Sanitize()
	exec(t, head+"\n"+
		"INSERT INTO "+q+".instances (id, version, workflow, status, data) VALUES ('\\x61', 1, '\\x77', '\\x73', NULL);\n"+
		"INSERT INTO "+q+".outbox (id, instance, data, not_before) VALUES ('\\x612f31', '\\x61', '\\x01', NULL), ('\\x612f32', '\\x61', NULL, '2030-01-01T00:00:00Z');\n"+
		"COMMIT;\n")

	s := openSchema(t, schema)
	ctx := t.Context()
	out, err := s.Outbox(ctx, 10)
	if err != nil || len(out) != 2 || out[0].ID != "a/1" || out[1].ID != "a/2" || out[0].Seq >= out[1].Seq ||
		out[0].Attempts != 0 || out[0].LastError != "" || !out[0].NotBefore.IsZero() || out[1].NotBefore.IsZero() {
		t.Fatalf("outbox after the upgrade: %+v, %v", out, err)
	}
	leases, err := s.Claim(ctx, storage.ClaimRequest{Owner: "p", Now: time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC), TTL: time.Minute, Limit: 5})
	if err != nil || len(leases) != 1 || leases[0].Instance != "a" || leases[0].Token != 1 {
		t.Fatalf("claim after the upgrade: %+v, %v", leases, err)
	}
	if err := s.DeadLetter(ctx, leases[0], "a/1", storage.RetryState{Attempts: 3, LastError: "down"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Requeue(ctx, "a/1"); err != nil || n != 1 {
		t.Fatalf("Requeue: %d, %v", n, err)
	}
	out, err = s.Outbox(ctx, 10)
	if err != nil || len(out) != 2 || out[1].ID != "a/1" || out[1].Seq <= out[0].Seq || out[1].LastError != "down" || out[1].Attempts != 0 {
		t.Fatalf("outbox after a requeue: %+v, %v", out, err)
	}
}
