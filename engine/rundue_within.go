package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RunDueWithin is [Engine.RunDue] with a time limit, for a host that must
// answer within a deadline (a serverless function, a cron request): it
// works on up to limit instances for at most d, then stops, releasing what
// it holds, and returns what it did and when the store next has work.
// Running out of time is not an error: an effect cut short is not counted
// as an attempt, and the work left is found by the next call (Work.Next
// says when, which is now if work was left). A deadline of ctx instead
// ends the call as RunDue would, with ctx's error.
//
// Leave room after d for the release of leases and the read of Work.Next
// (the release of each lease may take up to 5s if the store is slow).
func (e *Engine) RunDueWithin(ctx context.Context, limit int, d time.Duration) (Work, error) {
	if d <= 0 {
		return Work{}, fmt.Errorf("engine: run due within %v: the time must be positive", d)
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	w, err := e.RunDue(wctx, limit)
	if wctx.Err() == nil || ctx.Err() != nil {
		return w, err
	}
	// Out of time: drop what that alone caused, and read the next work
	// time again, with the caller's context.
	err = withoutTimeouts(err)
	next, nerr := e.store.NextWork(ctx, e.clock.Now())
	if nerr != nil {
		return w, errors.Join(err, fmt.Errorf("engine: next work: %w", nerr))
	}
	w.Next = next
	return w, err
}

// withoutTimeouts removes from err, a join, the errors that only say a
// context ended.
func withoutTimeouts(err error) error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	var keep []error
	for _, e := range j.Unwrap() {
		if e = withoutTimeouts(e); e != nil {
			keep = append(keep, e)
		}
	}
	return errors.Join(keep...)
}
