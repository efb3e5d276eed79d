// Package cluster is what a wotmq node needs of its peers beyond the
// stores (jetstore): the bus that carries every message a node's core
// publishes to every other node, and the ownership of agents' connections.
//
// # Fan-out
//
// A Bus publishes each message on one core NATS subject with its MQTT 5
// properties (topic, retain, response topic, correlation data, content
// type, expiry, user properties) in NATS headers; every other node hears
// it and injects it into its own MQTT broker, so a consumer on node B gets
// what an agent on node A published, and replies reach a consumer
// wherever it is connected. One subject keeps one publisher's messages in
// order at every receiver (NATS orders per connection). Core NATS is
// at-most-once: what must survive a node is in the stores, and a node
// that comes back rebuilds its retained topics from them.
//
// # Ownership
//
// An agent connected to two nodes is one agent too many: Owners keeps, in
// a KV bucket, which node holds each agent's connection and a epoch that
// every claim raises by compare-and-set. The newest connection wins across
// the cluster: the node that loses the key hears it (a watch) and ends its
// session (MQTT reason 0x8E, session taken over).
package cluster
