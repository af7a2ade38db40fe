package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage/memory"
)

type retryKid struct{ N int }

// A start-child effect performed again (its acknowledgement lost to a
// crash) finds the child it started, with the same parent link, and
// succeeds without starting another; the same ID under another parent's
// link is refused as taken, and the parent receives the failure.
func TestStartChildRetryIsIdempotent(t *testing.T) {
	ctx := context.Background()
	kid := dsl.MustCompile[retryKid]("kid", dsl.Wait("w", dsl.On("go", dsl.Signal(func(s *retryKid, n int) (int, error) { return n, nil }))))
	parent := dsl.MustCompile[retryKid]("parent", dsl.Child("kid", kid,
		func(s *retryKid) retryKid { return *s },
		func(s *retryKid, out string, err error) error {
			if err != nil {
				s.N = -1
			}
			return nil
		}))
	e, err := New(memory.New())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(kid, parent); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"p1", "p2"} {
		if err := e.Start(ctx, parent, id, retryKid{N: 1}); err != nil {
			t.Fatal(err)
		}
	}
	data := []byte{0xa1, 0x61, 0x4e, 0x01} // {"N": 1}
	oe := &outbox.Entry{Kind: interp.EffectStartChild, Workflow: "parent", Path: "kid", Type: "kid", Callback: 1, Child: "shared-kid", Data: data}
	for range 2 {
		if err := e.startChild(ctx, "p1", oe); err != nil {
			t.Fatalf("start-child for p1: %v", err)
		}
	}
	l, err := e.load(ctx, "shared-kid")
	if err != nil || l.meta.Seq != 1 {
		t.Fatalf("child after two starts: seq %d, %v", l.meta.Seq, err)
	}
	// p2's start of the same ID finds p1's child: p2 is told it could not start.
	if err := e.startChild(ctx, "p2", oe); err != nil {
		t.Fatalf("start-child for p2: %v", err)
	}
	p2, err := e.load(ctx, "p2")
	if err != nil {
		t.Fatal(err)
	}
	if p2.meta.Status != interp.StatusCompleted {
		t.Fatalf("p2 is %s, want completed after handling the failure", p2.meta.Status)
	}
	// An unregistered child workflow is an error, retried.
	bad := *oe
	bad.Type = "unknown"
	if err := e.startChild(ctx, "p1", &bad); !errors.Is(err, ErrUnregistered) {
		t.Fatalf("unregistered child: %v", err)
	}
}

// Register registers all or none: a call that fails leaves no trace, not
// even which workflows are some definition's children (it used to mark the
// children of the definitions it had checked before the one that failed).
func TestRegisterFailsWhole(t *testing.T) {
	start := func(name string, kid *dsl.Definition) *dsl.Definition {
		return dsl.MustCompile[retryKid](name, dsl.Child(kid.Name(), kid,
			func(s *retryKid) retryKid { return *s },
			func(*retryKid, string, error) error { return nil }))
	}
	waits := dsl.Wait("w", dsl.On("go", dsl.Signal(func(s *retryKid, n int) (int, error) { return n, nil })))
	kid := dsl.MustCompile[retryKid]("kid", waits)
	orphan := dsl.MustCompile[retryKid]("orphan", waits)
	e, err := New(memory.New())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(kid); err != nil {
		t.Fatal(err)
	}
	if err := e.Register(start("p1", kid), start("p2", orphan)); !errors.Is(err, ErrUnregistered) {
		t.Fatalf("register with an unregistered child: %v, want ErrUnregistered", err)
	}
	if e.isChildWorkflow("kid") || e.definition("p1") != nil {
		t.Fatal("a failed Register left p1 registered or kid marked as a child")
	}
	if err := e.Register(start("p1", kid)); err != nil || !e.isChildWorkflow("kid") {
		t.Fatalf("register p1 alone: %v; kid a child: %v", err, e.isChildWorkflow("kid"))
	}
}
