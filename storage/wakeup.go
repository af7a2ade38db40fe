package storage

import "context"

// Waker is implemented by stores shared by several processes that can tell
// one process when another committed work, so that hosts need not poll
// often (Postgres: LISTEN/NOTIFY). A host that holds a Waker still polls,
// less often: a wake-up is a hint, and may be lost (a broken connection)
// or come late.
type Waker interface {
	// Wakeups returns a channel that receives a value soon after any
	// process using the same backing data commits work (an instance
	// created or committed with effects, or due before long) or commits
	// with [Commit.Wake] set (an instance's end). Wake-ups are
	// coalesced: many commits may give one value, and a receiver that is
	// slow misses none of the fact that work arrived (the channel holds
	// one value). The channel is closed when ctx ends or the store is
	// closed.
	Wakeups(ctx context.Context) (<-chan struct{}, error)
}
