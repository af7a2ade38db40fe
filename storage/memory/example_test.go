package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// A host's view of a store: create an instance with a timer, resume it when
// it is due, commit with compare-and-set, and drain the outbox.
func Example() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()

	wake := time.Date(2030, time.January, 1, 9, 0, 0, 0, time.UTC)
	v, err := s.Create(ctx,
		storage.Instance{ID: "order-1", Workflow: "order", Status: "waiting", Due: wake, Data: []byte(`{"step":1}`)},
		[]storage.Effect{{ID: "order-1@1/0", Instance: "order-1", Data: []byte("send confirmation")}})
	if err != nil {
		panic(err)
	}
	fmt.Println("created at version", v)

	// The timer fires.
	due, err := s.DueBefore(ctx, wake, 10)
	if err != nil {
		panic(err)
	}
	for _, d := range due {
		fmt.Println("due:", d.ID, "at", d.At.Format(time.RFC3339))
	}

	// Resume: load, compute, commit on top of the loaded version.
	inst, err := s.Load(ctx, "order-1")
	if err != nil {
		panic(err)
	}
	next := storage.Instance{ID: "order-1", Workflow: "order", Status: "completed", Data: []byte(`{"step":2}`)}
	v, err = s.Commit(ctx, storage.Commit{
		Instance: next,
		Expect:   inst.Version,
		Effects:  []storage.Effect{{ID: "order-1@2/0", Instance: "order-1", Data: []byte("ship")}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("committed version", v)

	// A writer that loaded the same version is too late.
	_, err = s.Commit(ctx, storage.Commit{Instance: next, Expect: inst.Version})
	fmt.Println("conflict:", errors.Is(err, storage.ErrConflict))
	fmt.Println(err)

	// Dispatch the outbox, then acknowledge.
	effects, err := s.Outbox(ctx, 10)
	if err != nil {
		panic(err)
	}
	var ids []string
	for _, e := range effects {
		fmt.Printf("dispatch %s: %s\n", e.ID, e.Data)
		ids = append(ids, e.ID)
	}
	if err := s.Ack(ctx, ids...); err != nil {
		panic(err)
	}
	effects, _ = s.Outbox(ctx, 10)
	due, _ = s.DueBefore(ctx, wake, 10)
	fmt.Println("pending:", len(effects), "due:", len(due))

	// Output:
	// created at version 1
	// due: order-1 at 2030-01-01T09:00:00Z
	// committed version 2
	// conflict: true
	// storage: commit "order-1": version conflict (expected 1, stored 2)
	// dispatch order-1@1/0: send confirmation
	// dispatch order-1@2/0: ship
	// pending: 0 due: 0
}

// A process claims an instance's work, performs its effects, acknowledges
// them under its lease and releases it. A process whose lease was taken
// over (here: released and acquired again) is fenced.
func ExampleStore_Claim() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()
	s.Create(ctx, storage.Instance{ID: "order-1"}, []storage.Effect{
		{ID: "order-1/charge", Instance: "order-1", Data: []byte("charge 10 EUR")},
	})

	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	leases, _ := s.Claim(ctx, storage.ClaimRequest{Owner: "host-a", Now: now, TTL: time.Minute, Limit: 10})
	for _, l := range leases {
		effs, _ := s.Pending(ctx, l, 100)
		for _, e := range effs {
			fmt.Printf("%s (token %d) performs %s: %s\n", l.Owner, l.Token, e.ID, e.Data)
		}
		// A successor takes the instance over before host-a acknowledges.
		s.Release(ctx, l)
		next, _ := s.Acquire(ctx, l.Instance, storage.ClaimRequest{Owner: "host-b", Now: now, TTL: time.Minute})
		err := s.AckLeased(ctx, l, "order-1/charge")
		fmt.Println("host-a's late ack fenced:", errors.Is(err, storage.ErrFenced))
		fmt.Println("host-b's token:", next.Token)
	}
	// Output:
	// host-a (token 1) performs order-1/charge: charge 10 EUR
	// host-a's late ack fenced: true
	// host-b's token: 2
}
