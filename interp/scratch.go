package interp

import "github.com/weftflow/weft/dsl"

// Scratch is the memory a transition's machine works in, for a host that
// applies many events to reuse from one call of [ApplyWith] to the next
// instead of allocating it each time (it was a third of the bytes an
// engine allocated per transition). The zero Scratch is ready for use. It
// holds nothing from one call to the next but memory: the call empties it
// first.
//
// A Scratch must not be used by two calls at once, and the Effects of a
// Result that ApplyWith returned may live in it: they are valid until the
// next call with the same Scratch. A host that keeps effects longer copies
// them, or calls [Apply].
type Scratch struct {
	plain *plainBuffers // made by the first call that needs them
	setup *setupBuffers
}

// ApplyWith is [Apply] with the machine's memory in sc (a nil sc is
// Apply): the same function of its arguments, with the same errors and
// the same guarantees, except that the Result's Effects may share sc's
// memory until the next call with sc.
func ApplyWith(sc *Scratch, def *dsl.Definition, state []byte, meta Meta, ev Event) (res Result, err error) {
	defer barrier("Apply", def, meta, &res, &err)
	if def == nil {
		return Result{}, nilDefinition("Apply", meta)
	}
	return apply(def, state, meta, ev, sc)
}
