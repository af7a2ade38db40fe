package storagetest_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
	"github.com/weftflow/weft/storage/storagetest"
)

// Planted bugs in storage.Pages: the suite must fail a store whose pages
// are off by one, in its Pages test. As with the lossy due indexes, each
// runs the suite in a child process.

const envPagesFault = "WEFT_STORAGETEST_PAGES_FAULT"

// offByOne is a memory store whose Pages are wrong as its fault says.
type offByOne struct {
	*memory.Store
	fault string
}

const (
	dueRepeats  = "due repeats"  // DueAfter returns the entry it starts after again
	outboxSkips = "outbox skips" // OutboxAfter skips the first effect after the position
)

func (o offByOne) DueAfter(ctx context.Context, t time.Time, after storage.Due, limit int) ([]storage.Due, error) {
	if o.fault != dueRepeats || after == (storage.Due{}) {
		return o.Store.DueAfter(ctx, t, after, limit)
	}
	all, err := o.Store.DueBefore(ctx, t, 1<<20)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(all, func(d storage.Due) bool { return d.ID == after.ID && d.At.Equal(after.At) })
	if i < 0 {
		return o.Store.DueAfter(ctx, t, after, limit)
	}
	return all[i:min(len(all), i+limit)], nil
}

func (o offByOne) OutboxAfter(ctx context.Context, after uint64, limit int) ([]storage.Effect, error) {
	if o.fault != outboxSkips || after == 0 {
		return o.Store.OutboxAfter(ctx, after, limit)
	}
	return o.Store.OutboxAfter(ctx, after+1, limit)
}

// TestPagesFaultChild runs the suite on an offByOne store. It does
// nothing unless TestSuiteFailsWrongPages runs it in a child process.
func TestPagesFaultChild(t *testing.T) {
	f := os.Getenv(envPagesFault)
	if f == "" {
		t.Skip("run in a child process by TestSuiteFailsWrongPages")
	}
	storagetest.Run(t, func(t *testing.T) storage.Store { return offByOne{memory.New(), f} })
}

// TestSuiteFailsWrongPages checks that the suite fails each planted
// Pages bug in its Pages test, and in no other.
func TestSuiteFailsWrongPages(t *testing.T) {
	for _, f := range []string{dueRepeats, outboxSkips} {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			got, out := failedInChild(t, "TestPagesFaultChild", "^TestPagesFaultChild$", envPagesFault, f)
			if !slices.Equal(got, []string{"Pages"}) {
				t.Errorf("failed subtests %v, want [Pages]:\n%s", got, out)
			}
		})
	}
}
