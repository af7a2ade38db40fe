package memory

import (
	"iter"
	"slices"
	"sort"
)

// maxChunk is the largest number of elements a chunk of a sortedSet holds
// before it splits in two, unless the set was made with another
// (newSortedSetChunks).
const maxChunk = 512

// sortedSet is an ordered set of distinct elements, kept as a list of sorted
// chunks (the layout of a B-tree of height two). With n elements and chunk
// size B (maxChunk, or the set's own):
//
//   - insert and delete cost O(log n + B + n/B): a binary search for the
//     chunk and inside it, then a copy within the chunk, and occasionally
//     within the chunk list on a split or merge;
//   - seek costs O(log n), and iterating k elements from there O(k).
//
// For the sizes an in-memory store sees, the copies are short memmoves.
type sortedSet[T any] struct {
	cmp    func(a, b T) int
	max    int   // the largest chunk: maxChunk unless newSortedSetChunks set another
	chunks [][]T // non-empty, each sorted; every element of chunks[i] < every element of chunks[i+1]
	n      int
}

func newSortedSet[T any](cmp func(a, b T) int) *sortedSet[T] {
	return newSortedSetChunks(cmp, maxChunk)
}

// newSortedSetChunks returns a set whose chunks hold at most max elements
// (at least 4): smaller chunks make inserts and deletes move less memory
// and splits and merges move more chunk headers.
func newSortedSetChunks[T any](cmp func(a, b T) int, max int) *sortedSet[T] {
	return &sortedSet[T]{cmp: cmp, max: max}
}

// len returns the number of elements.
func (s *sortedSet[T]) len() int { return s.n }

// chunkFor returns the index of the first chunk whose last element is >= x,
// or len(s.chunks) if x is greater than every element.
func (s *sortedSet[T]) chunkFor(x T) int {
	return sort.Search(len(s.chunks), func(i int) bool {
		c := s.chunks[i]
		return s.cmp(c[len(c)-1], x) >= 0
	})
}

// insert adds x and reports whether it was absent.
func (s *sortedSet[T]) insert(x T) bool {
	if len(s.chunks) == 0 {
		s.chunks = append(s.chunks, []T{x})
		s.n = 1
		return true
	}
	ci := s.chunkFor(x)
	if ci == len(s.chunks) {
		ci-- // greater than everything: append to the last chunk
	}
	c := s.chunks[ci]
	i, found := slices.BinarySearchFunc(c, x, s.cmp)
	if found {
		return false
	}
	c = slices.Insert(c, i, x)
	s.n++
	if len(c) <= s.max {
		s.chunks[ci] = c
		return true
	}
	half := len(c) / 2
	right := slices.Clone(c[half:])
	clear(c[half:]) // let the garbage collector have what the left half no longer holds
	s.chunks[ci] = c[:half]
	s.chunks = slices.Insert(s.chunks, ci+1, right)
	return true
}

// delete removes x and reports whether it was present.
func (s *sortedSet[T]) delete(x T) bool {
	ci := s.chunkFor(x)
	if ci == len(s.chunks) {
		return false
	}
	c := s.chunks[ci]
	i, found := slices.BinarySearchFunc(c, x, s.cmp)
	if !found {
		return false
	}
	c = slices.Delete(c, i, i+1)
	s.n--
	if len(c) == 0 {
		s.chunks = slices.Delete(s.chunks, ci, ci+1)
		return true
	}
	s.chunks[ci] = c
	// Merge small neighbours so that the number of chunks stays O(n/B).
	switch {
	case ci > 0 && len(s.chunks[ci-1])+len(c) <= s.max/2:
		s.chunks[ci-1] = append(s.chunks[ci-1], c...)
		s.chunks = slices.Delete(s.chunks, ci, ci+1)
	case ci+1 < len(s.chunks) && len(c)+len(s.chunks[ci+1]) <= s.max/2:
		s.chunks[ci] = append(c, s.chunks[ci+1]...)
		s.chunks = slices.Delete(s.chunks, ci+1, ci+2)
	}
	return true
}

// from returns the elements x for which atOrAfter(x) holds, in order.
// atOrAfter must be monotone: false for a prefix of the set, true for the rest.
// The set must not change during the iteration.
func (s *sortedSet[T]) from(atOrAfter func(T) bool) iter.Seq[T] {
	return func(yield func(T) bool) { s.scanFrom(atOrAfter, yield) }
}

// scan calls visit with every element in order until it returns false:
// all without an iterator to allocate, for a caller whose visit does not
// escape. The set must not change during the scan.
func (s *sortedSet[T]) scan(visit func(T) bool) {
	for _, c := range s.chunks {
		for _, x := range c {
			if !visit(x) {
				return
			}
		}
	}
}

// scanFrom calls visit with the elements x for which atOrAfter(x) holds,
// in order, until it returns false: from without an iterator (see scan).
func (s *sortedSet[T]) scanFrom(atOrAfter func(T) bool, visit func(T) bool) {
	ci := sort.Search(len(s.chunks), func(i int) bool {
		c := s.chunks[i]
		return atOrAfter(c[len(c)-1])
	})
	if ci == len(s.chunks) {
		return
	}
	first := s.chunks[ci]
	i := sort.Search(len(first), func(j int) bool { return atOrAfter(first[j]) })
	for _, x := range first[i:] {
		if !visit(x) {
			return
		}
	}
	for _, c := range s.chunks[ci+1:] {
		for _, x := range c {
			if !visit(x) {
				return
			}
		}
	}
}

// all returns every element in order.
func (s *sortedSet[T]) all() iter.Seq[T] {
	return s.from(func(T) bool { return true })
}
