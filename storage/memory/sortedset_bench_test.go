package memory

import (
	"strconv"
	"strings"
	"testing"
)

// BenchmarkSortedSetIDs inserts and then deletes 20,000 instance IDs in
// the order engine benchmarks make them ("0", "1", ..., "19999": not
// sorted, as random IDs are not), the index work of a Create and a
// Delete:
//
//	go test -run '^$' -bench SortedSetIDs ./storage/memory/
func BenchmarkSortedSetIDs(b *testing.B) {
	ids := make([]string, 20000)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		s := newSortedSet(strings.Compare)
		for _, id := range ids {
			s.insert(id)
		}
		for _, id := range ids {
			s.delete(id)
		}
	}
}

// BenchmarkIDIndex is BenchmarkSortedSetIDs for idIndex, the ID indexes
// of the store ("add, remove"), and the same with a read of the whole
// index between the additions and the removals, which merges them
// ("add, read, remove"):
//
//	go test -run '^$' -bench 'SortedSetIDs|IDIndex' ./storage/memory/
func BenchmarkIDIndex(b *testing.B) {
	ids := make([]string, 20000)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	for _, read := range []bool{false, true} {
		name := "add, remove"
		if read {
			name = "add, read, remove"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				live := make(map[string]bool, len(ids))
				x := newIDIndex(func(id string) bool { return live[id] })
				for _, id := range ids {
					live[id] = true
					x.add(id)
				}
				if read {
					for range x.from(func(string) bool { return true }) {
					}
				}
				for _, id := range ids {
					delete(live, id)
					x.remove(id)
				}
			}
		})
	}
}
