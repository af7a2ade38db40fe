package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
)

// calls returns one call of every method but Close, each of which would
// change s or read from it if it succeeded.
func calls(s storage.Store) []opCase {
	cases := []opCase{
		{"Create", func(ctx context.Context) error {
			_, err := s.Create(ctx, storage.Instance{ID: "new", Due: at(0)}, effects("new", "new/1"))
			return err
		}},
		{"Load", func(ctx context.Context) error {
			_, err := s.Load(ctx, "a")
			return err
		}},
		{"Commit", func(ctx context.Context) error {
			_, err := s.Commit(ctx, storage.Commit{
				Instance: storage.Instance{ID: "a", Data: []byte("changed")},
				Expect:   1,
				Effects:  effects("a", "a/2"),
			})
			return err
		}},
		{"Outbox", func(ctx context.Context) error {
			_, err := s.Outbox(ctx, 10)
			return err
		}},
		{"Ack", func(ctx context.Context) error { return s.Ack(ctx, "a/1") }},
		{"DueBefore", func(ctx context.Context) error {
			_, err := s.DueBefore(ctx, farFuture, 10)
			return err
		}},
		{"List", func(ctx context.Context) error {
			_, err := s.List(ctx, "", 10)
			return err
		}},
	}
	cases = append(cases, journalCalls(s)...)
	return append(append(cases, claimCalls(s)...), listingCalls(s)...)
}

// claimCalls returns one call of every method of the claims.
func claimCalls(s storage.Store) []opCase {
	return []opCase{
		{"Claim", func(ctx context.Context) error {
			_, err := s.Claim(ctx, storage.ClaimRequest{Owner: "p", Now: farFuture, TTL: time.Minute, Limit: 10})
			return err
		}},
		{"Acquire", func(ctx context.Context) error {
			_, err := s.Acquire(ctx, "a", storage.ClaimRequest{Owner: "p", Now: farFuture, TTL: time.Minute})
			return err
		}},
		{"Renew", func(ctx context.Context) error {
			_, err := s.Renew(ctx, lease1, at(0), time.Minute)
			return err
		}},
		{"Release", func(ctx context.Context) error { return s.Release(ctx, lease1) }},
		{"Pending", func(ctx context.Context) error {
			_, err := s.Pending(ctx, lease1, 10)
			return err
		}},
		{"AckLeased", func(ctx context.Context) error { return s.AckLeased(ctx, lease1, "a/1") }},
		{"Retry", func(ctx context.Context) error {
			return s.Retry(ctx, lease1, "a/1", storage.RetryState{Attempts: 1, LastError: "x"})
		}},
		{"DeadLetter", func(ctx context.Context) error {
			return s.DeadLetter(ctx, lease1, "a/1", storage.RetryState{Attempts: 1, LastError: "x"})
		}},
		{"DeadLetters", func(ctx context.Context) error {
			_, err := s.DeadLetters(ctx, "", 10)
			return err
		}},
		{"Requeue", func(ctx context.Context) error {
			_, err := s.Requeue(ctx, "a/1")
			return err
		}},
		{"NextWork", func(ctx context.Context) error {
			_, err := s.NextWork(ctx, at(0))
			return err
		}},
	}
}

func testContextCanceled(t *testing.T, open opener) {
	s := open.fresh(t)
	mustCreate(t, s, storage.Instance{ID: "a", Due: at(time.Second), Data: []byte("a")}, effects("a", "a/1")...)
	before := snapshot(t, s)

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()

	for _, c := range calls(s) {
		err := c.op(canceled)
		wantErr(t, c.name+" with a canceled context", err, context.Canceled, "")
		unchanged(t, s, before, c.name+" with a canceled context")

		err = c.op(expired)
		wantErr(t, c.name+" with an expired context", err, context.DeadlineExceeded, "")
		unchanged(t, s, before, c.name+" with an expired context")
	}
}

func testClose(t *testing.T, open opener) {
	s := open.fresh(t)
	mustCreate(t, s, storage.Instance{ID: "a", Due: at(time.Second)}, effects("a", "a/1")...)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, c := range calls(s) {
		err := c.op(context.Background())
		wantErr(t, c.name+" after Close", err, storage.ErrClosed, "")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := s.Load(context.Background(), "a"); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Load after a second Close = %v, want ErrClosed", err)
	}
}
