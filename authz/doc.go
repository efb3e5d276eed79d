// Package authz decides who may do what on the hub: every connect,
// publish, subscribe and delivery is answered here, deny by default.
//
// # Identity
//
// A client's identity is its authenticated account (Identity): an
// account's password, an access token it was issued, or a TLS client
// certificate naming it. A development hub (--dev) also admits clients on
// loopback without credentials (RemoteHost, IsLoopback): each is an
// anonymous service account named by its MQTT username, else its client
// ID.
//
// # Rules
//
// Only the hub publishes on consumer-facing twin topics ("things/...") and
// on "wotmq/..."; consumers may publish only the request topics there
// (invokeaction, writeproperty, history queries). An agent publishes and
// subscribes only under its own "agents/{agentID}/" prefix. Whether an
// agent owns the Thing it publishes for is checked by the hub against the
// directory, because ownership is directory state.
//
// # Changes
//
// Decisions made for a live connection or stream can be voided by a later
// change: an account's role, password or enabled state, a Thing's access
// list. Options.OnChange reports each one after the store holds it, so that
// the hub ends or decides again what is open (broker/revoke.go).
//
// # Persistence
//
// A Store keeps everything in memory and persists through a Backend
// (backend.go): a single node's Badger (Open), or in a cluster a store
// every node shares (OpenBackend with package jetstore's Accounts). On a
// WatchingBackend the Store applies the changes other nodes make and
// reports each through OnChange as it would its own (apply.go), so that a
// change ends on every node what it ends on the node that made it.
//
// # Logins
//
// Login does the same work for unknown and known accounts (one bcrypt
// comparison at the store's cost) and throttles guesses per (account,
// address) pair, pacing an address that fails often; see ThrottleOptions.
package authz
