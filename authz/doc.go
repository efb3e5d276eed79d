// Package authz decides who may do what on the hub: every connect,
// publish, subscribe and delivery is answered here, deny by default.
//
// # Identity
//
// A client's identity is its authenticated account. Until accounts exist
// (a later change), the identity is the MQTT username, else the client ID.
//
// # Rules
//
// Only the hub publishes on consumer-facing twin topics ("things/...") and
// on "wotmq/..."; consumers may publish only the request topics there
// (invokeaction, writeproperty, history queries). An agent publishes and
// subscribes only under its own "agents/{agentID}/" prefix. Whether an
// agent owns the Thing it publishes for is checked by the hub against the
// directory, because ownership is directory state.
package authz
