// Package upstream connects an edge hub to a cloud hub: the edge hub is an
// ordinary agent of the cloud hub (the wot SDK, no wire protocol of its
// own) for the Things it exports, and keeps working while the link is down.
//
// # What goes up, what comes down
//
// For each exported Thing (its ID matches Options.Things, or its TD says
// "wotmq:export": true; false keeps it at the edge), the bridge registers
// the agent's TD at the cloud (AgentUpdateTD; the cloud writes its own
// forms) and forwards its history from the edge's outbox: events, property
// values and presence changes, in order per Thing, from a position kept in
// the outbox (outbox.Store.Position); a value kept only as the latest
// (retention 0) goes up in its place among them. Each record carries its time
// (wire.PropTime) and its edge cursor as a sequence (wire.PropSeq): the
// cloud keeps the time and stores a sequence it has seen once, so a record
// sent again after a lost acknowledgement or an edge crash is stored
// once. The cloud's requests for those Things come down as requests to the
// agent and are submitted to the edge's own inbox (twin.Core.Submit):
// a device that sleeps gets them when it wakes, like a local request, and
// their statuses go back up as the agent's replies. Local consumers use
// the edge hub as before.
//
// # IDs
//
// The cloud refuses a Thing ID that another agent (another edge) registered
// (denied): that Thing stays at the edge only, logged and counted
// (wotmq_upstream_clashes_total). Give Things globally unique IDs (URNs
// with the site in them).
//
// # Backlog
//
// The backlog is the edge's history after the position: bounded by the
// edge's --retention and --max-history. Records the history cap deletes
// before they are forwarded are counted (wotmq_upstream_dropped_total);
// records whose retention ends first are gone without a count.
//
// See docs/bridges.md, "Edge to cloud".
package upstream
