package memory

import (
	"strconv"
	"strings"
	"testing"
	"time"
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

// BenchmarkIDIndex adds 20,000 instance IDs, as BenchmarkSortedSetIDs
// makes them, to an index, optionally reads the whole index, and removes
// them, keeping the map of live IDs that stands for the store's instances
// (which idIndex checks when it merges), with the sortedSet the store
// used before and with idIndex:
//
//	go test -run '^$' -bench 'SortedSetIDs|IDIndex' ./storage/memory/
func BenchmarkIDIndex(b *testing.B) {
	ids := make([]string, 20000)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	type index interface {
		add(string)
		remove(string)
		read()
	}
	for _, kind := range []string{"sortedSet", "idIndex"} {
		for _, read := range []bool{false, true} {
			name := kind + "/add, remove"
			if read {
				name = kind + "/add, read, remove"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					live := make(map[string]bool, len(ids))
					var x index = &sortedSetIndex{newSortedSet(strings.Compare)}
					if kind == "idIndex" {
						x = &idIndexBench{newIDIndex(func(id string) bool { return live[id] })}
					}
					for _, id := range ids {
						live[id] = true
						x.add(id)
					}
					if read {
						x.read()
					}
					for _, id := range ids {
						delete(live, id)
						x.remove(id)
					}
				}
			})
		}
	}
}

type sortedSetIndex struct{ s *sortedSet[string] }

func (x *sortedSetIndex) add(id string)    { x.s.insert(id) }
func (x *sortedSetIndex) remove(id string) { x.s.delete(id) }
func (x *sortedSetIndex) read() {
	for range x.s.all() {
	}
}

type idIndexBench struct{ x *idIndex }

func (x *idIndexBench) add(id string)    { x.x.add(id) }
func (x *idIndexBench) remove(id string) { x.x.remove(id) }
func (x *idIndexBench) read() {
	for range x.x.from(func(string) bool { return true }) {
	}
}

// BenchmarkSortedSetDue inserts and then deletes the due index entries of
// 20,000 instances due at the same time, as engine benchmarks make them
// (a timer started by each, under a fake clock), with chunks of 512 and
// of dueChunk:
//
//	go test -run '^$' -bench SortedSetDue ./storage/memory/
func BenchmarkSortedSetDue(b *testing.B) {
	at := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	keys := make([]dueKey, 20000)
	for i := range keys {
		keys[i] = keyAt(at, strconv.Itoa(i))
	}
	for _, chunk := range []int{maxChunk, dueChunk} {
		b.Run(strconv.Itoa(chunk), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s := newSortedSetChunks(compareDue, chunk)
				for _, k := range keys {
					s.insert(k)
				}
				for _, k := range keys {
					s.delete(k)
				}
			}
		})
	}
}
