// Package wot is the client SDK of wotmq, for agents and consumers on
// paho's autopaho, and the names of the wire contract: it re-exports
// everything in package wire (operation names, the MQTT topic scheme, the
// MQTT 5 user-property names, action statuses, error codes and records)
// under the same names, so wot.ParseTopic is wire.ParseTopic and
// wot.CodeDenied is wire.CodeDenied.
//
// A device or application imports this package without linking the hub:
// it never imports the broker, Badger or Mochi.
//
// # Topics
//
// Consumers talk to twins under "things/{thingID}/..." and only the hub
// publishes there. Agents publish under "agents/{agentID}/..." and receive
// requests on "agents/{agentID}/requests". Thing IDs, agent IDs and
// affordance names are escaped into one topic level by [EscapeLevel]; see
// package wire and docs/topics.md for the full table.
//
// # Metadata
//
// Payloads are the plain JSON values that the Thing Description's data
// schemas describe. Metadata travels in MQTT 5 user properties whose names
// are the Prop* constants: who sent a message ([PropSender]), when
// ([PropTime]), an action's status ([PropStatus]) and, for failures, a
// stable error code ([PropError]) from the [Code] table.
package wot
