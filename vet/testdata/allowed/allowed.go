// Package allowed is deterministic workflow code that must give no finding:
// activities, constants, read-only tables, locals, sorted map iteration,
// order-free map loops, seeded generators, pure standard library calls.
package allowed

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/weftflow/weft/dsl"
)

type S struct {
	N     int
	Seed  int64
	Votes map[string]int
	Order []string
	Copy  map[string]int
	At    time.Time
	Out   string
}

const limit = 10

// prices is set in its declaration and by init, never after: a read-only table.
var prices = map[string]int{"a": 1}

var names []string

func init() {
	prices["b"] = 2
	names = append(names, "x")
}

var errEmpty = errors.New("empty")

func total(s *S) (n int) {
	for _, k := range slices.Sorted(maps.Keys(s.Votes)) {
		n += s.Votes[k] * prices[k]
	}
	return n
}

// fetch is an activity: it may read the clock.
func fetch(ctx context.Context, s S) (time.Time, error) { return time.Now(), nil } // want fetch:`nondeterministic`

var Workflow = dsl.MustCompile[S]("allowed", dsl.S(
	dsl.Call("clock", fetch, func(s *S, t time.Time) { s.At = t }),
	dsl.Call("inline", func(ctx context.Context, s S) (int, error) {
		go func() {}()
		return int(time.Since(s.At)), nil
	}, nil),
	dsl.Step("sorted", func(s *S) error {
		for _, k := range slices.Sorted(maps.Keys(s.Votes)) {
			s.Order = append(s.Order, k)
		}
		if slices.SortedFunc(maps.Values(s.Votes), func(a, b int) int { return a - b }) == nil {
			s.N = 0
		}
		return nil
	}),
	dsl.Step("collect then sort", func(s *S) error {
		keys := make([]string, 0, len(s.Votes))
		for k := range s.Votes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s.Order = keys
		for k := range s.Votes {
			s.Order = append(s.Order, k)
		}
		slices.Sort(s.Order)
		return nil
	}),
	dsl.Step("order free", func(s *S) error {
		n := 0
		s.Copy = map[string]int{}
		for k, v := range s.Votes {
			if v < 0 {
				continue
			}
			doubled := v * 2
			n += doubled
			s.Copy[k] = doubled
		}
		for range s.Votes {
			n++
		}
		for k := range s.Copy {
			delete(s.Copy, k)
		}
		s.N = n
		return nil
	}),
	dsl.Step("globals", func(s *S) error {
		if s.N > limit || len(names) == 0 {
			return errEmpty
		}
		s.N = total(s) + prices["a"]
		return nil
	}),
	dsl.Step("locals", func(s *S) error {
		var buf strings.Builder
		counts := map[string]int{}
		counts["a"]++
		fmt.Fprintf(&buf, "%d", counts["a"])
		s.Out = buf.String()
		s.At = s.At.Add(time.Hour).UTC().In(time.UTC)
		return nil
	}),
	dsl.Step("seeded", func(s *S) error {
		r := rand.New(rand.NewSource(s.Seed))
		s.N = r.Intn(100)
		return nil
	}),
	dsl.Wait("wait", dsl.On("timeout", dsl.After(time.Hour)), dsl.On("at", dsl.At(func(s *S) time.Time { return s.At.Add(time.Minute) }))),
))
