// Package broker embeds the Mochi MQTT 5 broker for the wotmq hub: its
// hooks, guard and limits, listeners, authentication and Wills. A packet
// becomes a twin.Message once, at its edge (convert.go), and goes to the
// twin core (package twin), which publishes back through the hub's inline
// client (inject.go, the core's twin.Publisher). Until it moves to a
// package of its own the broker also holds the HTTP + SSE binding, over
// the core's exported API (docs/architecture.md, "The split").
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
// The zero Options listen on :1883 (MQTT), :9001 (MQTT over WebSocket) and
// :8080 (HTTP) and keep data in ./wotmq-data. Tests use TCPAddr
// "127.0.0.1:0" and read the bound address from MQTTAddr (HTTPAddr "off"
// or "127.0.0.1:0" likewise).
//
// # HTTP
//
// The HTTP side (http.go and the files named http*, sse, discovery) serves
// every twin over the WoT HTTP binding, with event streams as Server-Sent
// Events, and the WoT Discovery directory API at /.well-known/wot and
// /things. It uses the same request pipeline (submit), authorization
// (authz) and stores as the MQTT side, and reads the hub's own publishes
// from the in-process bus. See docs/http.md.
//
// # Message path
//
// One Mochi hook (hook.go) sees every connect, publish, subscribe and
// delivery. Publishes on the wotmq topic scheme (package wire) are handled
// by the twin core (twin.Core.Publish) and never relayed as they are:
// agent operations are checked against the directory and the TD's data
// schemas, stored (directory, outbox, inbox), then published by the hub
// on the consumer-facing twin topics through an inline client. Refusals carry an MQTT 5 reason code and
// a reason string. See docs/architecture.md and docs/topics.md.
//
// # Durability
//
// The hub acknowledges a publish only after its effects are committed to
// Badger. Retained twin state (TDs, property values, action statuses) is
// republished from Badger at start, before clients are accepted.
package broker
