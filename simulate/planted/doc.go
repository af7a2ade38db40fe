// Package planted proves the simulator can fail: each of its tests plants a
// known bug (in a workflow, a storage adapter or a host) and asserts that
// simulate.Check reports it, naming the invariant that should fire, within
// the default number of checks. One plants a bug no run can see (a clock
// read whose answer is the same every time) and asserts that the static
// analyzer of package vet reports it instead.
package planted
