// Package natsnode runs the NATS side of a wotmq cluster node: either an
// embedded nats-server with JetStream (file storage under the node's data
// directory, routes to the other nodes), or a connection to a NATS
// deployment the operator already runs.
//
// wotmq does not build a cluster of its own: JetStream's Raft-replicated
// streams and key-value buckets hold what a single node keeps in Badger,
// and core NATS carries what each node publishes to the others. Mochi
// stays every node's MQTT 5 front end (NATS's own MQTT listener speaks
// 3.1.1 only).
//
// A Node never listens on anything but the addresses its Options name;
// its client port defaults to an ephemeral port on 127.0.0.1, which the
// node's own wotmq process reaches in-process (no socket at all).
package natsnode
