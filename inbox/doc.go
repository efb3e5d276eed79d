// Package inbox keeps the requests consumers make of twins: action
// invocations and property writes, from the moment the hub accepts one
// until its outcome, durable across restarts.
//
// # Lifecycle
//
// A request is added as pending, becomes delivered when the hub hands it to
// the agent, may report running, and ends completed or failed. Update
// refuses any other transition with ErrTransition; a finished request never
// changes again (ErrFinished).
//
// # Storage
//
// The inbox owns the Badger keys that start with "inbox/" (see
// docs/storage.md):
//
//	inbox/r/{id}                           the request (JSON)
//	inbox/q/{agentID}\x00{id}              unfinished request summary (queue index)
//	inbox/l/{thingID}\x00{op}{name}        ID of the newest request per affordance
//	inbox/h/{thingID}\x00{op}{name}\x00{id} outcome history
//	inbox/d/{thingID}\x00{name}            desired state of a property
//
// IDs are 16 hex digits of a strictly increasing nanosecond clock, so
// queues sort in arrival order. The queue index is also held in memory
// (loaded at New), so the rules, delivery and expiry never scan Badger,
// where finished requests leave tombstones until compaction. Finished
// requests are kept for the store's retention (a Badger TTL) and at most
// OutcomeRecall of them per affordance.
//
// # Consistency
//
// Check reads the stored requests and the queue index and reports where
// they disagree; package hubtest runs it on the store of every hub a test
// started, once the hub stopped.
//
// # Concurrency
//
// A Store is safe for concurrent use. The order of requests of one agent is
// the order of Add calls; callers that need delivery order to match must
// serialise Add and delivery per agent themselves. Writes of concurrent
// callers share Badger transactions (package groupcommit); each call still
// returns only after its own write committed. ReplaceLater and
// TransitionLater (stage.go) return before: their change is in memory for
// the next caller at once, and the Commit they return waits for it (a
// failed commit takes the change back out of memory).
package inbox
