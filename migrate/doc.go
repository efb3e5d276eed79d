// Package migrate moves a hub's data between stores: `wotmq export`
// writes what a stopped single node or a running cluster holds into one
// archive (a cluster's backup), and `wotmq import` writes an archive into
// a single node's data directory or into a cluster's JetStream stores
// (docs/cluster.md, "Moving a single node's data in", "Backups of a
// cluster"). It works on the store contracts of package twin (both
// backends), the account store of package authz and the retained messages
// of package retained; the composition root (package hub) opens them.
//
// # The archive
//
// A gzip stream of JSON lines, one record a line: {"kind": K, "v": V}.
// The first is the header (kind "header": format "wotmq-archive", version
// 1, when and where it was made), the last the end (kind "end": how many
// records lie between), so that an archive cut short is refused. Between
// them, in this order: accounts with their bcrypt password hashes
// ("account"), access lists ("acl"), access rules of free topics
// ("rule"), Things with their agents and TDs ("thing"), presence
// ("presence", "agent"), history, oldest first per Thing, with the store's
// times, which are the cursors ("history"), latest values ("latest"),
// requests with their IDs and statuses: unfinished ones and the kept
// outcomes ("request"), desired states ("desired"), retained messages of
// free topics ("retained"). Payloads are base64. The version goes up when
// a record's meaning changes; a reader refuses a newer version and a kind
// it does not know.
//
// Not carried: tokens (the new hub signs with its own key: clients log in
// again), revoked tokens, MQTT sessions and their queued messages, and the
// history of Things no longer in the directory.
//
// # Import
//
// Import reads the archive twice: first all of it, so that a damaged
// archive writes nothing and the target can be checked (a target holding
// Things or accounts the archive has not is refused unless merging; a
// Thing of another agent there always), then to write. Importing the
// same archive again changes nothing: a Thing's history is written only
// after the newest record the target has for it, requests and desired
// states already there are kept, the rest is replaced by the same values.
// History and requests keep their times and IDs (outbox and inbox Restore
// on both backends), so history cursors, Last-Event-IDs and action IDs
// mean on the new hub what they meant on the old one.
package migrate
