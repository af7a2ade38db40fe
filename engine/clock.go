package engine

import (
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the engine's only source of time. Every event the engine hands to
// the interpreter carries Clock.Now, timers fire by it, and the run loop
// sleeps on it, so a [FakeClock] makes a whole engine deterministic.
//
// [Engine.Run] sleeps until an absolute deadline. If the clock also has a
// method
//
//	TimerAt(deadline time.Time) (c <-chan time.Time, stop func())
//
// (firing once the clock reads deadline or later, at once if it already
// does), Run uses it, so that a clock moved between Run reading it and
// arming its timer cannot leave Run asleep; [FakeClock] and the wall clock
// have it. Otherwise Run arms Timer with the time left until the deadline.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Timer returns a channel that receives the time once d has passed on
	// this clock (at once if d <= 0), and a function that stops the timer
	// and releases it; calling stop after the timer fired does nothing.
	Timer(d time.Duration) (c <-chan time.Time, stop func())
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Timer(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

func (c realClock) TimerAt(deadline time.Time) (<-chan time.Time, func()) {
	return c.Timer(time.Until(deadline))
}

// deadlineClock is a clock that can wait for an absolute time (see [Clock]).
type deadlineClock interface {
	TimerAt(deadline time.Time) (<-chan time.Time, func())
}

// timerAt returns a channel that receives once c reads deadline or later.
func timerAt(c Clock, deadline time.Time) (<-chan time.Time, func()) {
	if dc, ok := c.(deadlineClock); ok {
		return dc.TimerAt(deadline)
	}
	return c.Timer(deadline.Sub(c.Now()))
}

// FakeClock is a [Clock] that moves only when told to, for tests and
// examples: start instances, [Engine.Drain], [FakeClock.Advance], drain
// again. It is safe for concurrent use; timers (used by [Engine.Run]) fire
// when the clock is moved to or past their deadline.
type FakeClock struct {
	mu     sync.Mutex // over timers, and every move of now
	now    atomic.Pointer[time.Time]
	timers map[*fakeTimer]struct{}
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

// NewFakeClock returns a FakeClock reading t0.
func NewFakeClock(t0 time.Time) *FakeClock {
	c := &FakeClock{timers: map[*fakeTimer]struct{}{}}
	c.now.Store(&t0)
	return c
}

// Now returns the clock's time.
//
// It takes no lock: an engine reads its clock several times a transition,
// and workers on two cores taking one lock for it moved the lock's cache
// line from core to core each time.
func (c *FakeClock) Now() time.Time {
	if now := c.now.Load(); now != nil {
		return *now
	}
	return time.Time{} // (a zero FakeClock, not made by NewFakeClock)
}

// Timer implements [Clock].
func (c *FakeClock) Timer(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timerAt(c.Now().Add(d))
}

// TimerAt returns a channel that receives the clock's time once the clock
// reads deadline or later: at once if it already does, or when
// [FakeClock.Advance] or [FakeClock.Set] moves it there. Unlike Timer it
// cannot miss a move that lands between reading the clock and arming the
// timer, which is why [Engine.Run] sleeps with it. The function returned
// stops the timer.
func (c *FakeClock) TimerAt(deadline time.Time) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timerAt(deadline)
}

func (c *FakeClock) timerAt(at time.Time) (<-chan time.Time, func()) {
	t := &fakeTimer{at: at, c: make(chan time.Time, 1)}
	if now := c.Now(); !at.After(now) {
		t.c <- now
		return t.c, func() {}
	}
	c.timers[t] = struct{}{}
	return t.c, func() {
		c.mu.Lock()
		delete(c.timers, t)
		c.mu.Unlock()
	}
}

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set(c.Now().Add(d))
}

// Set moves the clock to t, which may be before its current time (a clock
// jump backwards fires no timer).
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set(t)
}

func (c *FakeClock) set(t time.Time) {
	c.now.Store(&t)
	for tm := range c.timers {
		if !tm.at.After(t) {
			tm.c <- t
			delete(c.timers, tm)
		}
	}
}
