// Package apisurface holds the test that keeps plumbing out of weft's
// public API: names that moved behind internal/ (the outbox entry, running
// an activity by its path, decoding with a name) must not come back as
// exported declarations of engine, dsl or codec, and no exported
// declaration there may mention a type of those internal packages.
// docs/semantics.md, "Plumbing behind internal/", says what moved and why.
package apisurface
