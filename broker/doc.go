// Package broker embeds the Mochi MQTT 5 broker for the wotmq hub: its
// hooks, guard and limits, listeners, authentication and Wills. A packet
// becomes a twin.Message once, at its edge (convert.go), and goes to the
// twin core (package twin), which publishes back through the hub's inline
// client (inject.go, the core's twin.Publisher). It serves no HTTP API:
// that is package httpapi, over the same core (TestServesNoHTTPAPI).
//
// # Running a hub
//
// Package hub opens the store and builds a broker over it: use hub.New,
// not New, to run a hub.
//
//	h, err := hub.New(hub.Options{DataDir: "/var/lib/wotmq"})
//	if err != nil { ... }
//	if err := h.Start(ctx); err != nil { ... }
//	defer h.Close()
//
// The zero hub.Options listen on :1883 (MQTT), :9001 (MQTT over
// WebSocket) and :8080 (HTTP) and keep data in ./wotmq-data. Tests use
// TCPAddr "127.0.0.1:0" and read the bound address from MQTTAddr.
//
// # Message path
//
// One Mochi hook (hook.go) sees every connect, publish, subscribe and
// delivery. Publishes on the wotmq topic scheme (package wire) are handled
// by the twin core (twin.Core.Publish) and never relayed as they are:
// agent operations are checked against the directory and the TD's data
// schemas, stored (directory, outbox, inbox), then published by the hub
// on the consumer-facing twin topics through an inline client. Refusals
// carry an MQTT 5 reason code and a reason string. See
// docs/architecture.md and docs/topics.md.
//
// # Durability
//
// The hub acknowledges a publish only after its effects are committed to
// Badger. Retained twin state (TDs, property values, action statuses) is
// republished from Badger at start, before clients are accepted.
package broker
