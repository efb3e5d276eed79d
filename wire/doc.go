// Package wire is the wire contract of wotmq: what the hub, its stores and
// the client SDK (package wot) agree on, and nothing that speaks MQTT. It
// holds the topic scheme and its escaping, the MQTT 5 user-property names,
// the operations, action statuses and presence states, the error codes with
// their MQTT 5 reason codes and HTTP statuses, and the JSON records the hub
// keeps and publishes. docs/topics.md is its prose.
//
// It imports only the standard library (and may import td, which does the
// same), so the hub's stores (inbox, outbox, authz, presence) use it
// without linking an MQTT client; TestDependencies keeps it so. Package
// wot, the client SDK, re-exports all of it under the same names.
//
// # Topics
//
// Consumers talk to twins under "things/{thingID}/..." and only the hub
// publishes there. Agents publish under "agents/{agentID}/..." and receive
// requests on "agents/{agentID}/requests". Thing IDs, agent IDs and
// affordance names are escaped into one topic level by [EscapeLevel]; a
// [Topic] builds a topic name and [ParseTopic] takes one apart (one
// spelling per topic). [MatchFilter] matches MQTT topic filters.
//
// # Metadata
//
// Payloads are the plain JSON values that the Thing Description's data
// schemas describe. Metadata travels in MQTT 5 user properties whose names
// are the Prop* constants: who sent a message ([PropSender]), when
// ([PropTime]), an action's status ([PropStatus]) and, for failures, a
// stable error code ([PropError]) from the [Code] table.
//
// # Errors
//
// [Error] is the one error shape on the wire: a [Code] and a message for
// people. Each code maps to one MQTT 5 reason code ([Code.Reason]) and one
// HTTP status ([Code.HTTPStatus]) in a single table. Codes are only ever
// added, never renamed or reused.
//
// # Records
//
// [ActionStatus] is the record of an action request or property write;
// [PresenceState], [DesiredState] and [DeltaEntry] are retained twin
// records; [HistoryQuery] and [HistoryPage] carry history queries; [Signal]
// is real-time channel signalling.
package wire
