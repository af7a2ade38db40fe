package unixns_test

import (
	"testing"
	"time"

	"github.com/weftflow/weft/internal/unixns"
	"pgregory.net/rapid"
)

// Time and Nano are inverses over the storable range, 0 is the zero
// time, and times come back in UTC without a monotonic reading.
func TestRoundTrip(t *testing.T) {
	if !unixns.Time(0).IsZero() || unixns.Nano(time.Time{}) != 0 {
		t.Fatal("0 and the zero time do not map to each other")
	}
	rapid.Check(t, func(t *rapid.T) {
		ns := rapid.Int64().Filter(func(n int64) bool { return n != 0 }).Draw(t, "ns")
		tm := unixns.Time(ns)
		if got := unixns.Nano(tm); got != ns {
			t.Fatalf("Nano(Time(%d)) = %d", ns, got)
		}
		if tm.Location() != time.UTC || tm != tm.Round(0) {
			t.Fatalf("Time(%d) = %v: not plain UTC", ns, tm)
		}
	})
}
