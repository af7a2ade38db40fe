package postgres_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"testing"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/postgres"
)

// exampleSchema is the schema Example uses; TestExample drops it before and
// after running it.
const exampleSchema = "weft_example"

// Example opens a store, creates an instance with an effect, commits a step
// and dispatches the outbox. It needs a PostgreSQL server, named by
// WEFT_POSTGRES_DSN.
func Example() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, os.Getenv("WEFT_POSTGRES_DSN"), postgres.WithSchema(exampleSchema))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	v, err := s.Create(ctx, storage.Instance{ID: "order-17", Workflow: "order", Status: "running"},
		[]storage.Effect{{ID: "order-17/1", Instance: "order-17", Data: []byte("charge card")}})
	if err != nil {
		log.Fatal(err)
	}
	v, err = s.Commit(ctx, storage.Commit{
		Instance: storage.Instance{ID: "order-17", Workflow: "order", Status: "completed"},
		Expect:   v,
		Effects:  []storage.Effect{{ID: "order-17/2", Instance: "order-17", Data: []byte("send receipt")}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("version", v)

	effects, err := s.Outbox(ctx, 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range effects {
		fmt.Printf("%s: %s\n", e.ID, e.Data)
		if err := s.Ack(ctx, e.ID); err != nil {
			log.Fatal(err)
		}
	}
}

// TestExample runs Example against the test server and checks what it
// prints. (Example has no Output comment because it cannot run without a
// server, so go test would otherwise only compile it.)
func TestExample(t *testing.T) {
	needServer(t)
	dropSchema(t, exampleSchema)
	t.Cleanup(func() { dropSchema(t, exampleSchema) })
	t.Setenv("WEFT_POSTGRES_DSN", dsn())

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	var out strings.Builder
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(&out, r)
		close(done)
	}()
	Example()
	os.Stdout = stdout
	_ = w.Close()
	<-done

	const want = "version 2\norder-17/1: charge card\norder-17/2: send receipt\n"
	if out.String() != want {
		t.Errorf("Example printed\n%s\nwant\n%s", out.String(), want)
	}
}
