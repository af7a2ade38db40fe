package crashtest

import "encoding/json"

// The parent and the child talk over two pipes handed to the child as
// file descriptors 3 (requests) and 4 (responses), one JSON object per
// line, so that the test binary's own stdout and stderr stay free for
// diagnostics.
const (
	requestFD  = 3
	responseFD = 4
)

// Environment of a child process.
const (
	envChild = "WEFT_CRASH_CHILD" // "1" makes TestKill9 run as a child
	envDB    = "WEFT_CRASH_DB"    // the bbolt file
	envLog   = "WEFT_CRASH_LOG"   // the receiver log
	envLife  = "WEFT_CRASH_LIFE"  // the incarnation number, recorded in the receiver log
	envTune  = "WEFT_CRASH_TUNE"  // "workers,maxbatch,lazy": see childTune
	envPG    = "WEFT_CRASH_PG"    // JSON of a pgChild: run on Postgres with leases instead of bbolt
)

// Operations of a request.
const (
	opStart  = "start"  // Engine.Start(Workflow, Instance, Payload as the start input)
	opSend   = "send"   // Engine.Send(Instance, Event, Payload)
	opCancel = "cancel" // Engine.Cancel(Instance)
	opIdle   = "idle"   // wait until every instance has finished and the outbox is empty
	opQuit   = "quit"   // stop Run, close the store and the receiver, exit cleanly
)

// request is one command from the parent.
type request struct {
	ID       uint64          `json:"id"`
	Op       string          `json:"op"`
	Instance string          `json:"inst,omitempty"`
	Workflow string          `json:"wf,omitempty"`
	Event    string          `json:"event,omitempty"`
	Payload  json.RawMessage `json:"payload,omitempty"`
}

// response answers the request with the same ID, after the engine call
// returned: an empty Err is an acknowledgement (the call returned nil, so
// it committed). ID 0 is the child's "ready".
type response struct {
	ID  uint64 `json:"id"`
	Err string `json:"err,omitempty"`
}
