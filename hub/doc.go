// Package hub is the composition root of wotmq: it opens the data
// directory and the stores, builds the broker over them, and runs and
// stops the whole.
//
// # Starting a hub
//
// New takes an Options whose zero value runs a hub on the default ports
// with its data in DefaultDataDir; Start binds the listeners, republishes
// the retained twin state and serves; Close stops it and closes the store.
// Tests start one on 127.0.0.1:0 with a t.TempDir() data directory.
//
// # What the hub owns
//
// The Badger store (its options, backup and restore, value-log garbage
// collection) and the operations endpoints: /metrics, /healthz and
// /readyz. The MQTT adapter, the twin logic and the HTTP binding are in
// package broker for now (docs/architecture.md, "The split").
package hub
