package memory_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// A deleted instance leaves a tombstone: a Create of its ID must name the
// deleted instance's version, which the DeletedError carries with the
// host's bytes, and the new instance's versions follow the deleted one's.
func ExampleStore_Delete() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()
	if _, err := s.Create(ctx, storage.Instance{ID: "daily", Workflow: "report", Status: "completed"}, nil); err != nil {
		panic(err)
	}
	if err := s.Delete(ctx, "daily", 1, []byte("numbering up to 7")); err != nil {
		panic(err)
	}

	_, err := s.Create(ctx, storage.Instance{ID: "daily", Workflow: "report", Status: "running"}, nil)
	var de *storage.DeletedError
	if errors.As(err, &de) {
		fmt.Printf("deleted at version %d, tombstone %q\n", de.Version, de.Tombstone)
	}
	v, err := s.Create(ctx, storage.Instance{ID: "daily", Workflow: "report", Status: "running", Version: de.Version}, nil)
	fmt.Println(v, err)
	// Output:
	// deleted at version 1, tombstone "numbering up to 7"
	// 2 <nil>
}
