// Package planted proves the simulator can fail: each of its tests plants a
// known bug (in a workflow, a storage adapter or a host) and asserts that
// simulate.Check reports it, naming the invariant that should fire, within
// the default number of checks.
package planted
