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

// A copy of a store cut short, as an interrupted copy leaves it, is refused
// with ErrCorrupt, read-only or not, and left as it is.
func ExampleOpen_damaged() {
	dir, err := os.MkdirTemp("", "weft-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	path := filepath.Join(dir, "weft.db")
	s, err := bolt.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for i := range 100 {
		id := fmt.Sprintf("order-%d", i)
		if _, err := s.Create(ctx, storage.Instance{ID: id, Data: make([]byte, 1000)}, nil); err != nil {
			log.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}

	// Copy the first half of the file only.
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	partial := filepath.Join(dir, "partial.db")
	if err := os.WriteFile(partial, data[:len(data)/2], 0o600); err != nil {
		log.Fatal(err)
	}

	_, err = bolt.Open(partial, bolt.WithReadOnly())
	fmt.Println("read-only:", errors.Is(err, bolt.ErrCorrupt))
	_, err = bolt.Open(partial)
	fmt.Println("read-write:", errors.Is(err, bolt.ErrCorrupt))
	after, _ := os.ReadFile(partial)
	fmt.Println("unchanged:", len(after) == len(data)/2)

	// Output:
	// read-only: true
	// read-write: true
	// unchanged: true
}
