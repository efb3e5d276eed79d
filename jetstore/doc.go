// Package jetstore keeps wotmq's stores in NATS JetStream, for a cluster of
// wotmq nodes: the same methods, with the same meaning, as the Badger
// stores (directory, presence, outbox, inbox), so that the twin core runs
// over either. storetest holds the one conformance suite both pass.
//
// # Mapping
//
//	directory   KV WOTMQ_DIR       key = Thing ID (base64url); every node
//	                               watches the bucket to keep its in-memory copy
//	presence    KV WOTMQ_PRESENCE  t.<thing>, a.<agent>; compare-and-set
//	latest      KV WOTMQ_LATEST    <thing>.<e|p>.<name>
//	history     stream WOTMQ_HIST  subject hist.<thing>; per-message TTL is the
//	                               affordance's retention, MaxMsgsPerSubject the
//	                               per-Thing cap, the stream sequence the cursor
//	requests    KV WOTMQ_REQ       key = request ID; every transition a
//	                               compare-and-set on the revision
//	finished    KV WOTMQ_DONE      finished requests, the bucket's TTL the
//	                               retention; REQLATEST, OUTCOMES, DESIRED beside
//	accounts    KV WOTMQ_AUTHZ     authz's backend: accounts, Thing access lists,
//	                               access rules, revoked tokens, the token key;
//	                               every node watches it
//
// The sketch had an agent's request queue as a stream consumed by
// a durable consumer on the agent's node. The queue index is instead the
// watched REQ bucket: every node has every agent's unfinished requests in
// memory, so the twin core's delivery, redelivery (marked redelivered)
// and expiry run unchanged on whichever node the agent reaches, and a
// request's state has one home (its REQ record) instead of two that a
// crash could leave apart.
//
// Every write returns only once JetStream has it on a quorum of the
// bucket's or stream's replicas (Options.Replicas, 3 in a cluster), so an
// acknowledgement the hub sends after a store call means the write
// survives the loss of any one node of three. Writes that do not depend
// on each other are issued together and awaited together (async.go: the
// group commit of a connection's run of events); the one exception to
// "returns once written" is a finished request's move into DONE and its
// outcome list, which follows its final status (stored first, on a
// quorum) in the background (finisher.go).
//
// # Opening beside running nodes
//
// A node opens the stores with Options.Mode Configure: each bucket and
// stream is created, or its configuration set to the node's (replicas,
// the history cap). A tool working beside running nodes does not know
// their settings and must not set them back: wotmq import opens with
// Attach (as they are; a missing one made), wotmq reset-password --nats-url
// with Existing (a missing one is ErrNoStore: no buckets are made in a
// NATS that is no cluster's), and wotmq export --nats-url with ReadOnly
// (Existing, and no write at all: finished requests are left for the nodes
// to move on, expired retained messages for them to delete, and the token
// key is read, not made).
//
// Keys: NATS key and subject tokens allow fewer characters than Thing IDs
// (URNs, URLs), so IDs and names are written base64url without padding.
package jetstore
