package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
)

func Example() {
	dir, err := os.MkdirTemp("", "weft-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := bolt.Open(filepath.Join(dir, "weft.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	// Create an instance with its first effect.
	due := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	_, err = s.Create(ctx,
		storage.Instance{ID: "order-17", Workflow: "approval", Status: "waiting", Due: due, Data: []byte("state 1")},
		[]storage.Effect{{ID: "order-17/1", Instance: "order-17", Data: []byte("ask manager")}})
	if err != nil {
		log.Fatal(err)
	}

	// Commit on top of the loaded version; a stale writer gets ErrConflict.
	inst, err := s.Load(ctx, "order-17")
	if err != nil {
		log.Fatal(err)
	}
	v, err := s.Commit(ctx, storage.Commit{
		Instance: storage.Instance{ID: "order-17", Workflow: "approval", Status: "completed", Data: []byte("state 2")},
		Expect:   inst.Version,
		Effects:  []storage.Effect{{ID: "order-17/2", Instance: "order-17", Data: []byte("notify user")}},
	})
	fmt.Println("committed version", v, err)
	_, err = s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "order-17"}, Expect: inst.Version})
	fmt.Println("stale commit conflicts:", errors.Is(err, storage.ErrConflict))

	// Dispatch the outbox, then acknowledge it.
	effects, _ := s.Outbox(ctx, 10)
	for _, e := range effects {
		fmt.Printf("dispatch %s: %s\n", e.ID, e.Data)
		_ = s.Ack(ctx, e.ID)
	}
	dues, _ := s.DueBefore(ctx, due, 10)
	fmt.Println("due:", len(dues))

	// Output:
	// committed version 2 <nil>
	// stale commit conflicts: true
	// dispatch order-17/1: ask manager
	// dispatch order-17/2: notify user
	// due: 0
}
