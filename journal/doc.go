// Package journal is weft's optional record of what happened to an
// instance: one [Entry] per committed transition (the event as received,
// the callback it answered, the effects emitted with their IDs, where the
// threads moved, the definition version, the size of the new state),
// written by the engine in the same atomic commit as the record, so that
// the journal and the state never disagree.
//
// The interpreter never reads a journal: an instance resumes from its
// snapshot at the same cost after ten events or a hundred thousand. The
// journal is for people and tools: `weft inspect ID --history` prints it
// as a timeline, and it is what replaying real traffic against a new
// definition version reads.
//
// A [Policy] per workflow says whether a journal is kept and how much of
// it: the last N entries, the entries of the last D, or all. Payloads
// above a size are kept as a hash and a size, and a redaction function
// can strip personal data before anything is written.
package journal
