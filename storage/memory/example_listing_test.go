package memory_test

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// Page through the instances of one workflow and status, count them per
// status, and delete one that finished.
func ExampleStore_Find() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()
	for i, status := range []string{"running", "completed", "running", "failed", "running"} {
		inst := storage.Instance{ID: fmt.Sprintf("order-%d", i), Workflow: "order", Status: status}
		if _, err := s.Create(ctx, inst, nil); err != nil {
			panic(err)
		}
	}

	q := storage.Query{Filter: storage.Filter{Workflow: "order", Status: "running"}, Limit: 2}
	for {
		page, err := s.Find(ctx, q)
		if err != nil {
			panic(err)
		}
		for _, inst := range page.Instances {
			fmt.Println(inst.ID)
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}

	if err := s.Delete(ctx, "order-1", 1, nil); err != nil { // completed, version 1, no effects
		panic(err)
	}
	counts, err := s.Count(ctx, storage.Filter{Workflow: "order"})
	if err != nil {
		panic(err)
	}
	fmt.Println(counts)
	// Output:
	// order-0
	// order-2
	// order-4
	// map[failed:1 running:3]
}
