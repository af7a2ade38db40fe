package bolt_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
)

// TestAckSharesCommitTransaction checks the writer's one wait: an Ack
// alone right after a commit waits for the next Commit and shares its
// transaction (one fsync for both), and an Ack returns only once durable.
func TestAckSharesCommitTransaction(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	// A long linger, so that the test does not depend on scheduling: the
	// Ack can only return early by sharing the Commit's transaction.
	const linger = time.Minute
	s := mustOpen(t, path, bolt.WithAckLinger(linger))
	if _, err := s.Create(ctx, storage.Instance{ID: "i", Data: []byte("0")},
		[]storage.Effect{eff("i", "e1"), eff("i", "e2")}); err != nil {
		t.Fatal(err)
	}
	tx0 := s.Stats().Transactions

	acked := make(chan error, 1)
	go func() { acked <- s.Ack(ctx, "e1") }()
	select {
	case err := <-acked:
		t.Fatalf("Ack right after a Create returned (%v) before a Commit came to share its transaction", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "i", Data: []byte("1")}, Expect: 1,
		Effects: []storage.Effect{eff("i", "e3")}}); err != nil {
		t.Fatal(err)
	}
	if err := <-acked; err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Transactions - tx0; got != 1 {
		t.Errorf("Ack and Commit took %d transactions, want 1", got)
	}

	// The last transaction held a Commit: this Ack waits for the linger
	// (cut short here by a Commit from another instance's Create).
	acked2 := make(chan error, 1)
	go func() { acked2 <- s.Ack(ctx, "e2") }()
	time.Sleep(10 * time.Millisecond)
	if _, err := s.Create(ctx, storage.Instance{ID: "j", Data: []byte("0")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := <-acked2; err != nil {
		t.Fatal(err)
	}

	// e2 shared the Create's transaction, so e3 waits too, and a Commit
	// releases it into one transaction.
	tx1 := s.Stats().Transactions
	acked3 := make(chan error, 1)
	go func() { acked3 <- s.Ack(ctx, "e3") }()
	select {
	case err := <-acked3:
		t.Fatalf("Ack right after a Create returned (%v) before a Commit came", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "j", Data: []byte("1")}, Expect: 1}); err != nil {
		t.Fatal(err)
	}
	if err := <-acked3; err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Transactions - tx1; got != 1 {
		t.Errorf("Ack and Commit took %d transactions, want 1", got)
	}
	mustClose(t, s)

	// Every Ack that returned is on disk.
	s = mustOpen(t, path)
	defer mustClose(t, s)
	out, err := s.Outbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 0 {
		t.Errorf("outbox after reopening holds %d effects, want none (first %q)", len(out), out[0].ID)
	}
}

// TestLoneAckDoesNotWait checks that Acks with no commits around are not
// held back: after one Ack-only transaction, the next Ack commits at once
// even with a long linger.
func TestLoneAckDoesNotWait(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	s := mustOpen(t, path, bolt.WithAckLinger(200*time.Millisecond))
	defer mustClose(t, s)
	var effects []storage.Effect
	for _, id := range []string{"e1", "e2", "e3", "e4"} {
		effects = append(effects, eff("i", id))
	}
	if _, err := s.Create(ctx, storage.Instance{ID: "i", Data: []byte("0")}, effects); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Ack(ctx, "e1"); err != nil { // after the Create: waits for the linger
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("Ack right after a Create returned after %v, before the linger of 200ms", d)
	}
	start = time.Now()
	for _, id := range []string{"e2", "e3", "e4"} {
		if err := s.Ack(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d >= 200*time.Millisecond {
		t.Errorf("three Acks after an Ack-only transaction took %v: they waited for commits", d)
	}
}
