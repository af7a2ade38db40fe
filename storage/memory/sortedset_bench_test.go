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
